#!/usr/bin/env bash
# GPU check of the CUDA embedding path (issue 13), for a machine with an NVIDIA GPU:
#   1. detects the compute capability with nvidia-smi and builds with --features cuda;
#   2. parity: candle on CUDA against the sentence-transformers reference vectors and the
#      CPU backend, max difference 1e-4 (tests/it/embed.rs, cuda_matches_...);
#   3. throughput: `nerprep embed --device cuda --batch-size 256` on 100,000 fixture sentences
#      (CrossNER and B2NERD fixture sentences, repeats made distinct), no cache; prints
#      sentences/s.
# Needs nvcc (the CUDA toolkit) and models/ installed (`make model`, or copied in: the
# machine may have no network). Nothing here is needed by `make data` or `make test`.
# Usage: scripts/gpu-check.sh [N_SENTENCES]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
TARGET=${CARGO_TARGET_DIR:-target}
WORK=${GPU_CHECK_WORK:-$TARGET/gpu-check}

command -v nvidia-smi >/dev/null || { echo "gpu-check: nvidia-smi not found: no NVIDIA GPU here" >&2; exit 2; }
command -v nvcc >/dev/null || { echo "gpu-check: nvcc not found: install the CUDA toolkit" >&2; exit 2; }
[ -f models/all-MiniLM-L6-v2/model.safetensors ] || { echo "gpu-check: models/ missing: run make model" >&2; exit 2; }
nvidia-smi --query-gpu=name,compute_cap,driver_version,memory.total --format=csv,noheader
# candle compiles its kernels for this capability ("9.0" -> 90).
CAP=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -n1 | tr -d '. ')
export CUDA_COMPUTE_CAP=${CUDA_COMPUTE_CAP:-$CAP}
echo "gpu-check: compute capability $CUDA_COMPUTE_CAP"

cargo build --release --locked --features cuda
cargo test --release --locked --features cuda --test it cuda_matches -- --nocapture

mkdir -p "$WORK"
python3 - "$N" "$WORK/sentences.conll" <<'PY'
import json, sys
from pathlib import Path
n, out = int(sys.argv[1]), Path(sys.argv[2])
base = []
for path in sorted(Path("fixtures/crossner").glob("*.txt")):
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        toks = [l.split("\t")[0] for l in block.splitlines() if l.strip()]
        if toks:
            base.append(toks)
for path in sorted(Path("fixtures/b2nerd").glob("*/*.json")):
    if path.name != "labels.json":
        base.extend(r["sentence"].split() for r in json.loads(path.read_text(encoding="utf-8")) if r["sentence"].split())
with out.open("w", encoding="utf-8") as f:
    for i in range(n):
        toks = base[i % len(base)] + ([f"({i // len(base)})"] if i >= len(base) else [])
        f.write("".join(f"{t}\tO\n" for t in toks) + "\n")
PY
BIN=$TARGET/release/nerprep
"$BIN" --quiet ingest --format crossner --dataset gpu --split train "$WORK/sentences.conll" -o "$WORK/sentences.parquet"
start=$(date +%s.%N)
"$BIN" embed "$WORK/sentences.parquet" --model minilm --device cuda --batch-size 256 --no-cache -o "$WORK/sentences.emb.parquet"
end=$(date +%s.%N)
python3 -c "import sys; n, s = int(sys.argv[1]), float(sys.argv[3]) - float(sys.argv[2]); print(f'gpu-check: {n} sentences in {s:.1f} s wall (model load included): {n / s:,.0f} sentences/s')" "$N" "$start" "$end"
