#!/usr/bin/env python3
"""Times the same GATv2 training step in this project (`gatv2 bench --json`) and in PyTorch
Geometric's GATv2Conv, on the same synthetic graph (or Cora), and prints both in one table.

The synthetic graph is rebuilt here with the same seeded generator as src/graph/synthetic.ts
(mulberry32), so both sides train on identical edges. PyG gets the same model: GATv2 layers of
H heads x C channels, ELU, dropout 0.6 on inputs and attention, mean output head, Adam; one step
is forward + backward + update, with the loss read back (and CUDA synchronised) before the clock
stops. Without torch / torch_geometric the script says so and times this project alone.

The model on both sides (src/model/network.ts, DEFAULT_MODEL): --layers GATv2 layers; each hidden
layer has --heads heads of --hidden channels, concatenated (width heads x hidden); the output layer
has 1 head of `classes` channels (mean); ELU between layers. E.g. the GATv2 paper's ogbn-arxiv model
is --layers 3 --heads 8 --hidden 32 --classes 40.

Our side can also come from an earlier run: --ours-json FILE (the JSON lines `gatv2 bench --json`
printed; repeatable) reads its result lines instead of running the CLI, and --skip-ours times PyG
alone. scripts/gpu-check.sh uses both, so each side runs once.

usage: python3 scripts/pyg-compare.py [--dataset cora | --nodes 100000 --avg-degree 10 --features 128
           --classes 16] [--heads 8] [--hidden 8] [--layers 2] [--steps 10] [--warmup 3]
           [--backend auto] [--device auto|cpu|cuda] [--cli "node bin/gatv2.js"]
           [--ours-json bench.jsonl ... | --skip-ours] [--datasets-dir DIR] [--json out.json]
"""
import argparse
import json
import math
import shlex
import statistics
import subprocess
import sys
import time


def mulberry32(seed):
    a = seed & 0xFFFFFFFF

    def imul(x, y):
        return (x * y) & 0xFFFFFFFF

    def nxt():
        nonlocal a
        a = (a + 0x6D2B79F5) & 0xFFFFFFFF
        t = a
        t = imul(t ^ (t >> 15), t | 1)
        t ^= (t + imul(t ^ (t >> 7), t | 61)) & 0xFFFFFFFF
        return ((t ^ (t >> 14)) & 0xFFFFFFFF) / 4294967296.0

    return nxt


def js_round(v):
    """JavaScript's Math.round (halves go up; Python's round() goes to even)."""
    return math.floor(v + 0.5)


def mulberry32_block(seed, count):
    """The first `count` draws of mulberry32(seed) at once (numpy): draw k depends only on
    seed + k * 0x6D2B79F5, so no loop is needed. None when numpy is missing."""
    try:
        import numpy as np
    except ImportError:
        return None
    with np.errstate(over="ignore"):
        k = np.arange(1, count + 1, dtype=np.uint64)
        a = (((seed & 0xFFFFFFFF) + k * np.uint64(0x6D2B79F5)) & np.uint64(0xFFFFFFFF)).astype(np.uint32)
        t = (a ^ (a >> np.uint32(15))) * (a | np.uint32(1))
        t ^= t + (t ^ (t >> np.uint32(7))) * (t | np.uint32(61))
        return (t ^ (t >> np.uint32(14))).astype(np.float64) / 4294967296.0


def synthetic_graph(num_nodes, avg_degree, distribution, seed, skew=3.0):
    """Same draws, in the same order, as syntheticGraph in src/graph/synthetic.ts."""
    num_edges = js_round(num_nodes * avg_degree)
    draws = mulberry32_block(seed, 2 * num_edges)
    if draws is not None:
        import numpy as np
        src = np.floor(draws[0::2] * num_nodes).astype(np.int64)
        if distribution == "uniform":
            dst = np.floor(draws[1::2] * num_nodes).astype(np.int64)
        else:
            dst = np.minimum(num_nodes - 1, np.floor(num_nodes * draws[1::2] ** skew)).astype(np.int64)
        return src, dst
    rnd = mulberry32(seed)
    src, dst = [0] * num_edges, [0] * num_edges
    for k in range(num_edges):
        src[k] = math.floor(rnd() * num_nodes)
        if distribution == "uniform":
            dst[k] = math.floor(rnd() * num_nodes)
        else:
            dst[k] = min(num_nodes - 1, math.floor(num_nodes * rnd() ** skew))
    return src, dst


def read_ours(files):
    """Result lines of `gatv2 bench --json` output saved in files (other lines are skipped)."""
    rows = []
    for path in files:
        with open(path) as f:
            for line in f:
                if line.startswith("{"):
                    try:
                        r = json.loads(line)
                    except ValueError:
                        continue
                    if r.get("type") == "result":
                        rows.append(r)
    return rows


def peak_bytes(r):
    """The peak memory to compare: PyG's torch.cuda.max_memory_allocated (its peakTensorBytes); ours,
    the GPU buffer bytes in use on webgpu (peakGpuBytesInUse), else the bytes of distinct tensor
    buffers (peakDataBytes); peakTensorBytes (tf.profile's peakBytes, which counts a buffer once per
    tensor sharing it) only for results written before those fields existed."""
    if r.get("backend", "").startswith("pyg"):
        return r.get("peakTensorBytes")
    for k in ("peakGpuBytesInUse", "peakDataBytes", "peakTensorBytes"):
        if r.get(k):
            return r[k]
    return None


def pool_bytes(r):
    """Memory held including the allocator's free pool: torch max_memory_reserved / our gpuPoolBytes."""
    return r.get("peakReservedBytes") if r.get("backend", "").startswith("pyg") else r.get("gpuPoolBytes")


def run_ours(args):
    if args.skip_ours:
        return []
    if args.ours_json:
        return read_ours(args.ours_json)
    cmd = shlex.split(args.cli) + [
        "bench", "--json", "--backend", args.backend, "--steps", str(args.steps), "--warmup", str(args.warmup),
        "--heads", str(args.heads), "--hidden", str(args.hidden), "--layers", str(args.layers), "--kernels", "0",
        "--grad", "analytic", "autograd",
    ]
    if args.dataset:
        cmd += ["--dataset", args.dataset]
    else:
        cmd += ["--nodes", str(args.nodes), "--avg-degree", str(args.avg_degree), "--features", str(args.features),
                "--classes", str(args.classes), "--distribution", args.distribution, "--seed", str(args.seed)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
    lines = [json.loads(l) for l in done.stdout.splitlines() if l.startswith("{")]
    results = [l for l in lines if l.get("type") == "result"]
    if done.returncode != 0:
        # The CLI stops a mode it cannot run (the autograd twin past the wasm heap, exit 2) after
        # printing the modes it did run: keep those, and say why the rest is missing.
        why = done.stderr.strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
        if not results:
            raise SystemExit(f"pyg-compare: {' '.join(cmd)} failed: {why[0]}")
        print(f"note: our bench stopped early ({why[0]}); showing the modes it ran", file=sys.stderr)
    return results


def run_pyg(args):
    try:
        import torch
        import torch.nn.functional as F
        from torch_geometric.nn import GATv2Conv
    except ImportError as e:
        return None, f"PyG not available ({e}); install torch and torch_geometric to compare"
    device = torch.device(args.device if args.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cuda" and not torch.cuda.is_available():
        return None, f"--device cuda, but torch {torch.__version__} sees no CUDA device"
    torch.manual_seed(args.seed)
    if args.dataset:
        from pathlib import Path
        import csv
        root = Path(args.datasets_dir or Path(__file__).resolve().parent.parent / "datasets") / args.dataset
        ids = {}
        labels = []
        train = []
        with open(root / "nodes.csv") as f:
            for i, row in enumerate(csv.DictReader(f)):
                ids[row["id"]] = i
                labels.append(int(row["label"]) if row["label"] != "" else 0)
                if row["split"] == "train":
                    train.append(i)
        n = len(ids)
        src, dst = [], []
        with open(root / "edges.csv") as f:
            for row in csv.DictReader(f):
                src.append(ids[row["source"]])
                dst.append(ids[row["target"]])
        rows, cols = [], []
        with open(root / "features.csv") as f:
            for row in csv.DictReader(f):
                rows.append(ids[row["node"]])
                cols.append(int(row["feature"]))
        nf = max(cols) + 1
        x = torch.zeros(n, nf)
        x[rows, cols] = 1.0
        x = x / x.sum(1, keepdim=True).clamp(min=1)
        y = torch.tensor(labels)
        classes = int(y.max()) + 1
        mask = torch.tensor(train)
        label = args.dataset
    else:
        n = args.nodes
        src, dst = synthetic_graph(n, args.avg_degree, args.distribution, args.seed)
        src, dst = torch.as_tensor(src, dtype=torch.long), torch.as_tensor(dst, dtype=torch.long)
        x = torch.randn(n, args.features)
        classes = args.classes
        y = torch.randint(0, classes, (n,))
        mask = torch.arange(n)
        label = f"synthetic N={n} E={len(src)} {args.distribution}"
    edge_index = torch.stack([torch.as_tensor(src, dtype=torch.long), torch.as_tensor(dst, dtype=torch.long)])
    # PyG removes the graph's own self loops and adds one per node: the edges each layer attends over.
    e = int((edge_index[0] != edge_index[1]).sum()) + n
    x, y, mask, edge_index = x.to(device), y.to(device), mask.to(device), edge_index.to(device)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.convs = torch.nn.ModuleList()
            width = x.shape[1]
            for l in range(args.layers):
                last = l == args.layers - 1
                conv = GATv2Conv(width, classes if last else args.hidden, heads=1 if last else args.heads,
                                 concat=not last, dropout=0.6)
                self.convs.append(conv)
                width = args.hidden * args.heads

        def forward(self, x, edge_index):
            for l, conv in enumerate(self.convs):
                x = F.dropout(x, p=0.6, training=self.training)
                x = conv(x, edge_index)
                if l < len(self.convs) - 1:
                    x = F.elu(x)
            return x

    model = Net().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=0.005, weight_decay=5e-4)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    def step():
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = F.cross_entropy(model(x, edge_index)[mask], y[mask])
        loss.backward()
        opt.step()
        loss.item()
        sync()
        return (time.perf_counter() - t0) * 1000

    model.train()
    sync()
    for _ in range(args.warmup):
        step()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    times = [step() for _ in range(args.steps)]
    peak = torch.cuda.max_memory_allocated() if device.type == "cuda" else None
    reserved = torch.cuda.max_memory_reserved() if device.type == "cuda" else None
    med = statistics.median(times)
    q = sorted(times)
    import torch_geometric
    return {"type": "result", "graph": label, "backend": f"pyg-{device.type}", "mode": "autograd", "numNodes": n,
            "numEdges": e, "layers": args.layers, "steps": len(times), "warmup": args.warmup,
            "model": {"layers": args.layers, "heads": args.heads, "hidden": args.hidden, "classes": classes,
                      "features": int(x.shape[1])},
            "stepMs": {"median": med, "min": q[0], "max": q[-1], "p25": q[int(0.25 * (len(q) - 1) + 0.5)],
                       "p75": q[int(0.75 * (len(q) - 1) + 0.5)]},
            "edgesPerSecond": e * args.layers / (med / 1000), "peakTensorBytes": peak, "peakReservedBytes": reserved,
            "params": sum(p.numel() for p in model.parameters()),
            "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
            "torch": torch.__version__, "torch_geometric": torch_geometric.__version__}, None


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset")
    p.add_argument("--nodes", type=int, default=100000)
    p.add_argument("--avg-degree", type=float, default=10)
    p.add_argument("--features", type=int, default=128)
    p.add_argument("--classes", type=int, default=16)
    p.add_argument("--distribution", default="uniform", choices=["uniform", "power-law"])
    p.add_argument("--heads", type=int, default=8)
    p.add_argument("--hidden", type=int, default=8)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--backend", default="auto")
    p.add_argument("--device", default="auto")
    p.add_argument("--cli", default="node bin/gatv2.js")
    p.add_argument("--ours-json", action="append", metavar="FILE",
                   help="read our results from `gatv2 bench --json` output instead of running the CLI (repeatable)")
    p.add_argument("--skip-ours", action="store_true", help="time PyG only")
    p.add_argument("--datasets-dir", help="folder holding the built-in datasets (default: the repository's datasets/)")
    p.add_argument("--timeout", type=int, default=1800)
    p.add_argument("--json")
    args = p.parse_args()

    rows = run_ours(args)
    label = args.dataset or f"synthetic N={args.nodes} E={js_round(args.nodes * args.avg_degree)} {args.distribution}"
    rows = [r for r in rows if r.get("graph") == label] if args.ours_json else rows
    pyg, why = run_pyg(args)
    if pyg:
        rows.append(pyg)
    else:
        print(why, file=sys.stderr)
    model = f"{args.layers} layers, {args.heads} heads x {args.hidden}"
    print(f"{label}, {model}; median of {args.steps} steps after {args.warmup} warm-up")
    pools = any(pool_bytes(r) for r in rows)
    print(f"{'who':<22}{'grad':<10}{'edges':>10}{'step ms':>10}{'Medges/s':>10}{'peak MB':>10}"
          f"{'time/PyG':>10}{'mem/PyG':>9}" + (f"{'pool MB':>10}{'pool/PyG':>10}" if pools else ""))
    nan = float("nan")
    for r in rows:
        who = r["backend"] if r["backend"].startswith("pyg") else f"gatv2 {r['backend']}"
        peak = peak_bytes(r)
        pool = pool_bytes(r)
        ms = r["stepMs"]["median"] if r["stepMs"]["median"] is not None else nan  # NaN is null in JSON
        eps = r["edgesPerSecond"] if r.get("edgesPerSecond") is not None else nan
        ratio = mem = pool_ratio = ""
        if pyg and r is not pyg:
            ratio = f"{ms / pyg['stepMs']['median']:.2f}x"
            mem = f"{peak / peak_bytes(pyg):.2f}x" if peak and peak_bytes(pyg) else ""
            pool_ratio = f"{pool / pool_bytes(pyg):.2f}x" if pool and pool_bytes(pyg) else ""
        note = f"  ({r['stopped']})" if r.get("stopped") else ""
        print(f"{who:<22}{r['mode']:<10}{r['numEdges']:>10}{ms:>10.1f}"
              f"{eps / 1e6:>10.2f}{(peak / 2**20 if peak else nan):>10.1f}{ratio:>10}{mem:>9}"
              + (f"{(f'{pool / 2**20:.1f}' if pool else '-'):>10}{pool_ratio:>10}" if pools else "") + note)
    print("peak MB: PyG, torch.cuda.max_memory_allocated over the timed steps; ours, GPU buffers in use (webgpu) "
          "or distinct tensor buffers (other backends), most over one step (results from before: tf.profile peakBytes)")
    if pools:
        print("pool MB: memory held, the allocator's free pool included (torch max_memory_reserved; ours on webgpu, "
              "TF.js's buffer manager)")
    if pyg:
        print("time/PyG, mem/PyG and pool/PyG: ours divided by PyG's (below 1: ours is faster / smaller)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"graph": label, "args": vars(args), "results": rows, "pyg": pyg, "pygSkipped": why}, f, indent=1)
    # 0: PyG ran; 3: torch / torch_geometric are not installed; 1: PyG could not run (no CUDA device...).
    return 0 if pyg else (3 if why.startswith("PyG not available") else 1)


if __name__ == "__main__":
    sys.exit(main())
