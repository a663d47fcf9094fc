#!/usr/bin/env node
/**
 * Compiles the SIMD kernels (kernels/simd/assembly/*.ts, AssemblyScript) to WebAssembly next to the
 * compiled JS that loads them (dist/kernels/simd/*.wasm), with the `assemblyscript` package's
 * compiler, so the build needs no native toolchain. Run after tsc: `tsc -p tsconfig.json && node
 * scripts/build-wasm.mjs`. A missing .wasm is not fatal at run time (kernels/simd/module.ts falls
 * back to the JS loops), so this script fails loudly instead: a compile error should break the
 * build, not slow training down.
 *
 * The module imports its memory as env.memory, declared shared (kernels/simd/threads.ts hands the
 * same memory to its worker threads), and uses no runtime, allocator or data segment: the loader
 * owns every byte of the memory it gives (its own, or blocks of tfjs-backend-wasm's heap).
 *
 * Then it writes tfjs-backend-wasm's three binaries to dist/kernels/wasm/tfjs-wasm/, the SIMD one
 * with its memory flagged shared (kernels/wasm/shared-heap.ts says why): one byte changes, the
 * limits flag of the memory section, from 0x01 (minimum and maximum) to 0x03 (shared, minimum and
 * maximum). Anything else in that place (a memory without a maximum, an imported memory, a binary
 * of another layout) stops the build with a message.
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = join(root, 'kernels', 'simd', 'assembly');
const outDir = join(root, 'dist', 'kernels', 'simd');

const FLAGS = [
  '-O3', '--noAssert', '--runtime', 'stub', '--use', 'abort=',
  '--enable', 'simd,threads',
  '--importMemory', '--sharedMemory', '--initialMemory', '1', '--maximumMemory', '65536', '--noExportMemory',
];

mkdirSync(outDir, { recursive: true });
const sources = readdirSync(srcDir).filter((f) => f.endsWith('.ts')).sort();
if (sources.length === 0) throw new Error(`no .ts files in ${srcDir}`);
for (const name of sources) {
  const path = join(srcDir, name);
  const out = join(outDir, name.replace(/\.ts$/, '.wasm'));
  let log = '';
  const sink = { write: (s) => { log += s; return true; } };
  const { error } = await asc.main([path, '-o', out, ...FLAGS], { stdout: sink, stderr: sink });
  if (error) {
    process.stderr.write(log);
    throw new Error(`build-wasm: ${relative(root, path)}: ${error.message}`);
  }
  console.log(`build-wasm: ${relative(root, path)} -> ${relative(root, out)}`);
}

/** The wasm binary with its one defined memory flagged shared (see the header). */
function withSharedMemory(bytes, name) {
  const fail = (why) => { throw new Error(`build-wasm: ${name}: ${why}; cannot flag its memory shared`); };
  if (bytes.readUInt32LE(0) !== 0x6d736100 || bytes.readUInt32LE(4) !== 1) fail('not a version-1 wasm binary');
  let o = 8;
  const leb = () => {
    let r = 0, shift = 0, b;
    do { b = bytes[o++]; r += (b & 0x7f) * 2 ** shift; shift += 7; } while (b & 0x80);
    return r;
  };
  while (o < bytes.length) {
    const id = bytes[o++];
    const size = leb();
    const end = o + size;
    if (id === 5) {
      if (leb() !== 1) fail('not exactly one memory');
      if (bytes[o] !== 0x01) fail(`memory limits flag 0x${bytes[o].toString(16)}, expected 0x01 (minimum and maximum)`);
      const out = Buffer.from(bytes);
      out[o] = 0x03;
      return out;
    }
    o = end;
  }
  return fail('no memory section (an imported memory?)');
}

const require = createRequire(import.meta.url);
const tfjsWasmDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm'));
const heapDir = join(root, 'dist', 'kernels', 'wasm', 'tfjs-wasm');
mkdirSync(heapDir, { recursive: true });
for (const name of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']) copyFileSync(join(tfjsWasmDir, name), join(heapDir, name));
const simdName = 'tfjs-backend-wasm-simd.wasm';
writeFileSync(join(heapDir, simdName), withSharedMemory(readFileSync(join(tfjsWasmDir, simdName)), simdName));
console.log(`build-wasm: ${simdName} with a shared memory -> ${relative(root, heapDir)}/`);
