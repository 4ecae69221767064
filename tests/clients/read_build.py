"""Reads what `nerprep build` wrote the way real clients do, for the build tests.

Usage: python read_build.py OUT_DIR

- Polars `scan_parquet(..., hive_partitioning=True)` and `pyarrow.dataset` (hive
  partitioning) over OUT/samples: rows per (dataset, split), from the partition keys.
- Every dataset in OUT/train/dataset_info.json loaded with Hugging Face `datasets`
  (`load_dataset("json", ...)`) and mapped through the entry's `columns` and `tags` the way
  LLaMA-Factory's converters read them (LLaMA-Factory itself needs torch, too heavy for CI).
Prints one JSON object.
"""
import json
import sys
from pathlib import Path

import datasets
import polars as pl
import pyarrow.dataset as ds

out = Path(sys.argv[1])
glob = str(out / "samples" / "**" / "*.parquet")
polars_counts = (
    pl.scan_parquet(glob, hive_partitioning=True)
    .group_by(["dataset", "split"])
    .len()
    .collect()
    .to_dicts()
)
# The partition columns repeat the table's own dataset/split columns: read them from the path.
arrow = ds.dataset(out / "samples", format="parquet", partitioning="hive", exclude_invalid_files=True)
arrow_rows = arrow.count_rows()

info = json.loads((out / "train" / "dataset_info.json").read_text())
loaded = {}
for name, entry in info.items():
    rows = datasets.load_dataset("json", data_files=str(out / "train" / entry["file_name"]), split="train")
    cols = entry.get("columns", {})
    if entry.get("formatting", "alpaca") == "alpaca":
        needed = [cols.get("prompt", "instruction"), cols.get("response", "output")]
        ok = all(all(r[c] is not None for c in needed) for r in rows)
    else:
        tags = entry.get("tags", {})
        messages = cols.get("messages", "conversations")
        role, content = tags.get("role_tag", "from"), tags.get("content_tag", "value")
        user, assistant = tags.get("user_tag", "human"), tags.get("assistant_tag", "gpt")
        ok = all(
            len(r[messages]) % 2 == 0
            and all(m[role] == (user if i % 2 == 0 else assistant) and m[content] is not None for i, m in enumerate(r[messages]))
            for r in rows
        )
    loaded[name] = {"rows": len(rows), "mapped": ok}
print(json.dumps({"polars": polars_counts, "arrow_rows": arrow_rows, "datasets": loaded}, sort_keys=True))
