import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadDataset } from '../src/store/load.js';
import { InputError } from '../src/util/errors.js';

/**
 * Loading `dir` must fail with an InputError whose message is one line and starts with
 * "<dir>/<file> line <line>: " (or "<dir>/<file>: " when no line applies), and contains `fix`.
 */
export async function assertBadDataset(dir: string, file: string, line: number | null, fix: RegExp): Promise<void> {
  await assert.rejects(loadDataset(dir), (err: unknown) => {
    assert.ok(err instanceof InputError, `expected InputError, got ${String(err)}`);
    const prefix = line === null ? `${join(dir, file)}: ` : `${join(dir, file)} line ${line}: `;
    assert.ok(err.message.startsWith(prefix), `"${err.message}" should start with "${prefix}"`);
    assert.ok(!err.message.includes('\n'), 'one line');
    assert.match(err.message, fix);
    return true;
  });
}
