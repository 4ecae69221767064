#!/usr/bin/env python3
"""The B2NER diversity-aware pruning (seed 002 §3.2) in numpy: the peer of `nerprep prune`.

Faithful to nerprep's algorithm: a pool of capacity k per (dataset, label); samples of
each dataset visited in a seeded random order; for each sample, each of its labels whose
pool has room accepts it with probability clamp(1 - max cosine(x, pool) + b, 0, 1) (an
empty pool accepts), the vector joining exactly the pools that accepted it; a sample any
pool accepted is kept; then samples without entities against one negatives pool of
capacity floor(k * ratio) per dataset, the same way. Max cosine is one matrix-vector
product of the unit vectors (pools kept as preallocated float32 matrices). The random
stream is numpy's (a seeded permutation and uniform draws), not nerprep's hash of
(seed, id, pool), so the kept sets agree in distribution, not sample for sample.

Usage:
  prune.py gen-emb SAMPLES.parquet EMB.parquet [--dim 384] [--seed 0]   (bench input)
  prune.py prune SAMPLES.parquet EMB.parquet OUT.json [--per-type 400] [--offset 0]
           [--negatives-ratio 0.2] [--seed 0]
"""
import argparse
import json
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def gen_emb(args):
    """Random unit vectors (seeded) for every sample id of SAMPLES, as a nerprep embeddings table."""
    ids = pq.read_table(args.samples, columns=["id"]).column("id").to_pylist()
    rng = np.random.default_rng(args.seed)
    v = rng.standard_normal((len(ids), args.dim), dtype=np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    item = pa.field("item", pa.float32(), nullable=False)
    emb = pa.FixedSizeListArray.from_arrays(pa.array(v.reshape(-1), pa.float32()), type=pa.list_(item, args.dim))
    schema = pa.schema([pa.field("id", pa.string(), nullable=False), pa.field("embedding", emb.type, nullable=False)],
                       metadata={"nerprep.embed.dim": str(args.dim), "nerprep.embed.what": "text",
                                 "nerprep.embed.model": "random-unit"})
    pq.write_table(pa.Table.from_arrays([pa.array(ids, pa.string()), emb], schema=schema), args.emb, compression="zstd")


def load(samples_path, emb_path):
    t = pq.read_table(samples_path, columns=["id", "dataset", "entities"])
    ids = t.column("id").to_pylist()
    datasets = t.column("dataset").to_pylist()
    labels = [sorted({e["label"] for e in ents}) for ents in t.column("entities").to_pylist()]
    e = pq.read_table(emb_path)
    flat = e.column("embedding").combine_chunks()
    dim = flat.type.list_size
    vectors = flat.flatten().to_numpy(zero_copy_only=False).reshape(-1, dim).astype(np.float32, copy=False)
    row = {i: r for r, i in enumerate(e.column("id").to_pylist())}
    missing = [i for i in ids if i not in row]
    if missing:
        raise SystemExit(f"{len(missing)} samples have no embedding, e.g. {missing[0]}")
    order = np.fromiter((row[i] for i in ids), dtype=np.int64, count=len(ids))
    x = vectors[order]
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return ids, datasets, labels, x


class Pool:
    """Up to `capacity` unit vectors in a preallocated matrix."""

    def __init__(self, capacity, dim):
        self.m = np.empty((capacity, dim), dtype=np.float32)
        self.n = 0

    def full(self):
        return self.n >= len(self.m)

    def max_cos(self, x):
        return float((self.m[: self.n] @ x).max()) if self.n else None

    def add(self, x):
        self.m[self.n] = x
        self.n += 1


def accept(pool, x, offset, rng):
    sim = pool.max_cos(x)
    if sim is None:
        return True
    p = min(max(1.0 - sim + offset, 0.0), 1.0)
    return rng.random() < p


def prune(args):
    ids, datasets, labels, x = load(args.samples, args.emb)
    rng = np.random.default_rng(args.seed)
    kept = np.zeros(len(ids), dtype=bool)
    by_dataset = {}
    for i, d in enumerate(datasets):
        by_dataset.setdefault(d, []).append(i)
    dim = x.shape[1]
    quota = int(args.per_type * args.negatives_ratio)
    for d in sorted(by_dataset):
        members = np.array(by_dataset[d])
        members = members[rng.permutation(len(members))]
        pools = {}
        negatives = []
        for i in members:
            if not labels[i]:
                negatives.append(i)
                continue
            for label in labels[i]:
                pool = pools.get(label)
                if pool is None:
                    pool = pools[label] = Pool(args.per_type, dim)
                if pool.full():
                    continue
                if accept(pool, x[i], args.offset, rng):
                    pool.add(x[i])
                    kept[i] = True
        neg = Pool(quota, dim)
        for i in negatives:
            if neg.full():
                break
            if accept(neg, x[i], args.offset, rng):
                neg.add(x[i])
                kept[i] = True
    out = {"read": len(ids), "kept": int(kept.sum()), "kept_ids": [ids[i] for i in np.flatnonzero(kept)]}
    with open(args.out, "w") as f:
        json.dump(out, f)
    print(f"prune: read {len(ids)}, kept {out['kept']}", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen-emb")
    g.add_argument("samples")
    g.add_argument("emb")
    g.add_argument("--dim", type=int, default=384)
    g.add_argument("--seed", type=int, default=0)
    p = sub.add_parser("prune")
    p.add_argument("samples")
    p.add_argument("emb")
    p.add_argument("out")
    p.add_argument("--per-type", type=int, default=400)
    p.add_argument("--offset", type=float, default=0.0)
    p.add_argument("--negatives-ratio", type=float, default=0.2)
    p.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    gen_emb(args) if args.cmd == "gen-emb" else prune(args)


if __name__ == "__main__":
    main()
