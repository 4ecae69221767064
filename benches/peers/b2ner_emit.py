"""Python peer of `nerprep emit --template b2ner` (alpaca): two streaming passes over the
samples table with pyarrow (the dataset label pools, then one record per sample: B2NER's
label-set prompt and the `label: mention; ...` answer in text order), written as JSON Lines.
It does less than nerprep: no parse-back of each answer, no JSON Schema validation."""
import json
import sys

import pyarrow.parquet as pq

TASK = ('Given the label set of entities, please recognize all the entities in the text. '
        'The answer format should be "entity label: entity; entity label: entity". ')


def pools(pf):
    out = {}
    for batch in pf.iter_batches(columns=["dataset", "label_set", "entities"]):
        cols = [batch.column(n).to_pylist() for n in ("dataset", "label_set", "entities")]
        for dataset, label_set, entities in zip(*cols):
            pool = out.setdefault(dataset, {})
            for label in label_set:
                pool.setdefault(label, None)
            for e in entities:
                pool.setdefault(e["label"], None)
    return {d: list(p) for d, p in out.items()}


def main(table, output):
    pf = pq.ParquetFile(table)
    labels_of = pools(pf)
    with open(output, "w", encoding="utf-8") as f:
        for batch in pf.iter_batches(columns=["id", "dataset", "text", "entities"]):
            cols = [batch.column(n).to_pylist() for n in ("id", "dataset", "text", "entities")]
            for sid, dataset, text, entities in zip(*cols):
                labels = labels_of[dataset]
                entities.sort(key=lambda e: (e["start"], -e["end"]))
                answer = "; ".join(f"{e['label']}: {e['text']}" for e in entities) or "None"
                prompt = f"{TASK}\nLabel Set: {', '.join(labels)} \n\nText: {text} \nAnswer:"
                record = {"id": f"{sid}@0", "sample_id": sid, "labels": labels, "instruction": prompt, "input": "", "output": answer}
                f.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
                f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
