#!/usr/bin/env python3
"""Loads a `gatv2 export` file into PyTorch Geometric and evaluates it there.

The file is safetensors: tensors under PyG's state_dict names with a module prefix per layer
(conv1.lin_l.weight, conv1.att, ...) in PyG's shapes, and the model config of the checkpoint
(model.json's modelConfig) as JSON under __metadata__["gatv2"]. This script builds the same network
from PyG's own GATv2Conv (conv1, conv2, ... with the activation between layers; input and
attention dropout are off in evaluation), loads the weights with load_state_dict(strict=True),
reads the dataset directory (nodes.csv, edges.csv, features.csv, each possibly .csv.gz; the
format of the README's "Bring your own graph"), normalises the features as the checkpoint did,
and prints PyG's accuracy per split.

  --probs OUT.csv      class probabilities per node in `gatv2 predict`'s format
                       (id,predicted,p_<class>,...)
  --compare PRED.csv   a `gatv2 predict --out` file of the same checkpoint: prints the largest
                       absolute difference between its probabilities and PyG's, and how many
                       predicted classes differ
  --dataset DIR        another dataset directory (default: the one in the metadata; a built-in
                       name is looked up in this repository's datasets/)

Needs torch and torch_geometric (PyG 2.x; a layer with residual=True needs PyG >= 2.5).
Reads safetensors itself (no dependency on the safetensors package).

usage: python3 scripts/pyg-load.py model.safetensors [--dataset DIR] [--probs OUT.csv]
           [--compare predictions.csv] [--device cpu|cuda]
"""
import argparse
import csv
import gzip
import io
import json
import os
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILTIN = ("cora", "citeseer")
DTYPES = {"F32": "float32", "F64": "float64"}


def fail(msg):
    print(f"pyg-load: {msg}", file=sys.stderr)
    sys.exit(2)


def read_safetensors(path):
    """(metadata dict, {name: (dtype, shape, bytes)}) of a safetensors file."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        fail(f"{path}: too short for a safetensors file")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8:
        fail(f"{path}: the header length says {n} bytes but only {len(raw) - 8} follow (truncated?)")
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    data = raw[8 + n:]
    meta = header.pop("__metadata__", {}) or {}
    tensors = {}
    for name, e in header.items():
        b, end = e["data_offsets"]
        if end > len(data):
            fail(f"{path}: tensor {name} ends past the end of the file (truncated?)")
        tensors[name] = (e["dtype"], e["shape"], data[b:end])
    return meta, tensors


def open_csv(directory, stem):
    for name in (f"{stem}.csv", f"{stem}.csv.gz"):
        p = os.path.join(directory, name)
        if os.path.exists(p):
            if name.endswith(".gz"):
                return io.TextIOWrapper(gzip.open(p, "rb"), encoding="utf-8", newline="")
            return open(p, encoding="utf-8", newline="")
    fail(f"{directory}: no {stem}.csv or {stem}.csv.gz")


def read_dataset(directory, class_names):
    """Nodes in file order, labels as the checkpoint's class indices, edges, features (float32)."""
    ids, labels, splits = [], [], []
    index = {c: k for k, c in enumerate(class_names)}
    with open_csv(directory, "nodes") as f:
        rows = csv.reader(f)
        next(rows)
        for r in rows:
            if not r:
                continue
            ids.append(r[0])
            labels.append(index.get(r[1], -1) if r[1] != "" else -1)
            splits.append(r[2].strip().lower())
    node = {i: k for k, i in enumerate(ids)}
    src, dst, edge_attr = [], [], []
    with open_csv(directory, "edges") as f:
        rows = csv.reader(f)
        header = next(rows)
        for r in rows:
            if not r:
                continue
            src.append(node[r[0]])
            dst.append(node[r[1]])
            if len(header) > 2:
                edge_attr.append([float(v) for v in r[2:]])
    with open_csv(directory, "features") as f:
        rows = csv.reader(f)
        header = [h.strip().lower() for h in next(rows)]
        if header == ["node", "feature", "value"]:
            trip = [(node[r[0]], r[1], float(r[2])) for r in rows if r]
            names = []
            seen = {}
            for _, feat, _ in trip:
                if feat not in seen:
                    seen[feat] = len(names)
                    names.append(feat)
            # As the loader: integer ids are the columns (F = max + 1), names number by first use.
            if all(n.isdigit() for n in names):
                col = {n: int(n) for n in names}
                width = max(col.values()) + 1
            else:
                col = {n: seen[n] for n in names}
                width = len(names)
            feats = [(i, col[feat], v) for i, feat, v in trip]
            dense = None
        else:
            width = len(header) - 1
            dense = {}
            for r in rows:
                if r:
                    dense[node[r[0]]] = [float(v) for v in r[1:]]
            feats = None
    return ids, labels, splits, (src, dst), edge_attr, width, feats, dense


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("file")
    ap.add_argument("--dataset")
    ap.add_argument("--probs")
    ap.add_argument("--compare")
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()

    try:
        import torch
        import torch.nn.functional as F
        import torch_geometric
        from torch_geometric.nn import GATv2Conv
    except ImportError as e:
        fail(f"needs torch and torch_geometric ({e})")

    meta, tensors = read_safetensors(a.file)
    if "gatv2" not in meta:
        fail(f'{a.file}: no __metadata__["gatv2"] (the model config); write it with gatv2 export')
    mc = json.loads(meta["gatv2"])
    net = mc["network"]
    class_names = mc["classNames"]

    dataset = a.dataset or mc["dataset"]
    if dataset.lower() in BUILTIN and not os.path.isdir(dataset):
        dataset = os.path.join(ROOT, "datasets", dataset.lower())
    ids, labels, splits, (src, dst), edge_attr, width, feats, dense = read_dataset(dataset, class_names)
    n = len(ids)
    if width != mc["numFeatures"]:
        fail(f"{dataset} has {width} features per node, the model was trained on {mc['numFeatures']}")

    # Features as float32 (the loader's precision), transformed as the checkpoint records
    # (src/data/feature-normalization.ts): "row" divides by the row sum (float64 sums, rows summing
    # to 0 left alone), "standardize" uses the saved column statistics, "none" leaves them. Older
    # checkpoints only have the boolean normalizeFeatures (true: row).
    x = torch.zeros(n, width, dtype=torch.float32)
    if feats is not None:
        for i, j, v in feats:
            x[i, j] = v
    else:
        for i, row in dense.items():
            x[i] = torch.tensor(row, dtype=torch.float32)
    norm = mc.get("featureNormalization") or {"mode": "row" if mc["normalizeFeatures"] else "none"}
    if norm["mode"] == "row":
        x64 = x.double()
        s = x64.sum(dim=1, keepdim=True)
        scale = torch.where(s == 0, torch.ones_like(s), 1.0 / s)
        x = (x64 * scale).float()
    elif norm["mode"] == "standardize":
        mean = torch.tensor(norm["mean"], dtype=torch.float64)
        std = torch.tensor(norm["std"], dtype=torch.float64)
        x = ((x.double() - mean) / std).float()
    elif norm["mode"] != "none":
        fail(f"unknown feature normalisation {norm['mode']!r} in the model config")
    edge_index = torch.tensor([src, dst], dtype=torch.long)
    ea = torch.tensor(edge_attr, dtype=torch.float32) if edge_attr else None

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.n_layers = len(net["layers"])
            for k, c in enumerate(net["layers"]):
                kw = dict(
                    heads=c["heads"], concat=c["concat"], negative_slope=c["negativeSlope"],
                    dropout=c["dropout"], add_self_loops=c["addSelfLoops"], edge_dim=c["edgeDim"],
                    fill_value=c["fillValue"], bias=c["bias"], share_weights=c["shareWeights"],
                )
                if c["residual"]:
                    kw["residual"] = True  # PyG >= 2.5
                setattr(self, f"conv{k + 1}", GATv2Conv(c["inChannels"], c["outChannels"], **kw))

        def forward(self, x, edge_index, edge_attr=None):
            for k in range(self.n_layers):
                x = F.dropout(x, p=net["inputDropout"], training=self.training)
                conv = getattr(self, f"conv{k + 1}")
                x = conv(x, edge_index, edge_attr) if conv.edge_dim is not None else conv(x, edge_index)
                if k < self.n_layers - 1:
                    x = {"elu": F.elu, "relu": F.relu, "identity": lambda t: t}[net["activation"]](x)
            return x

    model = Net()
    state = {}
    for name, (dtype, shape, raw) in tensors.items():
        if dtype not in DTYPES:
            fail(f"{a.file}: tensor {name} is {dtype}; expected F32 or F64")
        t = torch.frombuffer(bytearray(raw), dtype=getattr(torch, DTYPES[dtype])).reshape(shape)
        state[name] = t.float()
    # share_weights: PyG registers lin_l as lin_r too, so its state_dict names both.
    for k, c in enumerate(net["layers"]):
        if c["shareWeights"]:
            for p in ("weight", "bias"):
                if f"conv{k + 1}.lin_l.{p}" in state:
                    state.setdefault(f"conv{k + 1}.lin_r.{p}", state[f"conv{k + 1}.lin_l.{p}"])
    model.load_state_dict(state, strict=True)
    model.to(a.device).eval()

    with torch.no_grad():
        logits = model(x.to(a.device), edge_index.to(a.device), None if ea is None else ea.to(a.device)).cpu()
    probs = torch.softmax(logits.double(), dim=1)
    pred = probs.argmax(dim=1)
    y = torch.tensor(labels)
    print(f"PyG {torch_geometric.__version__}, torch {torch.__version__}, {a.device}: {dataset}")
    for split in ("train", "val", "test"):
        idx = [i for i in range(n) if splits[i] == split and labels[i] >= 0]
        if idx:
            acc = (pred[idx] == y[idx]).double().mean().item()
            print(f"{split:5s} {len(idx):6d} nodes  accuracy {100 * acc:.2f}%")

    if a.probs:
        with open(a.probs, "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["id", "predicted"] + [f"p_{c}" for c in class_names])
            for i in range(n):
                w.writerow([ids[i], class_names[int(pred[i])]] + [f"{p:.7g}" for p in probs[i].tolist()])
        print(f"wrote {n} rows of probabilities to {a.probs}")

    if a.compare:
        with open(a.compare, newline="") as f:
            rows = csv.reader(f)
            header = next(rows)
            if header[2:] != [f"p_{c}" for c in class_names]:
                fail(f"{a.compare}: columns {header[2:]} are not this model's classes")
            ours = {r[0]: ([float(v) for v in r[2:]], r[1]) for r in rows if r}
        worst, differ = 0.0, 0
        for i in range(n):
            p, label = ours[ids[i]]
            worst = max(worst, max(abs(u - v) for u, v in zip(p, probs[i].tolist())))
            differ += label != class_names[int(pred[i])]
        # gatv2 predict writes 7 significant digits: differences below ~5e-8 are its rounding.
        print(f"against {a.compare}: max |p_gatv2 - p_PyG| = {worst:.3g}; predicted class differs on {differ} of {n} nodes")


if __name__ == "__main__":
    main()
