/**
 * Whole reads and writes at a byte position: readSync and writeSync may move fewer bytes than
 * asked, so every caller that spills or reads back a binary file loops until all are moved.
 */
import { readSync, writeSync } from 'node:fs';

/** Writes every byte of `bytes` at byte `pos` of the file, or at its current position when pos is null. */
export function writeFully(fd: number, bytes: Uint8Array, pos: number | null): void {
  for (let done = 0; done < bytes.byteLength; ) {
    done += writeSync(fd, bytes, done, bytes.byteLength - done, pos === null ? null : pos + done);
  }
}

/** Fills `into` from byte `pos` of the file; `what` names the file if it ends first. */
export function readFully(fd: number, into: Uint8Array, pos: number, what: string): void {
  for (let done = 0; done < into.byteLength; ) {
    const n = readSync(fd, into, done, into.byteLength - done, pos + done);
    if (n === 0) throw new Error(`${what}: ended at byte ${pos + done}, before the ${into.byteLength} bytes asked for`);
    done += n;
  }
}
