#!/usr/bin/env python3
"""Distil a static embedding model from a sentence encoder, the model2vec way (no torch).

`make model` runs this on the MiniLM it installed (`minilm-static`):

1. every vocabulary token except the `[unusedN]` placeholders is run through the encoder
   alone, as `[CLS] token [SEP]`, and its output mean-pooled over those three positions;
2. PCA of those vectors to 256 dimensions (centred, eigenvectors of the covariance, each
   sign fixed so its largest-magnitude loading is positive);
3. SIF weighting with frequencies estimated by Zipf's law, since the vocabulary comes without
   counts: the token of rank r (vocabulary order, r = 1, 2, ...) gets p = (1 / (r + 1)) / Z and
   its vector is scaled by a / (a + p), a = 1e-4, which shrinks frequent tokens.

The `[unusedN]` rows stay zero (the tokenizer never produces them). A text is then embedded
as the normalised mean of its tokens' rows (tokenised without special tokens). The result is
`embeddings.safetensors` (one float32 tensor `embeddings`, vocabulary x 256), the encoder's
`tokenizer.json` and a `config.json`. One thread everywhere, so the bytes do not change
between runs.

Usage: python3 scripts/distill_static.py ENCODER_DIR ENCODER.onnx OUT_DIR
"""
import os

# One thread: multi-threaded BLAS sums in a varying order, and the bytes must not change.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import json  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import struct  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402

PCA_DIMS = 256
SIF = 1e-4
BATCH = 512
UNUSED = re.compile(r"^\[unused\d+\]$")


def token_vectors(encoder_dir, onnx_model):
    """(vocabulary x hidden) mean-pooled encoder outputs of each token alone, and the mask of
    tokens kept (not `[unusedN]`)."""
    vocab = json.loads((Path(encoder_dir) / "tokenizer.json").read_text())["model"]["vocab"]
    by_id = sorted(vocab.items(), key=lambda kv: kv[1])
    keep = np.array([not UNUSED.match(tok) for tok, _ in by_id])
    cls, sep = vocab["[CLS]"], vocab["[SEP]"]
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(onnx_model), options, providers=["CPUExecutionProvider"])
    ids = np.array([i for _, i in by_id], np.int64)
    out = []
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        batch = np.stack([np.full_like(chunk, cls), chunk, np.full_like(chunk, sep)], axis=1)
        feed = {"input_ids": batch, "attention_mask": np.ones_like(batch), "token_type_ids": np.zeros_like(batch)}
        out.append(session.run(None, feed)[0].mean(axis=1))
    return np.concatenate(out).astype(np.float64), keep


def pca(x, dims):
    """Projection of the rows of `x` on their first `dims` principal components."""
    centred = x - x.mean(axis=0)
    values, vectors = np.linalg.eigh(centred.T @ centred / (len(x) - 1))
    vectors = vectors[:, np.argsort(values)[::-1][:dims]]
    signs = np.sign(vectors[np.abs(vectors).argmax(axis=0), np.arange(dims)])
    return centred @ (vectors * signs)


def zipf_sif(n):
    """SIF weights a / (a + p) with Zipf frequencies p for ranks 1..n."""
    inv_rank = 1.0 / np.arange(2, n + 2)
    return SIF / (SIF + inv_rank / inv_rank.sum())


def distil(encoder_dir, onnx_model):
    """The (vocabulary x 256) float32 table."""
    vectors, keep = token_vectors(encoder_dir, onnx_model)
    reduced = pca(vectors[keep], PCA_DIMS) * zipf_sif(int(keep.sum()))[:, None]
    table = np.zeros((len(vectors), PCA_DIMS), np.float32)
    table[keep] = reduced.astype(np.float32)
    return table


def write_safetensors(path, name, array):
    """One little-endian float32 tensor in the safetensors layout."""
    data = np.ascontiguousarray(array, dtype="<f4").tobytes()
    header = json.dumps({name: {"dtype": "F32", "shape": list(array.shape), "data_offsets": [0, len(data)]}},
                        separators=(",", ":")).encode()
    header += b" " * (-len(header) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header)))
        f.write(header)
        f.write(data)


def write_model(encoder_dir, onnx_model, out):
    """Writes the static model into `out` (created; its parent must exist)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_safetensors(out / "embeddings.safetensors", "embeddings", distil(encoder_dir, onnx_model))
    shutil.copyfile(Path(encoder_dir) / "tokenizer.json", out / "tokenizer.json")
    config = {
        "model_type": "static",
        "distilled_from": Path(encoder_dir).name,
        "method": "model2vec: token outputs, PCA, Zipf-estimated SIF weighting",
        "hidden_dim": PCA_DIMS,
        "sif_coefficient": SIF,
        "pooling": "mean",
        "normalize": True,
    }
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    write_model(sys.argv[1], sys.argv[2], sys.argv[3])
