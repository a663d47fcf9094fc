/**
 * `gatv2 export` and `gatv2 import`: a checkpoint to and from a safetensors file in PyTorch
 * Geometric's parameter names and shapes (src/exchange/pyg-checkpoint.ts), so a model trained here
 * loads into PyG (scripts/pyg-load.py) and PyG-trained weights run through evaluate, predict,
 * diagnose and gradcheck.
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { useBackend } from '../backends/index.js';
import { exportCheckpointFile, importCheckpoint } from '../exchange/pyg-checkpoint.js';

interface ExportArgs {
  checkpoint: string;
  out: string;
}

interface ImportArgs {
  file: string;
  out: string;
}

export const exportCommand: CommandModule<object, ExportArgs> = {
  command: 'export',
  describe: "write a checkpoint's weights as safetensors under PyTorch Geometric's names (conv1.lin_l.weight, ...)",
  builder: (y: Argv) =>
    y
      .option('checkpoint', { type: 'string', demandOption: true, describe: 'run directory (uses its best/ checkpoint) or checkpoint directory' })
      .option('out', { type: 'string', demandOption: true, describe: 'the .safetensors file to write' })
      .example('$0 export --checkpoint runs/cora-... --out model.safetensors', 'then: python scripts/pyg-load.py model.safetensors') as unknown as Argv<ExportArgs>,
  handler: async (args: ArgumentsCamelCase<ExportArgs>) => {
    // Decoding the weights needs a backend; cpu is always there and copies values exactly.
    await useBackend('cpu');
    const r = await exportCheckpointFile(args.checkpoint, args.out);
    process.stderr.write(`wrote ${r.tensors} tensors (${r.bytes} bytes) of ${r.checkpoint} to ${args.out}\n`);
  },
};

export const importCommand: CommandModule<object, ImportArgs> = {
  command: 'import <file>',
  describe: 'make a checkpoint directory from a safetensors file in PyG names with the model config in __metadata__["gatv2"]',
  builder: (y: Argv) =>
    y
      .positional('file', { type: 'string', demandOption: true, describe: 'the .safetensors file' })
      .option('out', { type: 'string', demandOption: true, describe: 'checkpoint directory to create' })
      .example('$0 import model.safetensors --out imported', 'then: gatv2 evaluate --checkpoint imported') as unknown as Argv<ImportArgs>,
  handler: async (args: ArgumentsCamelCase<ImportArgs>) => {
    await useBackend('cpu');
    const r = await importCheckpoint(args.file, args.out);
    process.stderr.write(`wrote checkpoint ${r.dir} (${r.tensors} tensors) from ${args.file}\n`);
  },
};
