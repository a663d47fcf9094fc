/**
 * `--threads N` on every command: how many threads the cpu and wasm backends' kernels use
 * (kernels/simd/threads.ts). Default: GATV2_THREADS when set, else the cores available to the
 * process (os.availableParallelism()). Results do not depend on it (bit-identical for any N).
 */
import type { Argv } from 'yargs';
import { InputError } from '../util/errors.js';
import { minParallelWork, parseThreads, setThreads, threadSetting } from '../../kernels/simd/index.js';

export function withThreadsOption<T>(y: Argv<T>): Argv<T> {
  return y
    .option('threads', {
      type: 'string',
      global: true,
      describe: 'Threads for the cpu/wasm kernels (default: GATV2_THREADS, else the available cores)',
    })
    .middleware((args) => {
      const given = args['threads'] as string | undefined;
      try {
        if (given !== undefined) setThreads(parseThreads(String(given), '--threads'));
        else threadSetting(); // checks GATV2_THREADS now, so a bad value stops before any work
      } catch (err) {
        throw new InputError(`${(err as Error).message} (a whole number of threads, e.g. --threads 4)`);
      }
      try {
        minParallelWork(); // and GATV2_SPLIT_WORK
      } catch (err) {
        throw new InputError(`${(err as Error).message} (the work below which a kernel call stays on one thread; unset it for the default)`);
      }
    }) as Argv<T>;
}
