"""Python peer of `nerprep embed --what text`: sentence-transformers on the CPU.

Reads one sentence per line, encodes them with SentenceTransformer(MODEL_DIR) in batches
(normalised, as nerprep writes them) and saves the matrix as .npy. The model is the local
directory `make model` installed; nothing is downloaded (HF_HUB_OFFLINE is set).

Usage: python st_embed.py MODEL_DIR SENTENCES.txt OUT.npy [--batch-size 64]
"""
import argparse
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("sentences")
    ap.add_argument("out")
    ap.add_argument("--batch-size", type=int, default=64)
    args = ap.parse_args()
    with open(args.sentences, encoding="utf-8") as f:
        sentences = [line.rstrip("\n") for line in f]
    model = SentenceTransformer(args.model_dir, device="cpu")
    vectors = model.encode(sentences, batch_size=args.batch_size, normalize_embeddings=True, convert_to_numpy=True)
    np.save(args.out, vectors.astype(np.float32))


if __name__ == "__main__":
    main()
