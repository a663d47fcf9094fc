/**
 * Streaming CSV access for dataset files. Files are never read into one string (edge lists can be
 * hundreds of MB): a read stream, gunzip for `.csv.gz`, and csv-parse's streaming parser are chained
 * with `pipeline`, and records come out in batches, each tagged with the line it ends on. Every
 * failure (file missing, bad gzip, broken quoting) becomes a one-line InputError naming the file.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Parser } from 'csv-parse';
import { InputError } from '../util/errors.js';

/** One dataset file: where it is, and how to name it in messages. */
export interface CsvFile {
  path: string;
  /** The path as the user should read it in an error message. */
  display: string;
  gzip: boolean;
  /** Told the size of each chunk read from the file as stored (for a progress bar). */
  onRead?: (bytes: number) => void;
}

export interface CsvRow {
  /** Fields with surrounding whitespace trimmed. */
  fields: string[];
  /** 1-based line of the file on which the record ends (the header is line 1). */
  line: number;
}

/**
 * Finds `<base>.csv` or `<base>.csv.gz` in `dir`. Having both is refused, since silently preferring
 * one would hide a stale copy.
 */
export function findCsv(dir: string, displayDir: string, base: string): CsvFile {
  const plain = join(dir, `${base}.csv`);
  const gz = `${plain}.gz`;
  const hasPlain = isFile(plain);
  const hasGz = isFile(gz);
  if (hasPlain && hasGz) {
    throw new InputError(
      `${join(displayDir, base)}.csv and ${base}.csv.gz both exist; keep only one of them`,
    );
  }
  if (hasPlain) return { path: plain, display: join(displayDir, `${base}.csv`), gzip: false };
  if (hasGz) return { path: gz, display: join(displayDir, `${base}.csv.gz`), gzip: true };
  throw new InputError(
    `${join(displayDir, base)}.csv: file not found (nor ${base}.csv.gz); a dataset directory needs nodes.csv, edges.csv and features.csv`,
  );
}

function isFile(p: string): boolean {
  return existsSync(p) && statSync(p).isFile();
}

/** Throws the one-line error for a problem at a line of a file. */
export function failAt(file: CsvFile, line: number, what: string): never {
  throw new InputError(`${file.display} line ${line}: ${what}`);
}

/**
 * csv-parse's stream, changed in two ways for speed (8M edge rows: 30 s -> about 8 s):
 * - each record is tagged with the line it ends on. csv-parse's own `info: true` builds two spread
 *   objects per record; but the parser pushes every record synchronously right after finishing it,
 *   so its running `info.lines` gives the same number for free;
 * - records come out in batches (all records of one input chunk), so consumers pay the cost of
 *   async iteration once per chunk rather than once per record.
 */
class BatchingParser extends Parser {
  private batch: CsvRow[] = [];

  override push(record: unknown, encoding?: BufferEncoding): boolean {
    if (record === null) {
      this.flushBatch();
      return super.push(null, encoding);
    }
    this.batch.push({ fields: trimAll(record as string[]), line: this.info.lines });
    return true;
  }

  override _transform(chunk: Buffer, encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    super._transform(chunk, encoding, (err?: Error | null) => {
      this.flushBatch();
      callback(err);
    });
  }

  private flushBatch(): void {
    if (this.batch.length === 0) return;
    const rows = this.batch;
    this.batch = [];
    super.push(rows);
  }
}

/** Trims fields in place; cheaper than csv-parse's `trim` option, which works char by char. */
function trimAll(fields: string[]): string[] {
  for (let i = 0; i < fields.length; i++) fields[i] = fields[i].trim();
  return fields;
}

/**
 * Yields the records of a file in batches, header included (first row of the first batch).
 * Stopping early (break, or an exception in the consumer) closes the file.
 */
export async function* readCsv(file: CsvFile): AsyncGenerator<CsvRow[]> {
  const parser = new BatchingParser({
    bom: true,
    skip_empty_lines: true,
    // Row width is checked by the callers, who can say which columns were expected.
    relax_column_count: true,
  });
  const source = createReadStream(file.path);
  const onRead = file.onRead;
  if (onRead !== undefined) source.on('data', (chunk: string | Buffer) => onRead(chunk.length));
  // Errors from any stage (fs, zlib, csv-parse) are delivered by destroying the parser with them,
  // so the for-await below rethrows them.
  const done = (_err: NodeJS.ErrnoException | null): void => {};
  if (file.gzip) pipeline(source, createGunzip(), parser, done);
  else pipeline(source, parser, done);
  try {
    for await (const rows of parser as AsyncIterable<CsvRow[]>) yield rows;
  } catch (err) {
    throw toInputError(file, err);
  } finally {
    parser.destroy();
  }
}

function toInputError(file: CsvFile, err: unknown): Error {
  if (err instanceof InputError) return err;
  const e = err as { code?: string; lines?: number; message?: string };
  const msg = (e.message ?? String(err)).replace(/\s+/g, ' ');
  if (typeof e.code === 'string' && e.code.startsWith('CSV_')) {
    const at = typeof e.lines === 'number' ? ` line ${e.lines}` : '';
    return new InputError(`${file.display}${at}: malformed CSV (${msg}); check the quoting on that line`);
  }
  if (e.code === 'Z_DATA_ERROR' || e.code === 'Z_BUF_ERROR') {
    return new InputError(`${file.display}: not a valid gzip file (${msg}); recompress it with gzip`);
  }
  if (e.code === 'ENOENT' || e.code === 'EACCES' || e.code === 'EISDIR') {
    return new InputError(`${file.display}: cannot read the file (${e.code}); check that it exists and is readable`);
  }
  return err instanceof Error ? err : new Error(msg);
}

/**
 * Checks a header row against the expected column names (case-insensitive). `expected` is how the
 * header should be written, used in the message.
 */
export function checkHeader(file: CsvFile, row: CsvRow, expected: string[]): void {
  const got = row.fields.map((f) => f.toLowerCase());
  const ok = got.length === expected.length && expected.every((name, i) => got[i] === name);
  if (!ok) {
    failAt(file, row.line, `header is "${row.fields.join(',')}"; the first line must be "${expected.join(',')}"`);
  }
}

/** Checks the number of fields in a data row. */
export function checkWidth(file: CsvFile, row: CsvRow, expected: string[]): void {
  if (row.fields.length !== expected.length) {
    failAt(
      file,
      row.line,
      `expected ${expected.length} fields (${expected.join(',')}), found ${row.fields.length}; fix the row`,
    );
  }
}
