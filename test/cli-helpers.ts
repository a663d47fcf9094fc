/** Runs the real `gatv2` CLI (bin/gatv2.js) in a child process, for the CLI tests. */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const PACKAGE_DIR = fileURLToPath(new URL('../..', import.meta.url));

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

/** `env`: variables added to this process's environment for the child. */
export function runCli(argv: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/gatv2.js', ...argv], { cwd: PACKAGE_DIR, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, ...env } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, out: stdout, err: stderr }));
  });
}

/** The same, for a test that signals it while it runs. */
export function spawnCli(argv: string[]): ChildProcess {
  return spawn(process.execPath, ['bin/gatv2.js', ...argv], { cwd: PACKAGE_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * The lines of a command's stderr that are not progress notes: "backend: ...", "features: ..."
 * (the feature transform chosen), "note: ..." and the loader's "read FILE: ..." lines, which a
 * busy machine can make appear on small datasets too.
 */
export function messageLines(err: string): string[] {
  return err.trim().split('\n').filter((l) => l !== '' && !/^(backend|features|note|kernel threads): |^read \S+: \d+ /.test(l));
}
