#!/usr/bin/env node
/**
 * Compiles the SIMD kernels (kernels/simd/assembly/*.ts, AssemblyScript) to WebAssembly next to the
 * compiled JS that loads them (dist/kernels/simd/*.wasm), with the `assemblyscript` package's
 * compiler, so the build needs no native toolchain. Run after tsc: `tsc -p tsconfig.json && node
 * scripts/build-wasm.mjs`. A missing .wasm is not fatal at run time (kernels/simd/index.ts falls
 * back to the JS loops), so this script fails loudly instead: a compile error should break the
 * build, not slow training down.
 *
 * The module imports its memory as env.memory, declared shared (kernels/simd/index.ts hands the
 * same memory to its worker threads), and uses no runtime, allocator or data segment: the loader
 * owns every byte of the memory.
 */
import { mkdirSync, readdirSync } from 'node:fs';
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
