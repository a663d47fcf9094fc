#!/usr/bin/env bash
# gpu-check.sh: this project on a real GPU, in one go and in under 8 minutes, on a Linux x86-64
# machine with NO network. It runs from what travels in the repository tree: kit/, built here by
# scripts/make-gpu-kit.sh (the bundled CLI, Dawn, a Node 20 binary, the Vulkan loader).
#
# Device run command (the device tool's `run`; build the kit first, here, with network):
#   bash scripts/make-gpu-kit.sh
#   run  command: bash scripts/gpu-check.sh
#        carry:   ["kit"]
#        timeout_s: 560
# (the script keeps itself to GPU_CHECK_BUDGET_S=450 s; results come back in $OUT: gpu-check.log,
# results.json, raw.tar.gz; without $OUT they go to ./gpu-results/)
#
# Steps, each under `timeout`, each saying what failed:
#   1. probe       the adapter Dawn sees: vendor, architecture, limits, subgroups, a compute round
#                  trip, the Vulkan libraries loaded (kit/probe.mjs); then `gatv2 backends --json`
#   2. gradcheck   `gatv2 gradcheck --fixture <PyG fixtures> --backend webgpu` (must pass), then
#                  gradcheck-large: a random layer of 8,300 nodes with a hub of 400 extra in-edges
#                  (must pass): the paths small graphs never take, the weight-gradient kernel of
#                  tall inputs (kernels/webgpu/weight-grad.ts) and the hub (workgroup) programs
#   2b. determinism the same training steps (forward, backward, Adam) on the ogbn-arxiv-sized graph
#                  with power-law in-degrees (hubs), in two processes: the parameters' digests must
#                  be equal (`bench --json` paramsDigest); then `gatv2 train --dataset cora --backend
#                  webgpu --epochs 200` twice: test accuracy and time, and every epoch's numbers the
#                  same in both runs (must pass)
#   3. bench       `gatv2 bench --backend webgpu`, analytic and autograd: Cora (2 layers, 8 heads x 8)
#                  and a synthetic graph of ogbn-arxiv's size (169,343 nodes, 1,166,243 edges + self
#                  loops, 128 features, 40 classes; 3 layers of 8 heads x 32, the GATv2 paper's model)
#   4. pyg         where python3 has torch and torch_geometric: the same graphs and models through
#                  PyG's GATv2Conv on CUDA (scripts/pyg-compare.py, CUDA synchronised, same warm-up
#                  and steps); skipped with a message otherwise
#   (3b. bench-arxivpl-analytic and pyg-arxivpl, optional, with the time left: the same size with
#        power-law in-degrees, ours and PyG's)
#   5. report      results.json into $OUT (or ./gpu-results/), the tables, and last a verdict: ours vs
#                  PyG CUDA step time and peak memory on the arxiv-sized graph (3 layers 8x32), the
#                  large gradcheck, determinism yes/no, the Cora runs
# Exit 0 when every required step passed (probe on a hardware adapter where nvidia-smi sees a GPU,
# backends, both gradchecks, determinism, the Cora runs, the four bench runs); PyG is optional.
#
# Vulkan: the system's loader (libvulkan.so.1) where it has one, else the kit's. The driver: what
# the loader finds by itself; only where it would find none (no manifest in the standard folders,
# VK_DRIVER_FILES unset) is VK_DRIVER_FILES pointed at NVIDIA's manifest under /usr/local/nvidia.
#
# Environment:
#   GPU_CHECK_QUICK=1       tiny sizes (arxiv-like graph of 2,000 nodes, 2 steps after 1 warm-up,
#                           Cora for GPU_CHECK_CORA_EPOCHS=10 epochs instead of 200):
#                           a rehearsal on lavapipe (Mesa's software Vulkan) in a few minutes
#   GPU_CHECK_NODE=auto     auto: `node` on PATH if it is Node >= 20, else the kit's; kit; system
#   GPU_CHECK_CLI=...       run this CLI instead of the kit's bundle (e.g. "node bin/gatv2.js")
#   GPU_CHECK_KIT=kit       the kit folder; GPU_CHECK_RUNDIR: where it is unpacked (default
#                           ${TMPDIR:-/tmp}/gatv2-kit-run; never inside kit/, which must stay small)
#   GPU_CHECK_BUDGET_S=450  the whole run's time; each step's limit is cut to what is left
#   GPU_CHECK_STEPS, GPU_CHECK_WARMUP, GPU_CHECK_ARXIV_NODES, GPU_CHECK_ARXIV_FEATURES: sizes
#   GPU_CHECK_PYTHON=python3, GPU_CHECK_PYG_DEVICE=auto (cuda where torch sees one, else cpu),
#   GPU_CHECK_SKIP_PYG=1    leave step 4 out
#   GPU_CHECK_KIT_LIBS=1    use the kit's libvulkan, libGLdispatch and libstdc++ even where the
#                           system has its own (a test of the kit; by default only missing ones)
#   GPU_CHECK_NO_DPKG=1     never unpack kit/debs into / (the last resort when no NVIDIA adapter shows)
#   GPU_CHECK_REQUIRE_GPU   1: the adapter must be a hardware one (default: 1 where nvidia-smi -L
#                           lists a GPU, else 0)
#
# Offline rehearsal here, against lavapipe, with the kit's node and bundle only (no node_modules,
# no dist/, the system node hidden behind a failing fake), from a copy of what travels:
#   bash scripts/make-gpu-kit.sh
#   rm -rf /tmp/rehearsal && mkdir -p /tmp/rehearsal /tmp/fakenode &&
#   git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t /tmp/rehearsal && cp -r kit /tmp/rehearsal/ &&
#   printf '#!/bin/sh\nexit 127\n' > /tmp/fakenode/node && chmod +x /tmp/fakenode/node &&
#   (cd /tmp/rehearsal && PATH=/tmp/fakenode:$PATH GPU_CHECK_QUICK=1 GPU_CHECK_KIT_LIBS=1 bash scripts/gpu-check.sh)
# (add GPU_CHECK_PYTHON=/path/to/python for a python with torch + torch_geometric: PyG then runs on the CPU)
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 1
OUTDIR=${OUT:-$root/gpu-results}
mkdir -p "$OUTDIR" || exit 1
LOG="$OUTDIR/gpu-check.log"

main() {
  local START=$SECONDS
  local BUDGET=${GPU_CHECK_BUDGET_S:-450}
  local RESERVE=12
  local QUICK=${GPU_CHECK_QUICK:-0}
  [ "$QUICK" = 0 ] || [ "$QUICK" = "" ] && QUICK=0 || QUICK=1
  local WORK
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/gatv2-gpu-check.XXXXXX") || { echo "gpu-check: cannot make a scratch folder"; return 1; }
  : > "$WORK/steps.jsonl"
  echo "gpu-check: $(date -u +%Y-%m-%dT%H:%M:%SZ), mode $([ "$QUICK" = 1 ] && echo quick || echo full), budget ${BUDGET}s, results in $OUTDIR"

  # ---------------------------------------------------------------- helpers
  esc() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; printf '%s' "$s" | tr '\n\t\r' '   '; }
  record() { # step status seconds rc required note [smiPeakMiB]
    printf '{"step":"%s","status":"%s","seconds":%s,"rc":%s,"required":%s,"note":"%s","smiPeakMiB":%s}\n' \
      "$1" "$2" "$3" "$4" "$([ "$5" = 1 ] && echo true || echo false)" "$(esc "$6")" "${7:-null}" >> "$WORK/steps.jsonl"
  }
  left() { echo $((BUDGET - (SECONDS - START) - RESERVE)); }
  unxz_to() { # file.xz dest
    if command -v xz >/dev/null 2>&1; then xz -dc "$1" > "$2"
    elif command -v python3 >/dev/null 2>&1; then python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"
    else echo "gpu-check: neither xz nor python3 is here to unpack $1"; return 1; fi
  }
  ldcache() { { /sbin/ldconfig -p 2>/dev/null || ldconfig -p 2>/dev/null; } | grep -F "(libc6,x86-64)"; }
  haslib() { ldcache | grep -qF "	$1 (" || [ -e "/usr/lib/x86_64-linux-gnu/$1" ] || [ -e "/lib/x86_64-linux-gnu/$1" ] || [ -e "/usr/lib64/$1" ]; }

  # Seconds since the epoch, with decimals where bash has EPOCHREALTIME (5.0+).
  now() { printf '%s' "${EPOCHREALTIME:-$(date +%s)}"; }
  elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

  # run_step NAME KIND CAP REQUIRED CMD...: stdout to $WORK/NAME.out, stderr to $WORK/NAME.err and
  # (its first 60 lines) live into the log. Then `kit-report.mjs summary KIND $SUMMARY_FILE` says
  # what came out and whether it shows a failure; WebGPU errors on stderr fail the step too (the CLI
  # goes on after one, with wrong numbers). Where nvidia-smi works, GPU memory in use is sampled
  # every 200 ms during the step and its maximum recorded (smiPeakMiB).
  run_step() {
    local name=$1 kind=$2 cap=$3 req=$4; shift 4
    local t; t=$(left)
    [ "$t" -gt "$cap" ] && t=$cap
    echo
    if [ "$t" -lt 10 ]; then
      echo "== [$name] SKIPPED: no time left in the ${BUDGET}s budget"
      record "$name" skip 0 0 "$req" "no time left in the ${BUDGET}s budget"
      return 1
    fi
    echo "== [$name] $(date +%H:%M:%S), limit ${t}s: $*"
    local smipid=""
    if [ -n "$gpu_name" ] && [ "$kind" != probe ]; then
      "$SMI" --query-gpu=memory.used --format=csv,noheader,nounits -lms 200 > "$WORK/$name.smi" 2>/dev/null &
      smipid=$!
    fi
    local t0; t0=$(now)
    local rc
    timeout -k 10 "$t" "$@" 2>&1 >"$WORK/$name.out" | tee "$WORK/$name.err" |
      awk -v max=60 -v name="$name" '/artificially reduced from/ { next } { if (++n <= max) { print "  | " $0; fflush() } }
        END { if (n > max) print "  | ... " n - max " more lines of stderr: " name ".err in raw.tar.gz" }'
    rc=${PIPESTATUS[0]}
    local secs; secs=$(elapsed "$t0")
    local smipeak=null
    if [ -n "$smipid" ]; then
      kill "$smipid" 2>/dev/null; wait "$smipid" 2>/dev/null
      smipeak=$(awk 'BEGIN { m = -1 } $1 + 0 > m { m = $1 + 0 } END { print (m < 0 ? "null" : m) }' "$WORK/$name.smi")
    fi
    local status note sumrc=0 summ gpuerr
    if [ "$kind" = pyg ]; then sed 's/^/  /' "$WORK/$name.out"; fi
    summ=$($REPORT summary "$kind" "$WORK/$SUMMARY_FILE" 2>&1) || sumrc=$?
    [ -n "$summ" ] && printf '%s\n' "$summ" | sed 's/^/  /'
    gpuerr=$(grep -c -E '^gatv2: WebGPU (error|device lost)' "$WORK/$name.err")
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then status=timeout; note="killed after ${t}s (timeout)"
    elif [ "$rc" != 0 ]; then status=fail; note="exit $rc: $(grep -v 'artificially reduced' "$WORK/$name.err" | grep . | tail -n 1 | cut -c1-150)"
    elif [ "$gpuerr" != 0 ]; then status=fail; note="$gpuerr WebGPU errors, first: $(grep -m1 -A1 -E '^gatv2: WebGPU (error|device lost)' "$WORK/$name.err" | tr '\n' ' ' | sed 's/gatv2: WebGPU //' | cut -c1-150)"
    elif [ "$sumrc" != 0 ]; then status=fail; note=$(printf '%s' "$summ" | grep -m1 -E 'FAIL|STOPPED|no adapter|not available|no result|no JSON|did not run' | cut -c1-150)
      [ -n "$note" ] || note="output shows a failure"
    else status=ok; note=$(printf '%s' "$summ" | head -n 1 | cut -c1-150); fi
    echo "== [$name] $status in ${secs}s${note:+: $note}"
    record "$name" "$status" "$secs" "$rc" "$req" "$note" "$smipeak"
    [ "$status" = ok ]
  }

  # ---------------------------------------------------------------- machine
  local machine
  gpu_name=""
  SMI=$(command -v nvidia-smi 2>/dev/null || { [ -x /usr/local/nvidia/bin/nvidia-smi ] && echo /usr/local/nvidia/bin/nvidia-smi; })
  if [ -n "$SMI" ]; then
    gpu_name=$(timeout 20 "$SMI" --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -n 1)
  fi
  local REQUIRE_GPU=${GPU_CHECK_REQUIRE_GPU:-$([ -n "$gpu_name" ] && echo 1 || echo 0)}
  machine="$(uname -srm); $(nproc) CPUs; ${gpu_name:-no nvidia-smi GPU}; $(ldd --version 2>/dev/null | head -n 1 | sed 's/.*) //;s/^/glibc /')"
  echo "machine: $machine"
  { echo "machine: $machine"; echo "user: $(id -un 2>/dev/null)"; echo "PATH=$PATH"; } > "$WORK/env.txt"

  # ---------------------------------------------------------------- kit, node, libraries
  local KIT=${GPU_CHECK_KIT:-$root/kit} RUN=${GPU_CHECK_RUNDIR:-${TMPDIR:-/tmp}/gatv2-kit-run}
  local NODE="" CLI="" PROBE="" DATASETS="$root/datasets" FIXTURES="$root/test/fixtures/pyg-gatv2"
  REPORT=""
  if [ -f "$KIT/gatv2.mjs" ]; then
    local stamp; stamp=$(cksum < "$KIT/MANIFEST.txt" 2>/dev/null)
    if [ ! -f "$RUN/.stamp" ] || [ "$(cat "$RUN/.stamp")" != "$stamp" ]; then
      echo "unpacking $KIT into $RUN"
      rm -rf "$RUN" && mkdir -p "$RUN" && (cd "$KIT" && tar cf - --exclude='*.xz' .) | (cd "$RUN" && tar xf -) || { echo "gpu-check: cannot copy the kit to $RUN"; return 1; }
      local f
      while IFS= read -r f; do
        unxz_to "$KIT/$f" "$RUN/${f%.xz}" || { echo "gpu-check: cannot unpack $f"; return 1; }
      done < <(cd "$KIT" && find . -name '*.xz' | sed 's|^\./||')
      chmod +x "$RUN/node/bin/node" 2>/dev/null
      echo "$stamp" > "$RUN/.stamp"
    fi
    head -n 5 "$KIT/MANIFEST.txt" | sed 's/^/kit: /' | tee -a "$WORK/env.txt"
    CLI_FILE="$RUN/gatv2.mjs"; PROBE="$RUN/probe.mjs"; REPORT_FILE="$RUN/report.mjs"
    DATASETS="$RUN/datasets"; FIXTURES="$RUN/fixtures/pyg-gatv2"
  elif [ -f "$root/dist/src/cli/main.js" ] && [ -d "$root/node_modules/webgpu" ]; then
    echo "no kit at $KIT: using the repository's build (dist/, node_modules/)"
    CLI_FILE="$root/bin/gatv2.js"; PROBE="$root/scripts/kit-probe.mjs"; REPORT_FILE="$root/scripts/kit-report.mjs"
  else
    echo "gpu-check: no kit at $KIT and no build in dist/: run scripts/make-gpu-kit.sh (with network) first"
    return 1
  fi
  local want=${GPU_CHECK_NODE:-auto} sysnode="" v
  if command -v node >/dev/null 2>&1; then
    v=$(node -e 'process.stdout.write(process.versions.node)' 2>/dev/null) && [ "${v%%.*}" -ge 20 ] 2>/dev/null && sysnode=$(command -v node)
  fi
  case "$want" in
    system) NODE=$sysnode ;;
    kit) NODE="$RUN/node/bin/node" ;;
    *) NODE=${sysnode:-$RUN/node/bin/node} ;;
  esac
  if [ -z "$NODE" ] || ! "$NODE" -e 0 >/dev/null 2>&1; then
    echo "gpu-check: no usable Node (asked: $want; system: ${sysnode:-none}; kit: $RUN/node/bin/node)"; return 1
  fi
  echo "node: $NODE ($("$NODE" --version))" | tee -a "$WORK/env.txt"
  CLI=${GPU_CHECK_CLI:-"$NODE $CLI_FILE"}
  REPORT="$NODE $REPORT_FILE"
  SUMMARY_FILE=""

  # Libraries: the system's where it has them, else the kit's (LD_LIBRARY_PATH; nothing goes to /).
  local ldx="" force=${GPU_CHECK_KIT_LIBS:-0}
  if [ "$force" = 1 ] || ! haslib libvulkan.so.1; then ldx="$ldx:$RUN/lib/vulkan"; echo "libvulkan.so.1: using the kit's ($([ "$force" = 1 ] && echo GPU_CHECK_KIT_LIBS=1 || echo none on the system))"; fi
  if [ "$force" = 1 ] || ! haslib libGLdispatch.so.0; then ldx="$ldx:$RUN/lib/glvnd"; echo "libGLdispatch.so.0: using the kit's"; fi
  local stdcxx; stdcxx=$(ldcache | grep -F 'libstdc++.so.6 (' | sed 's/.*=> //' | head -n 1)
  if [ "$force" = 1 ] || [ -z "$stdcxx" ] || ! grep -qa GLIBCXX_3.4.30 "$stdcxx"; then
    ldx="$ldx:$RUN/lib/compat"
    if [ "$force" = 1 ]; then echo "libstdc++.so.6: using the kit's"
    else echo "libstdc++.so.6: ${stdcxx:-none} lacks GLIBCXX_3.4.30 (dawn.node needs it), using the kit's"; fi
  fi
  local d
  for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do [ -d "$d" ] && ldx="$ldx:$d"; done
  if [ -n "$ldx" ]; then export LD_LIBRARY_PATH="${ldx#:}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"; echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"; fi
  # The Vulkan driver: whatever the loader finds by itself; NVIDIA's manifest (where the loader
  # would not look) only when it would find no driver at all.
  local icd="" found=""
  if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ]; then
    for d in /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/share/vulkan/icd.d; do
      [ -f "$d/nvidia_icd.json" ] && icd="$d/nvidia_icd.json"
      for f in "$d"/*.json; do [ -f "$f" ] && found="$found ${f##*/}"; done
    done
    if [ -n "$found" ]; then
      echo "vulkan drivers the loader finds:$found"
    elif [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
      export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
      echo "no Vulkan driver in the standard folders: VK_DRIVER_FILES=$VK_DRIVER_FILES (NVIDIA's manifest)"
    else
      echo "no Vulkan driver in the standard folders, and no NVIDIA manifest under /usr/local/nvidia"
    fi
  fi
  env | grep -E '^(LD_LIBRARY_PATH|VK_)' >> "$WORK/env.txt"
  # Can NVIDIA's Vulkan driver library be loaded (its manifest names it; ldd lists what it lacks)?
  local man=${VK_DRIVER_FILES:-$icd}
  if [ -n "$man" ] && [ -f "${man%%:*}" ]; then
    man=${man%%:*}
    local icdlib icdpath=""
    icdlib=$(sed -n 's/.*"library_path" *: *"\([^"]*\)".*/\1/p' "$man" | head -n 1)
    case "$icdlib" in
      /*) icdpath=$icdlib ;;
      ?*) icdpath=$(ldcache | grep -F "	$icdlib (" | sed 's/.*=> //' | head -n 1)
          for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do [ -z "$icdpath" ] && [ -e "$d/$icdlib" ] && icdpath="$d/$icdlib"; done ;;
    esac
    if [ -z "$icdpath" ] || [ ! -e "$icdpath" ]; then
      echo "vulkan driver: $man names ${icdlib:-no library}, which is not found"
    else
      local missing; missing=$(ldd "$icdpath" 2>/dev/null | grep 'not found' | awk '{print $1}' | tr '\n' ' ')
      echo "vulkan driver: $man -> $icdpath${missing:+; MISSING: $missing}" | tee -a "$WORK/env.txt"
    fi
  fi

  # ---------------------------------------------------------------- plan
  local STEPS=${GPU_CHECK_STEPS:-$([ "$QUICK" = 1 ] && echo 2 || echo 10)}
  local WARMUP=${GPU_CHECK_WARMUP:-$([ "$QUICK" = 1 ] && echo 1 || echo 3)}
  local AN=${GPU_CHECK_ARXIV_NODES:-$([ "$QUICK" = 1 ] && echo 2000 || echo 169343)}
  local AF=${GPU_CHECK_ARXIV_FEATURES:-128} AD=6.88687 AK=40
  local MAXMS=$([ "$QUICK" = 1 ] && echo 120000 || echo 30000)
  local CORA_EPOCHS=${GPU_CHECK_CORA_EPOCHS:-$([ "$QUICK" = 1 ] && echo 10 || echo 200)}
  local AE; AE=$(awk -v n="$AN" -v d="$AD" 'BEGIN { printf "%d", n * d + 0.5 }')
  local ALABEL="synthetic N=$AN E=$AE uniform" PLABEL="synthetic N=$AN E=$AE power-law"
  cat > "$WORK/plan.json" <<EOF
{"mode": "$([ "$QUICK" = 1 ] && echo quick || echo full)", "startedAt": "$(date -u +%Y-%m-%dT%H:%M:%SZ)", "budgetS": $BUDGET,
 "steps": $STEPS, "warmup": $WARMUP, "coraEpochs": $CORA_EPOCHS, "machine": "$(esc "$machine")", "node": "$(esc "$NODE")", "cli": "$(esc "$CLI")",
 "graphs": [
  {"key": "cora", "label": "cora", "layers": 2, "heads": 8, "hidden": 8},
  {"key": "arxiv", "label": "$ALABEL", "layers": 3, "heads": 8, "hidden": 32, "nodes": $AN, "avgDegree": $AD, "features": $AF, "classes": $AK},
  {"key": "arxivpl", "label": "$PLABEL", "modes": ["analytic"], "layers": 3, "heads": 8, "hidden": 32, "nodes": $AN, "avgDegree": $AD, "features": $AF, "classes": $AK}
 ]}
EOF
  local common=(--backend webgpu --steps "$STEPS" --warmup "$WARMUP" --kernels 8 --max-step-ms "$MAXMS" --json)
  local arxiv=(--nodes "$AN" --avg-degree "$AD" --features "$AF" --classes "$AK" --layers 3 --heads 8 --hidden 32)

  # ---------------------------------------------------------------- 1. adapter
  SUMMARY_FILE=probe.out
  run_step probe probe 60 1 "$NODE" "$PROBE"
  cp "$WORK/probe.out" "$WORK/probe.json" 2>/dev/null
  # The probe's first lines: "vendor": "nvidia", "hardware": true (false for lavapipe and the like).
  local vendor hw
  probed() { vendor=$(grep -m1 '"vendor"' "$WORK/probe.json" 2>/dev/null | sed 's/.*: "\(.*\)".*/\1/'); hw=$(grep -c '"hardware": true' "$WORK/probe.json" 2>/dev/null); hw=${hw:-0}; }
  probed
  if [ "$REQUIRE_GPU" = 1 ] && [ "$hw" = 0 ]; then
    # Not on the GPU: try NVIDIA's driver manifest wherever it is, with the loader's diagnostics.
    local m; m=$(ls /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json 2>/dev/null | head -n 1)
    echo "the probe found ${vendor:-no adapter}${vendor:+ (software)} on a machine with an NVIDIA GPU; retrying with VK_DRIVER_FILES=${m:-<no nvidia_icd.json found>} VK_LOADER_DEBUG=error,warn"
    if [ -n "$m" ]; then
      export VK_DRIVER_FILES=$m
      SUMMARY_FILE=probe-retry.out
      VK_LOADER_DEBUG=error,warn run_step probe-retry probe 60 0 "$NODE" "$PROBE" && cp "$WORK/probe-retry.out" "$WORK/probe.json"
      probed
    fi
  fi
  local debs=""
  for f in "$KIT"/debs/*.deb "$root"/.gl/*.deb; do [ -f "$f" ] && debs="$debs $f"; done
  if [ "$REQUIRE_GPU" = 1 ] && [ "$hw" = 0 ] &&
     [ -n "$debs" ] && [ "$(id -u)" = 0 ] && command -v dpkg >/dev/null 2>&1 && [ "${GPU_CHECK_NO_DPKG:-0}" = 0 ]; then
    # Last resort, the device README's recipe: unpack the loader packages into / and refresh the cache.
    echo "unpacking the Vulkan loader packages into / (device README recipe):$debs"
    for f in $debs; do dpkg -x "$f" / || echo "dpkg -x $f failed"; done
    ldconfig 2>/dev/null
    SUMMARY_FILE=probe-dpkg.out
    VK_LOADER_DEBUG=error,warn run_step probe-dpkg probe 60 0 "$NODE" "$PROBE" && cp "$WORK/probe-dpkg.out" "$WORK/probe.json"
    probed
  fi
  if [ "$REQUIRE_GPU" = 1 ] && [ "$hw" = 0 ]; then
    echo "== FAIL: Dawn does not see the NVIDIA GPU (adapter: ${vendor:-none}); the webgpu steps below run on whatever it has"
    record gpu-adapter fail 0 0 1 "a GPU is there (nvidia-smi) but Dawn's adapter is ${vendor:-none}"
  fi
  SUMMARY_FILE=backends.out
  run_step backends backends 90 1 $CLI backends --json
  cp "$WORK/backends.out" "$WORK/backends.json" 2>/dev/null

  # ---------------------------------------------------------------- 2. gradcheck
  SUMMARY_FILE=gradcheck.out
  run_step gradcheck gradcheck 120 1 $CLI gradcheck --fixture "$FIXTURES" --backend webgpu --json
  cp "$WORK/gradcheck.out" "$WORK/gradcheck.json" 2>/dev/null
  # N >= 2 x 4096 rows (src/ops/linear.ts SPLIT_ROWS); few features and FD entries keep the float64
  # reference and the finite differences (JavaScript, on the host) to seconds.
  SUMMARY_FILE=gradcheck-large.out
  run_step gradcheck-large gradcheck 90 1 $CLI gradcheck --backend webgpu --nodes 8300 --edges 30000 --heads 8 \
    --features 8 --channels 4 --hub 400 --fd-entries 4 --json
  cp "$WORK/gradcheck-large.out" "$WORK/gradcheck-large.json" 2>/dev/null

  # ---------------------------------------------------------------- 2b. determinism, Cora training
  # same_step NAME KIND A B: the two runs' numbers equal (kit-report.mjs same), recorded as a step.
  same_step() {
    local name=$1 kind=$2 rc=0 txt
    txt=$($REPORT same "$kind" "$3" "$4" "$WORK/$name.json" 2>&1) || rc=$?
    echo; echo "== [$name] $([ "$rc" = 0 ] && echo ok || echo fail): $txt"
    record "$name" "$([ "$rc" = 0 ] && echo ok || echo fail)" 0 "$rc" 1 "$txt"
  }
  # A few steps on the arxiv-sized graph with hubs (power-law in-degrees: the hub programs run),
  # twice, each in its own process: equal digests of the parameters they end with.
  local det=(bench "${arxiv[@]}" --distribution power-law --grad analytic --backend webgpu --steps 2 --warmup 1 --kernels 0 --json)
  SUMMARY_FILE=det-a.out
  run_step det-a bench 120 1 $CLI "${det[@]}"
  SUMMARY_FILE=det-b.out
  run_step det-b bench 120 1 $CLI "${det[@]}"
  same_step same-bench digest "$WORK/det-a.out" "$WORK/det-b.out"
  # A real training run, twice: accuracy and time, and the same numbers every epoch.
  local k
  for k in a b; do
    SUMMARY_FILE=train-$k.out
    run_step "train-$k" train 150 1 $CLI train --dataset cora --backend webgpu --epochs "$CORA_EPOCHS" --seed 0 --json --out "$WORK/cora-$k"
  done
  same_step same-train train "$WORK/train-a.out" "$WORK/train-b.out"

  # ---------------------------------------------------------------- 3. bench (and 4. PyG beside it)
  SUMMARY_FILE=bench-cora.out
  run_step bench-cora bench 120 1 $CLI bench --dataset cora --layers 2 --heads 8 --hidden 8 --grad analytic autograd "${common[@]}"
  cp "$WORK/bench-cora.out" "$WORK/bench-cora.jsonl" 2>/dev/null
  SUMMARY_FILE=bench-arxiv-analytic.out
  run_step bench-arxiv-analytic bench 150 1 $CLI bench "${arxiv[@]}" --grad analytic "${common[@]}"
  cp "$WORK/bench-arxiv-analytic.out" "$WORK/bench-arxiv-analytic.jsonl" 2>/dev/null

  local PY=${GPU_CHECK_PYTHON:-python3} pydev=${GPU_CHECK_PYG_DEVICE:-auto} havepyg=0 pyinfo
  if [ "${GPU_CHECK_SKIP_PYG:-0}" != 0 ]; then
    echo; echo "== [pyg] skipped: GPU_CHECK_SKIP_PYG is set"; record pyg skip 0 0 0 "GPU_CHECK_SKIP_PYG is set"
  elif ! command -v "$PY" >/dev/null 2>&1; then
    echo; echo "== [pyg] skipped: no $PY on this machine"; record pyg skip 0 0 0 "no $PY"
  elif ! pyinfo=$(timeout 90 "$PY" -c 'import torch, torch_geometric; print(torch.__version__, torch_geometric.__version__, "cuda" if torch.cuda.is_available() else "cpu", torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")' 2>&1); then
    echo; echo "== [pyg] skipped: $PY has no torch + torch_geometric ($(printf '%s' "$pyinfo" | tail -n 1))"
    record pyg skip 0 0 0 "$PY lacks torch or torch_geometric: $(printf '%s' "$pyinfo" | tail -n 1)"
  else
    havepyg=1
    [ "$pydev" = auto ] && pydev=$(printf '%s' "$pyinfo" | tail -n 1 | awk '{print $3}')
    echo; echo "pyg: torch $(printf '%s' "$pyinfo" | tail -n 1 | awk '{print $1}'), torch_geometric $(printf '%s' "$pyinfo" | tail -n 1 | awk '{print $2}'), device $pydev"
    echo "python: $pyinfo" >> "$WORK/env.txt"
    [ "$pydev" = cuda ] || echo "pyg: NOTE no CUDA device in torch: PyG runs on $pydev, its times are not GPU times"
  fi
  local pyc=("$PY" "$root/scripts/pyg-compare.py" --device "$pydev" --steps "$STEPS" --warmup "$WARMUP" --datasets-dir "$DATASETS")
  if [ "$havepyg" = 1 ]; then
    SUMMARY_FILE=pyg-cora.json
    PYTHONUNBUFFERED=1 run_step pyg-cora pyg 90 0 "${pyc[@]}" --dataset cora --layers 2 --heads 8 --hidden 8 \
      --ours-json "$WORK/bench-cora.jsonl" --json "$WORK/pyg-cora.json"
    SUMMARY_FILE=pyg-arxiv.json
    PYTHONUNBUFFERED=1 run_step pyg-arxiv pyg 150 0 "${pyc[@]}" --nodes "$AN" --avg-degree "$AD" --features "$AF" --classes "$AK" \
      --layers 3 --heads 8 --hidden 32 --ours-json "$WORK/bench-arxiv-analytic.jsonl" --json "$WORK/pyg-arxiv.json"
  fi
  SUMMARY_FILE=bench-arxiv-autograd.out
  run_step bench-arxiv-autograd bench 150 1 $CLI bench "${arxiv[@]}" --grad autograd "${common[@]}"
  cp "$WORK/bench-arxiv-autograd.out" "$WORK/bench-arxiv-autograd.jsonl" 2>/dev/null
  # Optional, last: the same size with power-law in-degrees (real citation graphs have hubs, which
  # the workgroup programs take), ours analytic and PyG's.
  SUMMARY_FILE=bench-arxivpl-analytic.out
  run_step bench-arxivpl-analytic bench 120 0 $CLI bench "${arxiv[@]}" --distribution power-law --grad analytic "${common[@]}"
  cp "$WORK/bench-arxivpl-analytic.out" "$WORK/bench-arxivpl-analytic.jsonl" 2>/dev/null
  if [ "$havepyg" = 1 ]; then
    SUMMARY_FILE=pyg-arxivpl.json
    PYTHONUNBUFFERED=1 run_step pyg-arxivpl pyg 120 0 "${pyc[@]}" --nodes "$AN" --avg-degree "$AD" --features "$AF" --classes "$AK" \
      --layers 3 --heads 8 --hidden 32 --distribution power-law --ours-json "$WORK/bench-arxivpl-analytic.jsonl" --json "$WORK/pyg-arxivpl.json"
  fi

  # ---------------------------------------------------------------- 5. report
  tar czf "$OUTDIR/raw.tar.gz" -C "$WORK" . 2>/dev/null
  echo
  echo "results: $OUTDIR/results.json, log: $LOG, every step's raw output: $OUTDIR/raw.tar.gz ($((SECONDS - START))s in all)"
  local rc=0
  $REPORT final "$WORK" "$OUTDIR/results.json" || rc=$?
  if [ ! -s "$OUTDIR/results.json" ]; then
    echo "gpu-check: the report failed; the steps were:"; cat "$WORK/steps.jsonl"; rc=1
  fi
  rm -rf "$WORK"
  return "$rc"
}

main "$@" 2>&1 | tee "$LOG"
exit "${PIPESTATUS[0]}"
