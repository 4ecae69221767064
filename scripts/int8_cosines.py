#!/usr/bin/env python3
"""Cosine of int8 MiniLM exports to the fp32 export on every CrossNER fixture sentence.

Prints, per int8 model given, the mean and minimum cosine of its mean-pooled vectors to the
fp32 model's (the figures in the README's `minilm-int8` section). Runs in .venv-model.

Usage: python3 scripts/int8_cosines.py MODEL_DIR FP32.onnx INT8.onnx [INT8.onnx ...]
"""
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures/crossner"


def fixture_sentences():
    """Distinct sentences of the CrossNER fixtures (first column joined by spaces), file order."""
    seen, out = set(), []
    for path in sorted(FIXTURES.glob("*.txt")):
        for block in path.read_text().split("\n\n"):
            text = " ".join(line.split()[0] for line in block.splitlines() if line.split())
            if text and text not in seen:
                seen.add(text)
                out.append(text)
    return out


def embed(model, tok, texts, batch=64):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    rows = []
    for i in range(0, len(texts), batch):
        enc = tok.encode_batch(texts[i : i + batch])
        ids = np.array([e.ids for e in enc], np.int64)
        mask = np.array([e.attention_mask for e in enc], np.int64)
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = session.run(None, feed)[0]
        v = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        rows.append(v / np.linalg.norm(v, axis=1, keepdims=True))
    return np.concatenate(rows)


def main():
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    model_dir, fp32, int8s = Path(sys.argv[1]), sys.argv[2], sys.argv[3:]
    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(256)
    tok.enable_padding(pad_id=0)
    texts = fixture_sentences()
    ref = embed(fp32, tok, texts)
    for model in int8s:
        cos = (embed(model, tok, texts) * ref).sum(1)
        print(f"{model}: {len(texts)} sentences, cosine to fp32 mean {cos.mean():.5f} min {cos.min():.5f}")


if __name__ == "__main__":
    main()
