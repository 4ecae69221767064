"""Python peer of `nerprep map --mapping mappings/crossner.yaml`: reads a samples table with
pyarrow, maps every entity label (label or alias) to its archetype from the mapping YAML,
writes the table back (zstd) and counts mapped and unmapped entities."""
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import yaml


def load_mapping(path):
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    lookup = {}
    for archetype, entries in doc["archetypes"].items():
        for e in entries:
            if isinstance(e, dict):
                names = [e["label"], *e.get("aliases", [])]
            else:
                names = [str(e)]
            for n in names:
                lookup.setdefault(n, archetype)
    return lookup


def main(src, mapping, dst):
    lookup = load_mapping(mapping)
    reader = pq.ParquetFile(src)
    writer = None
    mapped = unmapped = 0
    for batch in reader.iter_batches(batch_size=8192):
        rows = batch.to_pylist()
        for row in rows:
            for e in row["entities"]:
                a = lookup.get(e["label"])
                e["archetype"] = a
                if a is None:
                    unmapped += 1
                else:
                    mapped += 1
        table = pa.Table.from_pylist(rows, schema=batch.schema)
        if writer is None:
            writer = pq.ParquetWriter(dst, batch.schema, compression="zstd")
        writer.write_table(table)
    if writer is not None:
        writer.close()
    print(f"mapped {mapped}, unmapped {unmapped}", file=sys.stderr)


if __name__ == "__main__":
    main(*sys.argv[1:4])
