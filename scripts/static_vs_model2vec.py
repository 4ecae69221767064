#!/usr/bin/env python3
"""How well static models keep MiniLM's order of sentence pairs: `minilm-static` (ours) next
to a model the `model2vec` package distils from the same local MiniLM.

The pairs and texts are those of the Rust test
`static_model_orders_sentence_pairs_like_minilm_better_than_hash` (tests/it/embed.rs): the
distinct CrossNER fixture sentences and 5,000 pairs drawn by the same LCG. MiniLM's vectors
come from sentence-transformers (within 1e-4 of nerprep's). Prints the Spearman correlation
of each static model's pairwise cosines with MiniLM's. Needs torch, sentence-transformers,
model2vec with its `distill` extra and scipy: the bench venv plus
`pip install "model2vec[distill]==0.10.0"`, then `pip uninstall kernels` (that extra pulls
`kernels`, whose import breaks `transformers` 5.3). It takes about 5 minutes on 2 cores,
most of it model2vec embedding the vocabulary.

Usage: python scripts/static_vs_model2vec.py MODELS_DIR [PCA_DIMS]
"""
import json
import sys
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file
from scipy.stats import spearmanr
from tokenizers import Tokenizer

ROOT = Path(__file__).resolve().parent.parent
MASK = (1 << 64) - 1


def crossner_texts():
    seen, texts = set(), []
    for path in sorted((ROOT / "fixtures" / "crossner").glob("*.txt")):
        for sentence in path.read_text(encoding="utf-8").split("\n\n"):
            words = [line.split()[0] for line in sentence.splitlines() if line.split()]
            text = " ".join(words)
            if text and text not in seen:
                seen.add(text)
                texts.append(text)
    return texts


def seeded_pairs(n, count):
    state, pairs = 0x2545F4914F6CDD1D, []
    while len(pairs) < count:
        ij = []
        for _ in range(2):
            state = (state * 6364136223846793005 + 1442695040888963407) & MASK
            ij.append((state >> 33) % n)
        if ij[0] != ij[1]:
            pairs.append(tuple(ij))
    return pairs


def pair_cosines(vectors, pairs):
    v = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.array([float(v[i] @ v[j]) for i, j in pairs])


def ours(models, texts):
    """minilm-static as nerprep embeds: the mean of the text's token rows (no special tokens)."""
    d = models / "all-MiniLM-L6-v2-static"
    table = next(iter(load_file(str(d / "embeddings.safetensors")).values()))
    tok = Tokenizer.from_file(str(d / "tokenizer.json"))
    return np.stack([table[tok.encode(t, add_special_tokens=False).ids].mean(axis=0) for t in texts])


def main():
    models = Path(sys.argv[1])
    pca = int(sys.argv[2]) if len(sys.argv) > 2 else 256
    from model2vec.distill import distill
    from sentence_transformers import SentenceTransformer

    texts = crossner_texts()
    pairs = seeded_pairs(len(texts), 5000)
    minilm = pair_cosines(SentenceTransformer(str(models / "all-MiniLM-L6-v2"), device="cpu").encode(texts, batch_size=64), pairs)
    m2v = distill(model_name=str(models / "all-MiniLM-L6-v2"), pca_dims=pca)
    results = {
        "texts": len(texts),
        "pairs": len(pairs),
        "minilm-static": spearmanr(minilm, pair_cosines(ours(models, texts), pairs)).statistic,
        f"model2vec distill(pca_dims={pca})": spearmanr(minilm, pair_cosines(m2v.encode(texts), pairs)).statistic,
    }
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
