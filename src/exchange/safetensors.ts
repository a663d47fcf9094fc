/**
 * The safetensors format (Hugging Face's; what torch users exchange weights in), written and read
 * without a dependency, as it is small:
 *
 *   8 bytes    N, the header's length, unsigned 64-bit little-endian
 *   N bytes    JSON header: { "__metadata__": { string: string }, name: { "dtype": "F32",
 *              "shape": [...], "data_offsets": [begin, end] }, ... }, padded with spaces to a
 *              multiple of 8 so every tensor starts aligned
 *   the rest   the tensors' bytes, row-major little-endian, offsets relative to the start of it;
 *              they cover it without holes or overlaps
 *
 * The reader checks all of that and reports the first problem as one InputError naming the file.
 */
import { InputError } from '../util/errors.js';

/** Bytes per element of the dtypes this project reads (it writes F32). */
const ITEM_SIZE: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

export interface SafeTensor {
  dtype: string;
  shape: number[];
  /** The tensor's bytes (a view into the file). */
  bytes: Uint8Array;
}

export interface SafetensorsFile {
  metadata: Record<string, string>;
  /** In the order of their data offsets. */
  tensors: Record<string, SafeTensor>;
}

/** Float32 tensors (row-major data and shape) and string metadata -> the file's bytes. */
export function writeSafetensors(
  tensors: Record<string, { shape: number[]; data: Float32Array }>, metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header['__metadata__'] = metadata;
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new Error(`writeSafetensors: ${name} has ${t.data.length} values for shape [${t.shape}]`);
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + 4 * count] };
    offset += 4 * count;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const head = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + head.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const t of Object.values(tensors)) {
    // Little-endian on every platform Node runs on; copy through a DataView to make it explicit.
    for (let k = 0; k < t.data.length; k++, at += 4) view.setFloat32(at, t.data[k], true);
  }
  return out;
}

/** Parses and validates a safetensors file's bytes; `file` names it in errors. */
export function readSafetensors(bytes: Uint8Array, file: string): SafetensorsFile {
  const bad = (what: string) => new InputError(`${file}: ${what}`);
  if (bytes.length < 8) throw bad(`${bytes.length} bytes is too short for a safetensors file (it starts with an 8-byte header length)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(bytes.length - 8)) {
    throw bad(`the header length says ${n} bytes but only ${bytes.length - 8} follow: the file is truncated or not safetensors`);
  }
  const headerEnd = 8 + Number(n);
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 8, Number(n)).toString('utf8'));
  } catch (e) {
    throw bad(`the header is not JSON (${(e as Error).message}): the file is damaged or not safetensors`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw bad('the header is not a JSON object');
  // A plain Uint8Array view (a Buffer's slice() would not copy).
  const data = new Uint8Array(bytes.buffer, bytes.byteOffset + headerEnd, bytes.length - headerEnd);
  const metadata: Record<string, string> = {};
  const entries: Array<[string, SafeTensor, number, number]> = [];
  for (const [name, v] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('__metadata__ must be an object of strings');
      for (const [k, s] of Object.entries(v)) {
        if (typeof s !== 'string') throw bad(`__metadata__["${k}"] must be a string, got ${JSON.stringify(s)}`);
        metadata[k] = s;
      }
      continue;
    }
    const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const where = `tensor "${name}"`;
    if (typeof e !== 'object' || e === null) throw bad(`${where} must be an object with dtype, shape and data_offsets`);
    if (typeof e.dtype !== 'string' || !(e.dtype in ITEM_SIZE)) throw bad(`${where} has dtype ${JSON.stringify(e.dtype)}; expected one of ${Object.keys(ITEM_SIZE).join(', ')}`);
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) throw bad(`${where} has shape ${JSON.stringify(e.shape)}; expected a list of non-negative integers`);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isInteger(d) && d >= 0) || off[0] > off[1]) {
      throw bad(`${where} has data_offsets ${JSON.stringify(off)}; expected [begin, end] with 0 <= begin <= end`);
    }
    const [begin, end] = off as [number, number];
    const count = (e.shape as number[]).reduce((a, b) => a * b, 1);
    if (end - begin !== count * ITEM_SIZE[e.dtype]) {
      throw bad(`${where} spans ${end - begin} bytes, but shape [${e.shape}] of ${e.dtype} needs ${count * ITEM_SIZE[e.dtype]}`);
    }
    if (end > data.length) throw bad(`${where} ends at byte ${end} of the data, which holds ${data.length}: the file is truncated`);
    entries.push([name, { dtype: e.dtype, shape: e.shape as number[], bytes: data.subarray(begin, end) }, begin, end]);
  }
  entries.sort((a, b) => a[2] - b[2]);
  let at = 0;
  for (const [name, , begin, end] of entries) {
    if (begin !== at) throw bad(`tensor "${name}" starts at byte ${begin} of the data, expected ${at} (tensors must not overlap or leave holes)`);
    at = end;
  }
  if (at !== data.length) throw bad(`the tensors cover ${at} bytes of data, but ${data.length} follow the header`);
  const tensors: Record<string, SafeTensor> = {};
  for (const [name, t] of entries) tensors[name] = t;
  return { metadata, tensors };
}

/** A F32 or F64 tensor's values as float32 (row-major); other dtypes are an error naming the tensor. */
export function float32Values(t: SafeTensor, name: string, file: string): Float32Array {
  const view = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
  if (t.dtype === 'F32') {
    const out = new Float32Array(t.bytes.byteLength / 4);
    for (let k = 0; k < out.length; k++) out[k] = view.getFloat32(4 * k, true);
    return out;
  }
  if (t.dtype === 'F64') {
    const out = new Float32Array(t.bytes.byteLength / 8);
    for (let k = 0; k < out.length; k++) out[k] = view.getFloat64(8 * k, true);
    return out;
  }
  throw new InputError(`${file}: tensor "${name}" is ${t.dtype}; save the weights as float32 (model.float()) or float64`);
}
