#!/usr/bin/env python3
"""Peer of `nerprep eval` for the bench: strict span+type F1 of json-offset predictions.

Reads the gold samples table (pyarrow) and the predictions JSONL (`sample_id`, answer in
`predict`/`prediction`/`output`), parses each answer as a JSON list of
{text, label, start, end}, and computes per-type and micro/macro precision, recall and F1
over (span, label) sets, as nerprep does. It does the scoring only (no repairs, error types,
confusion matrix or figure), so it is a lower bound on the work nerprep does.

Usage: eval_strict_f1.py GOLD.parquet PRED.jsonl OUT.json
"""
import json
import sys
from collections import defaultdict

import pyarrow.parquet as pq


def prf(tp, fp, fn):
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def main(gold_path, pred_path, out_path):
    preds = defaultdict(set)
    with open(pred_path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            rec = json.loads(line)
            sid = rec.get("sample_id") or rec["id"].rsplit("@", 1)[0]
            answer = rec.get("predict") or rec.get("prediction") or rec.get("output")
            for e in json.loads(answer):
                preds[sid].add((e["start"], e["end"], e["label"]))
    tally = defaultdict(lambda: [0, 0, 0])
    table = pq.ParquetFile(gold_path)
    for batch in table.iter_batches(columns=["id", "entities"]):
        for sid, ents in zip(batch.column("id").to_pylist(), batch.column("entities").to_pylist()):
            if sid not in preds:
                continue
            gold = {(e["start"], e["end"], e["label"]) for e in ents}
            pred = preds[sid]
            for key in gold & pred:
                tally[key[2]][0] += 1
            for key in pred - gold:
                tally[key[2]][1] += 1
            for key in gold - pred:
                tally[key[2]][2] += 1
    per_type = {t: prf(*c) for t, c in sorted(tally.items())}
    micro = prf(*(sum(c[i] for c in tally.values()) for i in range(3)))
    macro_f1 = sum(v[2] for v in per_type.values()) / len(per_type) if per_type else 0.0
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump({"micro": micro, "macro_f1": macro_f1, "per_type": per_type}, f, indent=1)


if __name__ == "__main__":
    main(*sys.argv[1:4])
