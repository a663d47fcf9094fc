/**
 * Reading a store (format.ts): the manifest is checked against the files on open (every array
 * present and exactly the size it says, so a truncated or half-copied store is refused with the
 * file named), then arrays are read with positional reads straight into typed arrays, whole or
 * by element ranges (what mini-batches use to read only the rows they need).
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { DenseFeatures, GraphDataset, SparseFeatures } from '../data/dataset.js';
import { InputError } from '../util/errors.js';
import { decodeHalf } from './float16.js';
import { DTYPE_BYTES, MANIFEST_FILE, STORE_FORMAT, STORE_VERSION, type ArrayName, type StoreArray, type StoreManifest } from './format.js';

/** Reads in slices so no single read call is larger than this. */
const READ_SLICE = 64 << 20;

export function isStore(dir: string): boolean {
  return existsSync(join(dir, MANIFEST_FILE));
}

/** An open store: its manifest and positional access to its arrays. Close it when done. */
export class StoreReader {
  readonly manifest: StoreManifest;
  private readonly fds = new Map<ArrayName, number>();

  /** display: how to name the directory in messages. */
  constructor(readonly dir: string, readonly display: string) {
    const mfPath = join(dir, MANIFEST_FILE);
    const mfName = join(display, MANIFEST_FILE);
    let m: StoreManifest;
    try {
      m = JSON.parse(readFileSync(mfPath, 'utf8')) as StoreManifest;
    } catch (err) {
      throw new InputError(`${mfName}: not readable JSON (${(err as Error).message}); convert the dataset again`);
    }
    if (m.format !== STORE_FORMAT) throw new InputError(`${mfName}: not a gatv2 store manifest`);
    if (m.version !== STORE_VERSION) {
      throw new InputError(`${mfName}: store format version ${m.version}, this gatv2 reads version ${STORE_VERSION}; convert the dataset again`);
    }
    const needed: ArrayName[] = ['indptr', 'indices', 'labels', 'split', 'node_id_offsets', 'node_ids'];
    needed.push(...(m.featureKind === 'dense' ? ['features'] as const : ['feat_indptr', 'feat_indices', 'feat_values'] as const));
    for (const name of needed) {
      const a = m.arrays?.[name];
      if (!a) throw new InputError(`${mfName}: names no "${name}" array; convert the dataset again`);
      const path = join(dir, a.file);
      const shown = join(display, a.file);
      if (!existsSync(path)) throw new InputError(`${shown}: missing from the store; convert the dataset again`);
      const size = statSync(path).size;
      if (size !== a.bytes || a.bytes !== a.length * DTYPE_BYTES[a.dtype]) {
        throw new InputError(
          `${shown}: ${size} bytes, the manifest says ${a.bytes}: the store is truncated or damaged; convert the dataset again`,
        );
      }
    }
    this.manifest = m;
  }

  array(name: ArrayName): StoreArray {
    const a = this.manifest.arrays[name];
    if (!a) throw new Error(`store ${this.display} has no ${name} array`);
    return a;
  }

  private fd(name: ArrayName): number {
    let fd = this.fds.get(name);
    if (fd === undefined) {
      fd = openSync(join(this.dir, this.array(name).file), 'r');
      this.fds.set(name, fd);
    }
    return fd;
  }

  /** Reads elements [start, start + count) of an array into `into` (bytes). */
  readBytes(name: ArrayName, start: number, count: number, into: Uint8Array): void {
    const a = this.array(name);
    const w = DTYPE_BYTES[a.dtype];
    if (start < 0 || count < 0 || start + count > a.length) {
      throw new Error(`${name}: elements ${start}..${start + count} outside [0, ${a.length})`);
    }
    const fd = this.fd(name);
    const total = count * w;
    let done = 0;
    while (done < total) {
      const n = readSync(fd, into, done, Math.min(READ_SLICE, total - done), start * w + done);
      if (n === 0) throw new InputError(`${join(this.display, a.file)}: ended early: the store is truncated; convert the dataset again`);
      done += n;
    }
  }

  /** Elements [start, start + count) of an int32 / uint8 / float32 array, in its own type. */
  readRaw(name: ArrayName, start = 0, count = this.array(name).length - start): Int32Array | Uint8Array | Float32Array | Uint16Array | BigInt64Array {
    const dtype = this.array(name).dtype;
    const ctor = { int32: Int32Array, int64: BigInt64Array, uint8: Uint8Array, utf8: Uint8Array, float32: Float32Array, float16: Uint16Array }[dtype];
    const out = new ctor(count);
    this.readBytes(name, start, count, new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
    return out;
  }

  /** An offsets array (int32 or int64) as numbers (exact below 2^53). */
  readOffsets(name: ArrayName, start = 0, count = this.array(name).length - start): Float64Array {
    const raw = this.readRaw(name, start, count);
    return raw instanceof BigInt64Array ? Float64Array.from(raw, (v) => Number(v)) : Float64Array.from(raw as Int32Array);
  }

  /** A float array (float32 or float16 on disk) as float32. */
  readFloats(name: ArrayName, start = 0, count = this.array(name).length - start): Float32Array {
    const raw = this.readRaw(name, start, count);
    return raw instanceof Uint16Array ? decodeHalf(raw) : (raw as Float32Array);
  }

  close(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }
}

/** Checks every array's SHA-256 against the manifest (reads the whole store). */
export function verifyStore(reader: StoreReader): void {
  for (const a of Object.values(reader.manifest.arrays)) {
    const hash = createHash('sha256');
    const fd = openSync(join(reader.dir, a.file), 'r');
    try {
      const buf = new Uint8Array(Math.min(READ_SLICE, Math.max(a.bytes, 1)));
      for (let off = 0; off < a.bytes; ) {
        const n = readSync(fd, buf, 0, Math.min(buf.length, a.bytes - off), off);
        if (n === 0) break;
        hash.update(buf.subarray(0, n));
        off += n;
      }
    } finally {
      closeSync(fd);
    }
    if (hash.digest('hex') !== a.sha256) {
      throw new InputError(`${join(reader.display, a.file)}: checksum differs from the manifest: the store is damaged; convert the dataset again`);
    }
  }
}

/** Node ids from the utf8 blob and its offsets. */
function readNodeIds(r: StoreReader): string[] {
  const offs = r.readOffsets('node_id_offsets');
  const blob = Buffer.from((r.readRaw('node_ids') as Uint8Array).buffer);
  const ids = new Array<string>(offs.length - 1);
  for (let i = 0; i < ids.length; i++) ids[i] = blob.toString('utf8', offs[i]!, offs[i + 1]!);
  return ids;
}

/**
 * The whole store as a GraphDataset (what full-batch training and every command use). Edges come
 * out in CSR order (sorted stably by destination), which gives the same edge layout, so the same
 * numbers, as the CSV directory it was converted from.
 */
export function loadStore(dir: string, display: string): GraphDataset {
  const r = new StoreReader(dir, display);
  try {
    const m = r.manifest;
    const N = m.numNodes;
    const indptr = r.readOffsets('indptr');
    if (indptr[N]! > 0x7fffffff) {
      throw new InputError(`${display}: ${indptr[N]} edges do not fit one in-memory edge list; train it with --batch-size`);
    }
    const edgeSource = r.readRaw('indices') as Int32Array;
    const edgeTarget = new Int32Array(edgeSource.length);
    for (let i = 0; i < N; i++) edgeTarget.fill(i, indptr[i]!, indptr[i + 1]!);
    const features: SparseFeatures | DenseFeatures =
      m.featureKind === 'dense'
        ? { kind: 'dense', numNodes: N, numFeatures: m.numFeatures, values: r.readFloats('features') }
        : {
            kind: 'sparse', numNodes: N, numFeatures: m.numFeatures,
            rowPtr: Int32Array.from(r.readOffsets('feat_indptr')),
            colIdx: r.readRaw('feat_indices') as Int32Array,
            values: r.readFloats('feat_values'),
          };
    const ds: GraphDataset = {
      name: m.name || basename(dir),
      dir,
      nodeIds: readNodeIds(r),
      classNames: m.classNames,
      labels: r.readRaw('labels') as Int32Array,
      split: r.readRaw('split') as Uint8Array,
      edgeSource,
      edgeTarget,
      features,
      warnings: [...(m.warnings ?? [])],
    };
    if (m.featureNames) ds.featureNames = m.featureNames;
    return ds;
  } finally {
    r.close();
  }
}
