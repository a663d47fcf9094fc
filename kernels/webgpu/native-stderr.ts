/**
 * Dawn writes its own log lines straight to file descriptor 2 from native code. On every adapter
 * request, with drivers that report huge dynamic-buffer limits (Mesa's lavapipe), it prints two
 * "maxDynamic...PerPipelineLayout artificially reduced" warnings that say nothing a user can act
 * on, on every command (each probes the adapter). Unless `--verbose` is given, the adapter request
 * runs with descriptor 2 pointed at /dev/null: a copy of the original descriptor is opened first
 * (through /proc/self/fd, Linux only), 2 is closed and /dev/null opened in its place (the lowest
 * free descriptor), and afterwards 2 is reopened from the copy. Where any step is not possible
 * (no /proc, an unreopenable stderr such as a socket) nothing is redirected and the lines show.
 */
import { closeSync, openSync } from 'node:fs';

let verbose = false;

/** `--verbose`: let Dawn's native log lines through. */
export function setNativeVerbose(on: boolean): void {
  verbose = on;
}

export async function withQuietNativeStderr<T>(run: () => Promise<T>): Promise<T> {
  if (verbose || process.platform !== 'linux') return run();
  let saved: number;
  try {
    saved = openSync('/proc/self/fd/2', 'a');
  } catch {
    return run();
  }
  let silenced = false;
  try {
    closeSync(2);
    const nul = openSync('/dev/null', 'a');
    silenced = nul === 2;
    if (!silenced) {
      // 0 or 1 was closed, so /dev/null went there: give it back, and put stderr back on 2.
      closeSync(nul);
      restore(saved);
      return await run();
    }
    return await run();
  } finally {
    if (silenced) {
      closeSync(2);
      restore(saved);
    }
    closeSync(saved);
  }
}

/** Reopens what descriptor `saved` refers to as descriptor 2 (2 must be free). */
function restore(saved: number): void {
  const fd = openSync(`/proc/self/fd/${saved}`, 'a');
  if (fd !== 2) throw new Error(`gatv2: could not restore stderr (reopened as descriptor ${fd})`);
}
