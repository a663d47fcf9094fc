#!/usr/bin/env node
/**
 * Compiles the WebAssembly text of the SIMD kernels (kernels/simd/*.wat) to binaries next to the
 * compiled JS that loads them (dist/kernels/simd/*.wasm), with the `wabt` package, so the build
 * needs no native toolchain. Run after tsc: `tsc -p tsconfig.json && node scripts/build-wasm.mjs`.
 * A missing .wasm is not fatal at run time (kernels/simd/index.ts falls back to the JS loops), so
 * this script fails loudly instead: a WAT error should break the build, not slow training down.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = join(root, 'kernels', 'simd');
const outDir = join(root, 'dist', 'kernels', 'simd');

const wabt = await wabtInit();
mkdirSync(outDir, { recursive: true });
const sources = readdirSync(srcDir).filter((f) => f.endsWith('.wat')).sort();
if (sources.length === 0) throw new Error(`no .wat files in ${srcDir}`);
for (const name of sources) {
  const path = join(srcDir, name);
  const mod = wabt.parseWat(name, readFileSync(path, 'utf8'), { simd: true });
  try {
    mod.resolveNames();
    mod.validate();
    const { buffer } = mod.toBinary({ log: false, write_debug_names: false });
    const out = join(outDir, name.replace(/\.wat$/, '.wasm'));
    writeFileSync(out, buffer);
    console.log(`build-wasm: ${relative(root, path)} -> ${relative(root, out)} (${buffer.length} bytes)`);
  } finally {
    mod.destroy();
  }
}
