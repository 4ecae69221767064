"""Python peer of `nerprep ingest --format pile-ner`: json.load of the array (the usual way to
read these files), one sample per passage (consecutive records merged), answers parsed
with json.loads, mentions aligned with the same rules, written with pyarrow (zstd)."""
import json
import sys

from mention_align import Writer, align, guess_lang

PREFIX, Q_HEAD, Q_TAIL = "Text: ", "What describes ", " in the text?"


def main(src, dst):
    with open(src, encoding="utf-8") as f:
        records = json.load(f)
    writer = Writer(dst)
    current = None

    def flush(cur):
        index, text, label_set, answers = cur
        pairs = [(label, m) for label, ms in answers.items() for m in ms]
        entities, unaligned = align(text, pairs)
        writer.add(id=f"bench/unknown/x:{index}", dataset="bench", source_format="pile-ner", split="unknown",
                   lang=guess_lang(text), text=text, entities=entities, label_set=label_set, unaligned=unaligned,
                   meta=json.dumps({"source_id": index}))

    for index, rec in enumerate(records):
        turns = rec["conversations"]
        text = turns[0]["value"][len(PREFIX):]
        qa = []
        for i in range(2, len(turns) - 1, 2):
            label = turns[i]["value"][len(Q_HEAD):-len(Q_TAIL)]
            qa.append((label, json.loads(turns[i + 1]["value"])))
        if current and current[1] == text:
            for label, ms in qa:
                if label not in current[2]:
                    current[2].append(label)
                current[3].setdefault(label, []).extend(ms)
            continue
        if current:
            flush(current)
        current = (index, text, [label for label, _ in qa], {label: list(ms) for label, ms in qa})
    if current:
        flush(current)
    writer.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
