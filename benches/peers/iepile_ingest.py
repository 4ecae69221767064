"""Python peer of `nerprep ingest --format iepile`: json.loads per line (and of the encoded
instruction and output), NER records only, consecutive records of one sentence merged,
mentions aligned with the same rules, written with pyarrow (zstd)."""
import json
import sys

from mention_align import Writer, align, guess_lang


def passages(path):
    """(index, source, text, schema, answers) per NER record; other tasks are skipped."""
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f):
            if not line.strip():
                continue
            rec = json.loads(line)
            if rec.get("task", "NER") != "NER":
                continue
            ins = json.loads(rec["instruction"])
            out = json.loads(rec["output"])
            yield i, rec.get("source", ""), ins["input"], ins["schema"], out


def main(src, dst):
    writer = Writer(dst)
    current = None

    def flush(cur):
        index, source, text, label_set, answers = cur
        pairs = [(label, m) for label, ms in answers.items() for m in ms]
        entities, unaligned = align(text, pairs)
        writer.add(id=f"{source}/unknown/x:{index}", dataset=source, source_format="iepile", split="unknown",
                   lang=guess_lang(text), text=text, entities=entities, label_set=label_set, unaligned=unaligned,
                   meta=json.dumps({"task": "NER"}))

    for index, source, text, schema, out in passages(src):
        if current and current[1] == source and current[2] == text:
            for label in schema:
                if label not in current[3]:
                    current[3].append(label)
            for label, ms in out.items():
                current[4].setdefault(label, []).extend(m for m in ms if m not in current[4].get(label, []))
            continue
        if current:
            flush(current)
        current = (index, source, text, list(schema), dict(out))
    if current:
        flush(current)
    writer.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
