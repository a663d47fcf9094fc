#!/usr/bin/env node
/**
 * What Dawn sees, as one JSON object on stdout: the adapter (vendor, architecture, device,
 * description, subgroup sizes, fallback or not), its features and limits, WGSL language features,
 * whether a device with `subgroups` and `timestamp-query` can be created on it, and which Vulkan
 * loader and driver libraries the process loaded (read from /proc/self/maps).
 *
 * Needs only the `webgpu` package (Dawn for Node), found the usual way from this file's folder:
 * scripts/make-gpu-kit.sh copies it into kit/ as probe.mjs, beside kit/node_modules/webgpu.
 * From the repository it runs as `node scripts/kit-probe.mjs` against node_modules/webgpu.
 * Exit 0 when an adapter was found, 1 when none, 2 when Dawn could not be loaded.
 */
import { existsSync, readFileSync } from 'node:fs';

const out = {
  /** Summary for scripts: the adapter's vendor ('' when none) and whether it is real hardware. */
  vendor: '',
  hardware: false,
  node: process.version,
  platform: `${process.platform}-${process.arch}`,
  env: Object.fromEntries(
    ['LD_LIBRARY_PATH', 'VK_DRIVER_FILES', 'VK_ICD_FILENAMES', 'VK_LOADER_DEBUG', 'DAWN_DEBUG_BREAK_ON_ERROR']
      .filter((k) => process.env[k] !== undefined)
      .map((k) => [k, process.env[k]]),
  ),
  dawn: null,
  adapter: null,
  fallbackAdapter: null,
  device: null,
  libraries: [],
  error: null,
};

function loadedLibraries() {
  try {
    const maps = readFileSync('/proc/self/maps', 'utf8');
    const libs = new Set();
    for (const line of maps.split('\n')) {
      const path = line.slice(line.indexOf('/'));
      if (line.includes('/') && /vulkan|nvidia|GLX|GLdispatch|lvp|mesa|libstdc\+\+|dawn\.node/i.test(path)) libs.add(path.trim());
    }
    return [...libs].sort();
  } catch {
    return [];
  }
}

function limitsOf(limits) {
  const o = {};
  // GPUSupportedLimits exposes its values as prototype getters: walk the prototype chain.
  for (let p = limits; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const k of Object.getOwnPropertyNames(p)) {
      if (k === 'constructor' || k in o) continue;
      try {
        const v = limits[k];
        if (typeof v === 'number' || typeof v === 'bigint') o[k] = Number(v);
      } catch {
        // not a limit
      }
    }
  }
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
}

function infoOf(info) {
  const keys = ['vendor', 'architecture', 'device', 'description', 'subgroupMinSize', 'subgroupMaxSize', 'isFallbackAdapter'];
  const o = {};
  for (const k of keys) if (info && info[k] !== undefined) o[k] = info[k];
  return o;
}

function describe(adapter) {
  return {
    info: infoOf(adapter.info),
    features: [...adapter.features].sort(),
    limits: limitsOf(adapter.limits),
  };
}

let dawn;
try {
  dawn = await import('webgpu');
  const pkgUrl = import.meta.resolve ? import.meta.resolve('webgpu') : null;
  out.dawn = { module: pkgUrl };
} catch (e) {
  out.error = `cannot load the webgpu package (Dawn for Node): ${String(e?.message ?? e).split('\n')[0]}`;
  out.libraries = loadedLibraries();
  console.log(JSON.stringify(out, null, 1));
  process.exit(2);
}

try {
  Object.assign(globalThis, dawn.globals);
  const gpu = dawn.create([]);
  out.wgslLanguageFeatures = gpu.wgslLanguageFeatures ? [...gpu.wgslLanguageFeatures].sort() : [];
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (adapter) {
    out.adapter = describe(adapter);
    const i = out.adapter.info;
    out.vendor = i.vendor || 'unknown';
    out.hardware = i.isFallbackAdapter !== true &&
      !/llvmpipe|lavapipe|swiftshader|software|warp/i.test(`${i.vendor} ${i.architecture} ${i.device} ${i.description}`);
    const features = ['subgroups', 'timestamp-query', 'shader-f16'].filter((f) => adapter.features.has(f));
    const requiredLimits = {};
    for (const k of ['maxStorageBuffersPerShaderStage', 'maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup']) {
      requiredLimits[k] = adapter.limits[k];
    }
    try {
      const device = await adapter.requestDevice({ requiredFeatures: features, requiredLimits });
      out.device = { features: [...device.features].sort(), maxStorageBufferBindingSize: Number(device.limits.maxStorageBufferBindingSize), maxBufferSize: Number(device.limits.maxBufferSize) };
      // A tiny round trip: a compute pass doubling 4 numbers, read back.
      const code = '@group(0) @binding(0) var<storage, read_write> a : array<f32>;\n@compute @workgroup_size(4) fn main(@builtin(global_invocation_id) i : vec3u) { a[i.x] = a[i.x] * 2.0; }';
      const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code }), entryPoint: 'main' } });
      const buf = device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
      const read = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      device.queue.writeBuffer(buf, 0, new Float32Array([1, 2, 3, 4]));
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: buf } }] }));
      pass.dispatchWorkgroups(1);
      pass.end();
      enc.copyBufferToBuffer(buf, 0, read, 0, 16);
      device.queue.submit([enc.finish()]);
      await read.mapAsync(GPUMapMode.READ);
      out.device.roundTrip = [...new Float32Array(read.getMappedRange().slice(0))];
      read.unmap();
      device.destroy();
    } catch (e) {
      out.device = { error: String(e?.message ?? e).split('\n')[0] };
    }
  }
  // Is there a software adapter beside it (lavapipe, SwiftShader)? Only worth knowing.
  try {
    const fb = await gpu.requestAdapter({ forceFallbackAdapter: true });
    if (fb) out.fallbackAdapter = infoOf(fb.info);
  } catch {
    // none
  }
} catch (e) {
  out.error = String(e?.message ?? e).split('\n')[0];
}
out.libraries = loadedLibraries();
if (!out.adapter && !out.error) {
  out.error = 'Dawn found no WebGPU adapter';
  const loaders = ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib64/libvulkan.so.1', '/lib/x86_64-linux-gnu/libvulkan.so.1'];
  out.hint = loaders.some((p) => existsSync(p)) || (process.env.LD_LIBRARY_PATH ?? '') !== ''
    ? 'a Vulkan loader may be there but no driver (ICD) worked: try VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json and VK_LOADER_DEBUG=error,warn'
    : 'no Vulkan loader (libvulkan.so.1) in the usual places';
}
console.log(JSON.stringify(out, null, 1));
// dawn.node keeps the process alive while it holds a device or instance: leave explicitly.
process.exit(out.adapter ? 0 : out.error?.startsWith('cannot load') ? 2 : 1);
