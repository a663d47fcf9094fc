/**
 * Writes a loaded dataset as a store (format.ts). Atomic: everything goes into a temporary
 * sibling directory first, which is renamed onto the destination only once every array and the
 * manifest are on disk, so a crash or a kill never leaves a half-written store under the name.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { GraphDataset } from '../data/dataset.js';
import { InputError } from '../util/errors.js';
import { encodeHalf, firstOutsideHalf, HALF_MAX } from './float16.js';
import { writeFully } from '../util/positional-io.js';
import {
  DTYPE_BYTES, MANIFEST_FILE, offsetDtype, STORE_FORMAT, STORE_VERSION,
  type ArrayName, type StoreArray, type StoreDtype, type StoreManifest,
} from './format.js';

export interface WriteOptions {
  featuresDtype: 'float32' | 'float16';
  /** Replace an existing store at the destination. */
  overwrite: boolean;
  /** As the user named the source (recorded in the manifest). */
  source: string;
  /** Called after each array is written, with the bytes written so far. */
  onProgress?: (p: { array: string; bytes: number; totalBytes: number }) => void;
}

/** Writes in slices so no single write call is larger than this. */
const WRITE_SLICE = 64 << 20;

/** Edges sorted stably by destination: CSR pointers and the source of each position. */
export function csrByDestination(numNodes: number, source: Int32Array, target: Int32Array): { indptr: Float64Array; indices: Int32Array } {
  const indptr = new Float64Array(numNodes + 1);
  for (let k = 0; k < target.length; k++) indptr[target[k]! + 1]++;
  for (let i = 0; i < numNodes; i++) indptr[i + 1] += indptr[i]!;
  const next = indptr.slice(0, numNodes);
  const indices = new Int32Array(source.length);
  for (let k = 0; k < source.length; k++) indices[next[target[k]!]!++] = source[k]!;
  return { indptr, indices };
}

export function asOffsets(ptr: ArrayLike<number>): { dtype: 'int32' | 'int64'; data: Int32Array | BigInt64Array } {
  const dtype = offsetDtype(ptr.length > 0 ? ptr[ptr.length - 1]! : 0);
  if (dtype === 'int32') return { dtype, data: Int32Array.from(ptr) };
  const data = new BigInt64Array(ptr.length);
  for (let k = 0; k < ptr.length; k++) data[k] = BigInt(ptr[k]!);
  return { dtype, data };
}

/** A store being written: a temporary sibling directory, renamed onto the destination by commit. */
export interface StoreDraft {
  /** The temporary directory the arrays go into. */
  dir: string;
  /** Writes the manifest last (a directory without it is never taken for a store), then renames. */
  commit(manifest: StoreManifest): void;
  /** Removes the temporary directory (after a failure). */
  discard(): void;
}

export function openStoreDraft(outDir: string, overwrite: boolean): StoreDraft {
  const out = resolve(outDir);
  if (existsSync(out)) {
    if (!overwrite) throw new InputError(`${outDir}: already exists; choose another --out or pass --overwrite`);
    if (!existsSync(join(out, MANIFEST_FILE)) && readdirSync(out).length > 0) {
      throw new InputError(`${outDir}: exists and is not a gatv2 store (no ${MANIFEST_FILE}); refusing to replace it`);
    }
  }
  mkdirSync(dirname(out), { recursive: true });
  const tmp = join(dirname(out), `.${basename(out)}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  return {
    dir: tmp,
    commit(manifest) {
      const mf = Buffer.from(JSON.stringify(manifest, null, 1) + '\n', 'utf8');
      writeArray(tmp, MANIFEST_FILE, 'utf8', mf);
      if (existsSync(out)) rmSync(out, { recursive: true, force: true });
      renameSync(tmp, out);
    },
    discard() {
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/** A manifest of the given fields, stamped with the format, its version and the time. */
export function newManifest(
  m: Omit<StoreManifest, 'format' | 'version' | 'createdAt' | 'featureNames'> & { featureNames: string[] | undefined },
): StoreManifest {
  const { featureNames, ...rest } = m;
  const { name, source, ...fields } = rest;
  return {
    format: STORE_FORMAT, version: STORE_VERSION, name, source, createdAt: new Date().toISOString(),
    ...fields, ...(featureNames ? { featureNames } : {}),
  };
}

/** Node ids as one UTF-8 array and the byte offset of each id in it. */
export function encodeNodeIds(nodeIds: string[]): { ids: Buffer; offsets: Float64Array } {
  const ids = Buffer.from(nodeIds.join(''), 'utf8');
  const offsets = new Float64Array(nodeIds.length + 1);
  for (let i = 0; i < nodeIds.length; i++) offsets[i + 1] = offsets[i]! + Buffer.byteLength(nodeIds[i]!, 'utf8');
  return { ids, offsets };
}

/** The store's edge list holds no edge features: converting them away silently would lose data. */
export function refuseEdgeFeatures(where: string, names: string[]): void {
  if (names.length === 0) return;
  throw new InputError(
    `${where}: has edge features (${names.join(', ')}); a store does not hold edge features yet, so train from the CSV directory instead of converting it`,
  );
}

export async function writeStore(ds: GraphDataset, outDir: string, opts: WriteOptions): Promise<StoreManifest> {
  if (ds.edgeAttr) refuseEdgeFeatures(ds.name, ds.edgeAttr.names);
  const draft = openStoreDraft(outDir, opts.overwrite);
  const tmp = draft.dir;
  try {
    const N = ds.nodeIds.length, E = ds.edgeSource.length;
    const { indptr, indices } = csrByDestination(N, ds.edgeSource, ds.edgeTarget);
    const { ids, offsets: idOffsets } = encodeNodeIds(ds.nodeIds);

    const f = ds.features;
    const featureValues = (v: Float32Array) => {
      if (opts.featuresDtype === 'float32') return { dtype: 'float32' as const, data: v };
      const k = firstOutsideHalf(v);
      if (k >= 0) throw new InputError(`${ds.name}: feature value ${v[k]} is outside float16's range (${HALF_MAX}); use --features-dtype float32`);
      return { dtype: 'float16' as const, data: encodeHalf(v) };
    };
    const planned: Array<[ArrayName, StoreDtype, ArrayBufferView & { length: number }]> = [];
    const ip = asOffsets(indptr);
    planned.push(['indptr', ip.dtype, ip.data], ['indices', 'int32', indices]);
    planned.push(['labels', 'int32', ds.labels], ['split', 'uint8', ds.split]);
    const io = asOffsets(idOffsets);
    planned.push(['node_id_offsets', io.dtype, io.data], ['node_ids', 'utf8', ids]);
    if (f.kind === 'dense') {
      const v = featureValues(f.values);
      planned.push(['features', v.dtype, v.data]);
    } else {
      const fp = asOffsets(f.rowPtr);
      const v = featureValues(f.values);
      planned.push(['feat_indptr', fp.dtype, fp.data], ['feat_indices', 'int32', f.colIdx], ['feat_values', v.dtype, v.data]);
    }

    const totalBytes = planned.reduce((a, [, , d]) => a + d.byteLength, 0);
    let written = 0;
    const arrays: StoreManifest['arrays'] = {};
    for (const [name, dtype, data] of planned) {
      arrays[name] = writeArray(tmp, `${name}.bin`, dtype, data);
      written += data.byteLength;
      opts.onProgress?.({ array: name, bytes: written, totalBytes });
    }
    const manifest = newManifest({
      name: ds.name, source: opts.source, numNodes: N, numEdges: E, numFeatures: f.numFeatures, featureKind: f.kind,
      featuresDtype: opts.featuresDtype, classNames: ds.classNames, featureNames: ds.featureNames, warnings: ds.warnings, arrays,
    });
    draft.commit(manifest);
    return manifest;
  } catch (err) {
    draft.discard();
    throw err;
  }
}

export function writeArray(dir: string, file: string, dtype: StoreDtype, data: ArrayBufferView & { length: number }): StoreArray {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (bytes.byteLength !== data.length * DTYPE_BYTES[dtype]) throw new Error(`${file}: ${data.length} elements of ${dtype} are not ${bytes.byteLength} bytes`);
  const hash = createHash('sha256');
  const fd = openSync(join(dir, file), 'w');
  try {
    for (let off = 0; off < bytes.byteLength; off += WRITE_SLICE) {
      const slice = bytes.subarray(off, Math.min(off + WRITE_SLICE, bytes.byteLength));
      hash.update(slice);
      writeFully(fd, slice, null);
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return { file, dtype, length: data.length, bytes: bytes.byteLength, sha256: hash.digest('hex') };
}
