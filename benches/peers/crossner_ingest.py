"""Python peer of `nerprep ingest --format crossner`: a straightforward CoNLL reader that
decodes IOB2 into code-point spans and writes the same columns with pyarrow (zstd)."""
import sys

import pyarrow as pa
import pyarrow.parquet as pq

ENTITY = pa.struct([("start", pa.uint32()), ("end", pa.uint32()), ("label", pa.string()), ("text", pa.string())])
SCHEMA = pa.schema([("id", pa.string()), ("text", pa.string()), ("entities", pa.list_(ENTITY)), ("label_set", pa.list_(pa.string()))])


def sentences(path):
    tokens, tags = [], []
    with open(path, encoding="utf-8-sig") as f:
        for line in f:
            line = line.rstrip("\r\n")
            if not line.strip():
                if tokens:
                    yield tokens, tags
                tokens, tags = [], []
                continue
            tok, tag = line.split("\t")
            tokens.append(tok)
            tags.append(tag)
    if tokens:
        yield tokens, tags


def decode(tokens, tags):
    ents, pos, cur = [], 0, None
    for tok, tag in zip(tokens, tags):
        kind, _, label = tag.partition("-")
        if kind == "I" and cur and cur["label"] == label:
            cur["end"] = pos + len(tok)
            cur["toks"].append(tok)
        else:
            if cur:
                ents.append(cur)
                cur = None
            if kind in ("B", "I"):
                cur = {"start": pos, "end": pos + len(tok), "label": label, "toks": [tok]}
        pos += len(tok) + 1
    if cur:
        ents.append(cur)
    return [{"start": e["start"], "end": e["end"], "label": e["label"], "text": " ".join(e["toks"])} for e in ents]


def main(src, dst):
    writer = pq.ParquetWriter(dst, SCHEMA, compression="zstd")
    batch = {k: [] for k in SCHEMA.names}
    for i, (tokens, tags) in enumerate(sentences(src)):
        ents = decode(tokens, tags)
        batch["id"].append(f"bench/train/x:{i}")
        batch["text"].append(" ".join(tokens))
        batch["entities"].append(ents)
        batch["label_set"].append(sorted({e["label"] for e in ents}))
        if len(batch["id"]) >= 8192:
            writer.write_table(pa.table(batch, schema=SCHEMA))
            batch = {k: [] for k in SCHEMA.names}
    if batch["id"]:
        writer.write_table(pa.table(batch, schema=SCHEMA))
    writer.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
