/**
 * `gatv2 convert` of a CSV dataset directory in one streaming pass per file, so that converting
 * needs far less memory than the store it writes (ogbn-products' size: 62M edges, 2.4M x 100
 * features). What stays in memory, and why:
 * - nodes.csv: the node table (ids, the id -> index map, labels, splits): every later row is
 *   checked against it.
 * - edges.csv: each edge is appended to a spill file of (source, target) int32 pairs while the
 *   in-degrees are counted; a second pass over that binary file (not the CSV) places each source
 *   at its CSR position, so only `indices` (4 bytes an edge) is held, never source and target
 *   arrays besides it.
 * - features.csv: dense rows go straight into the store's file at their node's position as they
 *   are parsed; sparse triplets are sorted into CSR in memory (their store arrays' size).
 * Every check is the loader's own (scanEdges, scanFeatures), so a file the loader refuses is
 * refused here with the same one-line message. Writing goes into a StoreDraft: atomic.
 */
import { createHash, type Hash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { findCsv, type CsvFile } from '../data/csv.js';
import { scanEdges } from '../data/edges.js';
import { scanFeatures, type DenseRowSink } from '../data/features.js';
import type { LoadPhase, LoadProgress } from '../data/load-progress.js';
import type { ResolvedDataset } from './load.js';
import { readNodes, type NodeTable } from '../data/nodes.js';
import { InputError } from '../util/errors.js';
import { encodeHalf, firstOutsideHalf, HALF_MAX } from './float16.js';
import { readFully, writeFully } from '../util/positional-io.js';
import type { StoreArray, StoreManifest } from './format.js';
import { asOffsets, encodeNodeIds, newManifest, openStoreDraft, refuseEdgeFeatures, writeArray } from './write.js';

export interface ConvertOptions {
  featuresDtype: 'float32' | 'float16';
  overwrite: boolean;
  /** As the user named the source (recorded in the manifest). */
  source: string;
  /** Told of each CSV file as it is read (rows, bytes, rate). */
  progress?: LoadProgress;
  /** Told of each array once it is in the store, with its size and how long it took. */
  onArray?: (a: { file: string; bytes: number; ms: number }) => void;
}

/** Pairs buffered per write or read of the edge spill file (8 MiB). */
const SPILL_PAIRS = 1 << 20;
/** Bytes of consecutive feature rows gathered per positional write (8 MiB). */
const FEATURE_WRITE_BYTES = 8 << 20;

export async function convertCsvToStore(where: ResolvedDataset, outDir: string, opts: ConvertOptions): Promise<StoreManifest> {
  // Locate all three files before parsing any, so a missing one is reported at once.
  const nodesFile = findCsv(where.dir, where.display, 'nodes');
  const edgesFile = findCsv(where.dir, where.display, 'edges');
  const featuresFile = findCsv(where.dir, where.display, 'features');
  const nodesName = basename(nodesFile.display);
  const track = (phase: LoadPhase, file: CsvFile): void => {
    if (opts.progress === undefined) return;
    opts.progress.start(phase, file.display, statSync(file.path).size);
    file.onRead = (bytes) => opts.progress!.advance(bytes);
  };
  const draft = openStoreDraft(outDir, opts.overwrite);
  const arrays: StoreManifest['arrays'] = {};
  const put = (name: keyof StoreManifest['arrays'], write: () => StoreArray): void => {
    const t = performance.now();
    const a = write();
    arrays[name] = a;
    opts.onArray?.({ file: a.file, bytes: a.bytes, ms: performance.now() - t });
  };
  try {
    track('nodes', nodesFile);
    const nodes = await readNodes(nodesFile);
    opts.progress?.end(nodes.ids.length, 'nodes');
    const N = nodes.ids.length;

    track('edges', edgesFile);
    const spill = new PairSpill(join(draft.dir, 'edges.spill'));
    // In-degree counts, shifted by one: after the prefix sum they are the CSR row pointers.
    const indptr = new Float64Array(N + 1);
    const edges = await scanEdges(edgesFile, nodes, nodesName, {
      header: (names) => refuseEdgeFeatures(edgesFile.display, names),
      edge: (s, t) => {
        spill.push(s, t);
        indptr[t + 1]++;
      },
      attr: () => {},
    });
    spill.close();
    opts.progress?.end(edges.count, 'edges');
    for (let i = 0; i < N; i++) indptr[i + 1] += indptr[i]!;
    put('indptr', () => {
      const ip = asOffsets(indptr);
      return writeArray(draft.dir, 'indptr.bin', ip.dtype, ip.data);
    });
    put('indices', () => writeArray(draft.dir, 'indices.bin', 'int32', spill.csrIndices(indptr)));
    spill.remove();

    track('features', featuresFile);
    let dense: DenseFileSink | undefined;
    const feats = await scanFeatures(featuresFile, nodes, nodesName, (numFeatures) => {
      dense = new DenseFileSink(join(draft.dir, 'features.bin'), numFeatures, opts.featuresDtype, featuresFile, nodes);
      return dense;
    });
    let numFeatures: number;
    let featureKind: 'dense' | 'sparse';
    let featureNames: string[] | undefined;
    if (feats.kind === 'dense') {
      opts.progress?.end(N, 'feature rows');
      put('features', () => dense!.result());
      ({ numFeatures, featureNames } = feats);
      featureKind = 'dense';
    } else {
      const f = feats.table.features;
      if (f.kind !== 'sparse') throw new Error('scanFeatures: a sparse read holds sparse features');
      opts.progress?.end(f.colIdx.length, 'feature values');
      const fp = asOffsets(f.rowPtr);
      put('feat_indptr', () => writeArray(draft.dir, 'feat_indptr.bin', fp.dtype, fp.data));
      put('feat_indices', () => writeArray(draft.dir, 'feat_indices.bin', 'int32', f.colIdx));
      put('feat_values', () => {
        if (opts.featuresDtype === 'float32') return writeArray(draft.dir, 'feat_values.bin', 'float32', f.values);
        const k = firstOutsideHalf(f.values);
        if (k >= 0) {
          throw new InputError(`${featuresFile.display}: feature value ${f.values[k]} is outside float16's range (${HALF_MAX}); use --features-dtype float32`);
        }
        return writeArray(draft.dir, 'feat_values.bin', 'float16', encodeHalf(f.values));
      });
      ({ numFeatures, featureNames } = { numFeatures: f.numFeatures, featureNames: feats.table.featureNames });
      featureKind = 'sparse';
    }

    put('labels', () => writeArray(draft.dir, 'labels.bin', 'int32', nodes.labels));
    put('split', () => writeArray(draft.dir, 'split.bin', 'uint8', nodes.split));
    const { ids, offsets } = encodeNodeIds(nodes.ids);
    const io = asOffsets(offsets);
    put('node_id_offsets', () => writeArray(draft.dir, 'node_id_offsets.bin', io.dtype, io.data));
    put('node_ids', () => writeArray(draft.dir, 'node_ids.bin', 'utf8', ids));

    const manifest = newManifest({
      name: where.name, source: opts.source, numNodes: N, numEdges: edges.count, numFeatures, featureKind,
      featuresDtype: opts.featuresDtype, classNames: nodes.classNames, featureNames, warnings: edges.warnings, arrays,
    });
    draft.commit(manifest);
    return manifest;
  } catch (err) {
    draft.discard();
    throw err;
  }
}

/** (source, target) int32 pairs appended to a file in edge order, read back to place CSR indices. */
class PairSpill {
  private readonly buf = new Int32Array(2 * SPILL_PAIRS);
  private fill = 0;
  private count = 0;
  private fd: number;

  constructor(private readonly path: string) {
    this.fd = openSync(path, 'w+');
  }

  push(s: number, t: number): void {
    this.buf[this.fill++] = s;
    this.buf[this.fill++] = t;
    this.count++;
    if (this.fill === this.buf.length) this.flush();
  }

  private flush(): void {
    writeFully(this.fd, new Uint8Array(this.buf.buffer, 0, this.fill * 4), null);
    this.fill = 0;
  }

  close(): void {
    this.flush();
  }

  /**
   * The source of each CSR position (edges sorted stably by destination, as csrByDestination in
   * write.ts): one sequential read of the spill, in the order the edges were written.
   */
  csrIndices(indptr: Float64Array): Int32Array {
    const next = indptr.slice(0, indptr.length - 1);
    const indices = new Int32Array(this.count);
    const bytes = new Uint8Array(this.buf.buffer);
    let pos = 0;
    for (let left = this.count; left > 0; ) {
      const pairs = Math.min(left, SPILL_PAIRS);
      readFully(this.fd, bytes.subarray(0, pairs * 8), pos, this.path);
      for (let k = 0; k < 2 * pairs; k += 2) indices[next[this.buf[k + 1]!]!++] = this.buf[k]!;
      pos += pairs * 8;
      left -= pairs;
    }
    return indices;
  }

  remove(): void {
    closeSync(this.fd);
    rmSync(this.path, { force: true });
  }
}

/**
 * Dense feature rows written into the store's features file at node * rowBytes as they arrive.
 * Runs of consecutive nodes (the usual file order) are gathered into one write, and hashed as
 * they go while the file is written front to back; rows out of order are written in place and
 * the hash is then taken by reading the finished file back.
 */
class DenseFileSink implements DenseRowSink {
  private readonly fd: number;
  private readonly rowBytes: number;
  private readonly buf: Uint8Array;
  private readonly rowsPerBuf: number;
  private runStart = 0;
  private runRows = 0;
  /** Byte position the next write must start at for the file to be written front to back. */
  private sequentialEnd: number | null = 0;
  private readonly hash: Hash = createHash('sha256');

  constructor(
    private readonly path: string,
    private readonly numFeatures: number,
    private readonly dtype: 'float32' | 'float16',
    private readonly file: CsvFile,
    private readonly nodes: NodeTable,
  ) {
    this.fd = openSync(path, 'w+');
    this.rowBytes = numFeatures * (dtype === 'float32' ? 4 : 2);
    this.rowsPerBuf = Math.max(1, Math.floor(FEATURE_WRITE_BYTES / Math.max(this.rowBytes, 1)));
    this.buf = new Uint8Array(this.rowsPerBuf * this.rowBytes);
  }

  put(node: number, row: Float32Array): void {
    if (this.runRows > 0 && (node !== this.runStart + this.runRows || this.runRows === this.rowsPerBuf)) this.flush();
    if (this.runRows === 0) this.runStart = node;
    const at = this.runRows * this.rowBytes;
    if (this.dtype === 'float32') {
      this.buf.set(new Uint8Array(row.buffer, row.byteOffset, this.rowBytes), at);
    } else {
      const k = firstOutsideHalf(row);
      if (k >= 0) {
        throw new InputError(
          `${this.file.display}: node "${this.nodes.ids[node]}" has the feature value ${row[k]}, outside float16's range (${HALF_MAX}); use --features-dtype float32`,
        );
      }
      // Straight into the write buffer: no array per row.
      encodeHalf(row, new Uint16Array(this.buf.buffer, this.buf.byteOffset + at, this.numFeatures));
    }
    this.runRows++;
  }

  private flush(): void {
    if (this.runRows === 0) return;
    const pos = this.runStart * this.rowBytes;
    const bytes = this.buf.subarray(0, this.runRows * this.rowBytes);
    writeFully(this.fd, bytes, pos);
    if (this.sequentialEnd === pos) {
      this.hash.update(bytes);
      this.sequentialEnd = pos + bytes.byteLength;
    } else this.sequentialEnd = null;
    this.runRows = 0;
  }

  finish(): void {
    this.flush();
  }

  /** The manifest entry, once every row is written (scanFeatures has checked none is missing). */
  result(): StoreArray {
    const n = this.nodes.ids.length;
    const bytes = n * this.rowBytes;
    let sha256: string;
    if (this.sequentialEnd === bytes) sha256 = this.hash.digest('hex');
    else sha256 = hashFile(this.fd, bytes);
    fsyncSync(this.fd);
    closeSync(this.fd);
    return { file: basename(this.path), dtype: this.dtype, length: n * this.numFeatures, bytes, sha256 };
  }
}

function hashFile(fd: number, bytes: number): string {
  const hash = createHash('sha256');
  const chunk = new Uint8Array(64 << 20);
  for (let pos = 0; pos < bytes; ) {
    const len = Math.min(chunk.byteLength, bytes - pos);
    readFully(fd, chunk.subarray(0, len), pos, 'features.bin');
    hash.update(chunk.subarray(0, len));
    pos += len;
  }
  return hash.digest('hex');
}

