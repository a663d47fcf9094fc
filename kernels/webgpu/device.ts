/**
 * Creates the GPUDevice the WebGPU kernels run on, through Dawn for Node (the `webgpu` package).
 *
 * TF.js's own factory creates a device with the default limits: 8 storage buffers per shader
 * stage (our score gradient binds 10) and no subgroups (docs/platform-notes.md). So the device is made
 * here, with the adapter's own limits requested and `subgroups` enabled where the adapter has it.
 */
import { existsSync, readdirSync } from 'node:fs';
import { withQuietNativeStderr } from './native-stderr.js';

/** Storage buffers (inputs + the output) the largest program binds: the score gradient's dxl pass
 * (srcPtr, srcOrder, csrDst, xl, xr, att, dE, edgeProj or dxlAdd, heavy rows, output). */
export const REQUIRED_STORAGE_BUFFERS = 10;

/** A line in user code that asks for subgroups; patchShaderModules() acts on it. */
export const SUBGROUP_MARKER = '// gatv2:enable-subgroups';

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A software (CPU) implementation such as Mesa's lavapipe: correct, but slow. */
  software: boolean;
  /** Subgroup sizes the adapter reports (0 when unknown). */
  subgroupMinSize: number;
  subgroupMaxSize: number;
}

export interface GatDevice {
  gpu: GPU;
  adapter: GPUAdapter;
  device: GPUDevice;
  info: GPUAdapterInfo;
  summary: AdapterSummary;
  /** The device has `subgroups` and WGSL has the subgroup_id builtin: the reductions may use them. */
  subgroups: boolean;
  maxStorageBuffers: number;
}

/** Why WebGPU cannot start; the message says what to install. */
export class WebGPUUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebGPUUnavailable';
  }
}

interface DawnModule {
  create(flags: string[]): GPU;
  globals: Record<string, unknown>;
}

let dawn: DawnModule | null = null;

/** Loads dawn.node once and installs its globals (GPUBufferUsage, GPUBuffer, ...) that TF.js uses. */
async function loadDawn(): Promise<DawnModule> {
  if (dawn) return dawn;
  let mod: DawnModule;
  try {
    mod = (await import('webgpu')) as unknown as DawnModule;
  } catch (e) {
    throw new WebGPUUnavailable(
      `the \`webgpu\` package (Dawn for Node) could not be loaded on ${process.platform}-${process.arch}: ${oneLine(e)}`,
    );
  }
  Object.assign(globalThis, mod.globals);
  dawn = mod;
  return mod;
}

function oneLine(e: unknown): string {
  return String(e instanceof Error ? e.message : e).split('\n')[0]!.trim();
}

const VULKAN_HINT =
  'install mesa-vulkan-drivers from bookworm-backports (see README; on a GPU machine, the vendor\'s Vulkan driver and libvulkan1)';

/** Explains a missing adapter: on Linux, Dawn needs the Vulkan loader and a Vulkan driver (ICD). */
function noAdapterMessage(): string {
  if (process.platform !== 'linux') return 'no WebGPU adapter found (Dawn found no usable GPU driver)';
  const loader = ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/aarch64-linux-gnu/libvulkan.so.1', '/usr/lib/libvulkan.so.1', '/usr/lib64/libvulkan.so.1'];
  if (!loader.some((p) => existsSync(p))) return `no Vulkan loader (libvulkan.so.1): ${VULKAN_HINT}`;
  // The Vulkan loader reads the drivers (ICD manifests) the environment names, else these folders.
  const named = process.env['VK_DRIVER_FILES'] ?? process.env['VK_ICD_FILENAMES'];
  const icdDirs = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];
  const icds = named !== undefined
    ? named.split(':').filter((f) => f !== '' && existsSync(f))
    : icdDirs.flatMap((d) => (existsSync(d) ? readdirSync(d).filter((f) => f.endsWith('.json')) : []));
  if (icds.length === 0) return `no Vulkan driver: ${VULKAN_HINT}`;
  return `no WebGPU adapter: Dawn could use none of the Vulkan drivers (bookworm's own Mesa 22.3 is too old): ${VULKAN_HINT}`;
}

export function summarise(info: GPUAdapterInfo): AdapterSummary {
  const i = info as GPUAdapterInfo & { isFallbackAdapter?: boolean; subgroupMinSize?: number; subgroupMaxSize?: number };
  const text = `${i.vendor} ${i.architecture} ${i.device} ${i.description}`.toLowerCase();
  return {
    vendor: i.vendor || 'unknown',
    architecture: i.architecture || '',
    device: i.device || '',
    description: i.description || '',
    software: i.isFallbackAdapter === true || /llvmpipe|lavapipe|swiftshader|software|warp/.test(text),
    subgroupMinSize: i.subgroupMinSize ?? 0,
    subgroupMaxSize: i.subgroupMaxSize ?? 0,
  };
}

/** The adapter limits worth raising: the kernels need storage buffers; large graphs need sizes. */
const RAISED_LIMITS = [
  'maxStorageBuffersPerShaderStage',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupsPerDimension',
] as const;

let cached: Promise<GatDevice> | null = null;
const uncaptured: string[] = [];

/** The WebGPU errors reported since the last call (tests assert there are none). */
export function takeWebGPUErrors(): string[] {
  return uncaptured.splice(0);
}

/** The one device of this process (created on first call). Throws WebGPUUnavailable. */
export function gatDevice(): Promise<GatDevice> {
  if (!cached) {
    cached = createDevice();
    cached.catch(() => {
      cached = null;
    });
  }
  return cached;
}

async function createDevice(): Promise<GatDevice> {
  const mod = await loadDawn();
  const gpu = mod.create([]);
  const adapter = await withQuietNativeStderr(() => gpu.requestAdapter({ powerPreference: 'high-performance' }));
  if (!adapter) throw new WebGPUUnavailable(noAdapterMessage());
  const maxStorageBuffers = adapter.limits.maxStorageBuffersPerShaderStage;
  if (maxStorageBuffers < REQUIRED_STORAGE_BUFFERS) {
    throw new WebGPUUnavailable(
      `the WebGPU adapter allows ${maxStorageBuffers} storage buffers per shader stage; the kernels need ${REQUIRED_STORAGE_BUFFERS}`,
    );
  }
  const requiredLimits: Record<string, number> = {};
  for (const name of RAISED_LIMITS) requiredLimits[name] = adapter.limits[name];
  const features: GPUFeatureName[] = [];
  const wantSubgroups = adapter.features.has('subgroups');
  if (wantSubgroups) features.push('subgroups' as GPUFeatureName);
  // TF.js times programs with timestamp queries where the device has them (tf.profile).
  if (adapter.features.has('timestamp-query')) features.push('timestamp-query');
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredFeatures: features, requiredLimits });
  } catch (e) {
    throw new WebGPUUnavailable(`the WebGPU adapter refused to create a device: ${oneLine(e)}`);
  }
  device.lost.then((lost) => {
    if (lost.reason === 'destroyed') return;
    uncaptured.push(`device lost: ${lost.message}`);
    process.stderr.write(`gatv2: WebGPU device lost: ${lost.message}\n`);
  });
  // Errors that no error scope caught (a kernel bug, an out-of-memory) would otherwise only
  // produce wrong numbers; say them.
  device.addEventListener('uncapturederror', (ev) => {
    const message = (ev as GPUUncapturedErrorEvent).error.message;
    uncaptured.push(message);
    process.stderr.write(`gatv2: WebGPU error: ${message}\n`);
  });
  const subgroupId = (gpu.wgslLanguageFeatures as ReadonlySet<string> | undefined)?.has('subgroup_id') ?? false;
  const subgroups = device.features.has('subgroups') && subgroupId;
  patchShaderModules(device);
  const info = adapter.info;
  return { gpu, adapter, device, info, summary: summarise(info), subgroups, maxStorageBuffers };
}

/**
 * TF.js assembles each shader as its own header, then the program's code, then the `_start` entry
 * point it writes itself. Subgroups need `enable subgroups;` before any declaration and the
 * subgroup builtins as entry-point parameters, neither of which a program's code can add. Code
 * that carries SUBGROUP_MARKER gets both here: the directive moves to the top, and `_start`
 * receives the builtins and stores them in the private variables that SUBGROUP_PRIVATES declares.
 */
function patchShaderModules(device: GPUDevice): void {
  const create = device.createShaderModule.bind(device);
  device.createShaderModule = (desc: GPUShaderModuleDescriptor) => create({ ...desc, code: withSubgroups(desc.code) });
}

export const SUBGROUP_PRIVATES = `
${SUBGROUP_MARKER}
var<private> sgLane : u32;
var<private> sgId : u32;
var<private> numSg : u32;
`;

export function withSubgroups(code: string): string {
  if (!code.includes(SUBGROUP_MARKER)) return code;
  const start = 'fn _start(';
  const firstLine = 'localId = LocalId;';
  if (!code.includes(start) || !code.includes(firstLine)) {
    throw new Error('gatv2: TF.js WebGPU shader layout changed; cannot add subgroup builtins');
  }
  return 'enable subgroups;\n' + code
    .replace(start, `${start}@builtin(subgroup_invocation_id) gatSgLane : u32, @builtin(subgroup_id) gatSgId : u32, @builtin(num_subgroups) gatNumSg : u32, `)
    .replace(firstLine, `${firstLine} sgLane = gatSgLane; sgId = gatSgId; numSg = gatNumSg;`);
}
