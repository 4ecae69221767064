"""Writes samples tables the way other tools do, for nerprep's table-validation tests.

Usage: python foreign_tables.py SAMPLES.parquet OUT_DIR

From a table nerprep wrote, makes:
  polars_extra.parquet   read and written back by Polars with a user column `source_url`
                         added (Polars writes large_string / large_list types)
  wrong_entities.parquet `entities` replaced by a list<string> of the mentions (pyarrow)
  future.parquet         the same rows with `nerprep.table_version` = 99 in the metadata
  edited_span.parquet    the first entity of the first sample with entities moved one code
                         point right, so it no longer slices to its text (pyarrow)
Prints a JSON object: the row count and the id of the edited sample.
"""
import json
import sys
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

src, out = Path(sys.argv[1]), Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
table = pq.read_table(src)
meta = {k: v for k, v in (table.schema.metadata or {}).items() if not k.startswith(b"nerprep.")}

df = pl.read_parquet(src)
df = df.with_columns(pl.format("https://example.org/{}", pl.col("id")).alias("source_url"))
df.write_parquet(out / "polars_extra.parquet")

mentions = pa.array([[e["text"] for e in row] for row in table.column("entities").to_pylist()], pa.list_(pa.string()))
wrong = table.set_column(table.schema.get_field_index("entities"), "entities", mentions)
pq.write_table(wrong.replace_schema_metadata(meta), out / "wrong_entities.parquet")

future_meta = dict(meta)
future_meta[b"nerprep.table_version"] = b"99"
pq.write_table(table.replace_schema_metadata(future_meta), out / "future.parquet")

rows = table.to_pylist()
edited = None
for r in rows:
    if r["entities"]:
        e = r["entities"][0]
        e["start"] += 1
        e["end"] += 1
        edited = r["id"]
        break
pq.write_table(pa.Table.from_pylist(rows, schema=table.schema).replace_schema_metadata(meta), out / "edited_span.parquet")
print(json.dumps({"rows": len(rows), "edited": edited}))
