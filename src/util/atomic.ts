/**
 * Crash-safe file writes: the data goes to a temporary file in the same directory, is flushed to
 * disk, and is renamed over the target (rename within a directory is atomic on POSIX). A reader
 * therefore sees the old file or the new one, never a torn one, whenever the process is stopped.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync } from 'node:fs';
import { writeFully } from './positional-io.js';
import { basename, dirname, join } from 'node:path';

let counter = 0;

/**
 * Runs `write` on a temporary file next to `path`, flushes it and renames it over `path`. On any
 * failure (the write, or the rename onto a directory) the temporary file is removed: nothing is
 * left behind.
 */
function atomically(path: string, write: (fd: number) => void): void {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${counter++}`);
  const fd = openSync(tmp, 'w');
  let open = true;
  try {
    write(fd);
    fsyncSync(fd);
    closeSync(fd);
    open = false;
    renameSync(tmp, path);
  } catch (err) {
    if (open) closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
}


export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  atomically(path, (fd) => writeFully(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data, null));
}

/**
 * Text made piece by piece (rows of a CSV), written atomically without ever holding the whole in
 * one string: pieces are gathered into chunks of about `chunkChars` characters and written as they
 * fill. A string in V8 is limited to about 2^29 characters, which a large CSV exceeds.
 */
export function writeTextAtomic(path: string, pieces: Iterable<string>, chunkChars = 1 << 20): void {
  atomically(path, (fd) => {
    let chunk: string[] = [];
    let chars = 0;
    for (const piece of pieces) {
      chunk.push(piece);
      chars += piece.length;
      if (chars >= chunkChars) {
        writeFully(fd, Buffer.from(chunk.join(''), 'utf8'), null);
        chunk = [];
        chars = 0;
      }
    }
    if (chunk.length > 0) writeFully(fd, Buffer.from(chunk.join(''), 'utf8'), null);
  });
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n');
}
