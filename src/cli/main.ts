/**
 * The `gatv2` command line. Each subcommand lives in its own module; this file wires them and
 * turns errors into exit codes: an InputError (bad file, flag or value) prints one line and exits
 * 2, a DeviceError (the GPU reported an error) one line and exit 1, anything else is a bug and
 * keeps its stack trace.
 */
import yargs, { type CommandModule } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { CheckFailedError, DeviceError, EXIT_BAD_INPUT, EXIT_CHECK_FAILED, InputError } from '../util/errors.js';
import { setNativeVerbose } from '../../kernels/webgpu/native-stderr.js';
import { backendsCommand } from './backends.js';
import { benchCommand } from './bench.js';
import { convertCommand } from './convert.js';
import { datasetsCommand } from './datasets.js';
import { diagnoseCommand } from './diagnose.js';
import { evaluateCommand } from './evaluate.js';
import { exportCommand, importCommand } from './exchange.js';
import { gradcheckCommand } from './gradcheck.js';
import { MISSING_VALUE_STRINGS, withValueChecks } from './option-values.js';
import { predictCommand } from './predict.js';
import { runsCommand } from './runs.js';
import { withThreadsOption } from './threads-option.js';
import { trainCommand } from './train.js';

/**
 * File-system refusals that come from where the user pointed us (permissions, a full or read-only
 * disk), not from a bug: one line naming the path, like any bad input.
 */
const USER_FS_ERRORS: Record<string, string> = {
  EACCES: 'permission denied', EPERM: 'operation not permitted', EROFS: 'read-only file system', ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
};

function fail(err: unknown): never {
  if (err instanceof InputError) {
    console.error(`gatv2: ${err.message}`);
    process.exit(EXIT_BAD_INPUT);
  }
  if (err instanceof CheckFailedError || err instanceof DeviceError) {
    console.error(`gatv2: ${err.message}`);
    process.exit(EXIT_CHECK_FAILED);
  }
  const fsErr = err as NodeJS.ErrnoException;
  if (fsErr?.code !== undefined && fsErr.code in USER_FS_ERRORS && fsErr.path !== undefined) {
    console.error(`gatv2: ${fsErr.path}: ${USER_FS_ERRORS[fsErr.code]}`);
    process.exit(EXIT_BAD_INPUT);
  }
  console.error(err);
  process.exit(70);
}

const NO_COMMAND = 'Name a command from the list above.';

async function main(): Promise<void> {
  const argv = hideBin(process.argv);
  const commands = [
    trainCommand, evaluateCommand, predictCommand, gradcheckCommand, benchCommand, backendsCommand, datasetsCommand, diagnoseCommand,
    convertCommand, exportCommand, importCommand, runsCommand,
  ] as CommandModule<object, never>[];
  let y = withThreadsOption(yargs(argv))
    .scriptName('gatv2')
    .usage('$0 <command> [options]\n\nTrain GATv2 graph attention networks on TensorFlow.js with analytic gradients.')
    .option('verbose', { type: 'boolean', default: false, global: true, describe: 'Also print the GPU driver\'s own log lines' })
    .middleware((a) => setNativeVerbose(a['verbose'] === true));
  for (const c of commands) y = y.command(withValueChecks(c, argv));
  await y
    .demandCommand(1, NO_COMMAND)
    .strict()
    .recommendCommands()
    .updateStrings(MISSING_VALUE_STRINGS)
    .fail((msg, err, y) => {
      // yargs' own parse errors (YError: a flag without its value, ...) are usage errors, not bugs.
      if (err && err.name !== 'YError') fail(err);
      // Without a command, the list of commands is what the user needs.
      if (msg === NO_COMMAND) y.showHelp('error');
      console.error(msg === NO_COMMAND ? `\ngatv2: ${msg}` : `gatv2: ${msg} (see gatv2 --help)`);
      process.exit(EXIT_BAD_INPUT);
    })
    .help()
    .alias('h', 'help')
    .version()
    // Words wrap at the terminal's width, or at 100 columns when the output is not a terminal.
    .wrap(process.stdout.isTTY && process.stdout.columns ? process.stdout.columns : 100)
    .parseAsync();
}

main().catch(fail);
