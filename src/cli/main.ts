/**
 * The `gatv2` command line. Each subcommand lives in its own module; this file wires them and
 * turns errors into exit codes: an InputError (bad file, flag or value) prints one line and exits
 * 2, anything else is a bug and keeps its stack trace.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { EXIT_BAD_INPUT, InputError } from '../errors.js';
import { backendsCommand } from './backends.js';
import { benchCommand } from './bench.js';
import { convertCommand } from './convert.js';
import { datasetsCommand } from './datasets.js';
import { diagnoseCommand } from './diagnose.js';
import { evaluateCommand } from './evaluate.js';
import { gradcheckCommand } from './gradcheck.js';
import { predictCommand } from './predict.js';
import { trainCommand } from './train.js';

function fail(err: unknown): never {
  if (err instanceof InputError) {
    console.error(`gatv2: ${err.message}`);
    process.exit(EXIT_BAD_INPUT);
  }
  console.error(err);
  process.exit(70);
}

async function main(): Promise<void> {
  await yargs(hideBin(process.argv))
    .scriptName('gatv2')
    .usage('$0 <command> [options]\n\nTrain GATv2 graph attention networks on TensorFlow.js with analytic gradients.')
    .command(trainCommand)
    .command(evaluateCommand)
    .command(predictCommand)
    .command(gradcheckCommand)
    .command(benchCommand)
    .command(backendsCommand)
    .command(datasetsCommand)
    .command(convertCommand)
    .command(diagnoseCommand)
    .demandCommand(1, 'Name a command (see the list above).')
    .strict()
    .recommendCommands()
    .fail((msg, err, y) => {
      if (err) fail(err);
      console.error(y.help().toString() ? `gatv2: ${msg}\nRun "gatv2 --help" for usage.` : msg);
      process.exit(EXIT_BAD_INPUT);
    })
    .help()
    .alias('h', 'help')
    .version()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .parseAsync();
}

main().catch(fail);
