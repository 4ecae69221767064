#!/usr/bin/env python3
"""Peers of `nerprep screen` for benches/compare.py.

`screen`: B2NER's rule-based conflict screening the way its released script does it, a
plain loop over (dataset pair, shared label, mention, sentence), on the first FRACTION of
each table's samples (one dataset per table); the bench scales its time up by 1 / FRACTION. Same rules as
nerprep: labels paired by normalised name, mentions of two or more characters, token
boundaries, occurrences inside a longer entity skipped, each occurrence consistent, wrong
category, not extracted or partially extracted.

`gen-mentions`: a mention-embeddings table (nerprep's layout: id, dataset, label,
embedding) of N seeded vectors, each a label centroid plus noise, for the kNN bench.
"""
import argparse
import json
import math
import re

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

BRITISH = [("isation", "ization"), ("ising", "izing"), ("organise", "organize"), ("analyse", "analyze"),
           ("programme", "program"), ("centre", "center"), ("theatre", "theater"), ("metre", "meter"),
           ("colour", "color"), ("honour", "honor"), ("labour", "labor"), ("behaviour", "behavior"),
           ("harbour", "harbor"), ("neighbour", "neighbor"), ("favour", "favor"), ("catalogue", "catalog"),
           ("defence", "defense"), ("licence", "license")]


def key(label):
    k = re.sub(r"[\s_.\-]", "", label).lower()
    for b, a in BRITISH:
        k = k.replace(b, a)
    return k


def word(c):
    return c.isalnum() or c == "_"


def boundary(a, b):
    return a is None or b is None or not (word(a) and word(b))


def load(paths, fraction):
    datasets = {}
    for p in paths:
        f = pq.ParquetFile(p)
        take = max(1, math.ceil(f.metadata.num_rows * fraction))
        # Only the subset is read, so that loading scales with the subset too.
        batch = next(f.iter_batches(batch_size=take, columns=["dataset", "text", "entities"]))
        for row in batch.to_pylist():
            datasets.setdefault(row["dataset"], []).append(row)
    return datasets


def classify(ents, start, end, target):
    exact = [e for e in ents if e["start"] == start and e["end"] == end]
    if exact:
        return "consistent" if any(key(e["label"]) == target for e in exact) else "wrong_category"
    if any(e["start"] <= start and e["end"] >= end for e in ents):
        return "inside_longer"
    if any(e["start"] < end and e["end"] > start for e in ents):
        return "partially_extracted"
    return "not_extracted"


def screen(args):
    datasets = load(args.tables, args.fraction)
    names = sorted(datasets)
    mentions = {n: {} for n in names}
    for n in names:
        for row in datasets[n]:
            for e in row["entities"]:
                mentions[n].setdefault(key(e["label"]), set()).add(e["text"])
    results = {}
    for a in names:
        for b in names:
            if a == b:
                continue
            for label, ms in mentions[a].items():
                if label not in mentions[b]:
                    continue
                counts = results.setdefault(f"{a}/{label} -> {b}/{label}", {})
                for m in ms:
                    if len(m.strip()) < 2:
                        continue
                    for row in datasets[b]:
                        text = row["text"]
                        if m not in text:
                            continue
                        start = text.find(m)
                        while start != -1:
                            end = start + len(m)
                            before = text[start - 1] if start > 0 else None
                            after = text[end] if end < len(text) else None
                            if boundary(before, text[start]) and boundary(text[end - 1], after):
                                kind = classify(row["entities"], start, end, label)
                                counts[kind] = counts.get(kind, 0) + 1
                            start = text.find(m, start + 1)
    with open(args.out, "w") as f:
        json.dump(results, f, sort_keys=True)


def gen_mentions(args):
    rng = np.random.default_rng(args.seed)
    labels = [f"label{j}" for j in range(args.labels)]
    centroids = rng.standard_normal((args.labels, args.dim), dtype=np.float32)
    ids, datasets, names = [], [], []
    lab = rng.integers(0, args.labels, args.n)
    v = centroids[lab] + 0.8 * rng.standard_normal((args.n, args.dim), dtype=np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    for i in range(args.n):
        d = i % args.datasets
        ids.append(f"ds{d}/train/x:{i}@0")
        datasets.append(f"ds{d}")
        names.append(labels[lab[i]])
    item = pa.field("item", pa.float32(), nullable=False)
    emb = pa.FixedSizeListArray.from_arrays(pa.array(v.reshape(-1), pa.float32()), type=pa.list_(item, args.dim))
    schema = pa.schema([pa.field("id", pa.string(), nullable=False), pa.field("dataset", pa.string(), nullable=False),
                        pa.field("label", pa.string(), nullable=False), pa.field("embedding", emb.type, nullable=False)],
                       metadata={"nerprep.embed.dim": str(args.dim), "nerprep.embed.what": "mentions",
                                 "nerprep.embed.model": "random-centroids"})
    cols = [pa.array(ids, pa.string()), pa.array(datasets, pa.string()), pa.array(names, pa.string()), emb]
    pq.write_table(pa.Table.from_arrays(cols, schema=schema), args.emb, compression="zstd")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("screen")
    s.add_argument("out")
    s.add_argument("tables", nargs="+")
    s.add_argument("--fraction", type=float, default=0.01)
    g = sub.add_parser("gen-mentions")
    g.add_argument("emb")
    g.add_argument("--n", type=int, default=200_000)
    g.add_argument("--datasets", type=int, default=10)
    g.add_argument("--labels", type=int, default=40)
    g.add_argument("--dim", type=int, default=384)
    g.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    screen(args) if args.cmd == "screen" else gen_mentions(args)


if __name__ == "__main__":
    main()
