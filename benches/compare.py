#!/usr/bin/env python3
"""nerprep against its Python peers, on the same inputs, in one run.

Each job makes its input once (under benches/.work/, git-ignored), runs the nerprep
release binary and the peer script on it, and the run ends with one table:

    job | nerprep | peer | ratio

Times are wall-clock seconds (best of --repeat runs) with the CPU seconds (user + system)
beside them, peak RSS is the child's maximum resident set. `ratio` is peer wall time /
nerprep wall time (higher is better for nerprep); `cpu ratio` compares CPU seconds, which
stays meaningful when other work shares the machine.
Peers live in benches/peers/ and run in a venv made here from benches/peers/requirements.txt.

Usage: NERPREP=target/release/nerprep python3 benches/compare.py [--only JOB ...] [--repeat N]
"""
import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benches" / ".work"
PEERS = ROOT / "benches" / "peers"
VENV = WORK / "venv"
MB = 1024 * 1024


def venv_python():
    """The peers' interpreter, creating the venv and installing requirements once."""
    py = VENV / "bin" / "python"
    stamp = VENV / ".installed"
    req = PEERS / "requirements.txt"
    if not stamp.exists() or stamp.read_text() != req.read_text():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "-r", str(req)], check=True)
        stamp.write_text(req.read_text())
    return str(py)


def replicate(sources, target, min_bytes, separator=b""):
    """Concatenates `sources` over and over into `target` until it holds `min_bytes`."""
    if target.exists() and target.stat().st_size >= min_bytes:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    chunks = [Path(s).read_bytes() for s in sources]
    written = 0
    with open(target, "wb") as out:
        while written < min_bytes:
            for c in chunks:
                out.write(c)
                out.write(separator)
                written += len(c) + len(separator)
    return target


def run(cmd):
    """Runs `cmd`, returning (wall s, CPU s, peak RSS MiB); fails loudly on a non-zero exit."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    stderr = proc.stderr.read().decode(errors="replace")
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{' '.join(map(str, cmd))} exited {code}:\n{stderr}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


# --- jobs -------------------------------------------------------------------------------
# A job returns (input description, nerprep command, peer command). Add one per hot path.

def job_crossner_ingest(nerprep, py):
    src = sorted((ROOT / "fixtures" / "crossner").glob("*.txt"))
    data = replicate(src, WORK / "crossner" / "big_train.txt", 200 * MB)
    out = WORK / "out"
    return (
        f"CrossNER {data.stat().st_size / MB:.0f} MB",
        [nerprep, "--quiet", "ingest", "--format", "crossner", "--dataset", "bench", str(data), "-o", str(out / "crossner.parquet")],
        [py, str(PEERS / "crossner_ingest.py"), str(data), str(out / "crossner_peer.parquet")],
    )


def crossner_table(nerprep):
    """The replicated CrossNER fixtures ingested once (setup, not timed): map and emit read it."""
    src = sorted((ROOT / "fixtures" / "crossner").glob("*.txt"))
    data = replicate(src, WORK / "crossner" / "big_train.txt", 200 * MB)
    table = WORK / "map" / "crossner.parquet"
    if not table.exists():
        table.parent.mkdir(parents=True, exist_ok=True)
        run([nerprep, "--quiet", "ingest", "--format", "crossner", "--dataset", "bench", str(data), "-o", str(table)])
    return data, table


def job_map(nerprep, py):
    data, table = crossner_table(nerprep)
    mapping = ROOT / "mappings" / "crossner.yaml"
    out = WORK / "out"
    return (
        f"CrossNER table from {data.stat().st_size / MB:.0f} MB",
        [nerprep, "--quiet", "map", str(table), "--mapping", str(mapping), "-o", str(out / "mapped.parquet")],
        [py, str(PEERS / "map_archetypes.py"), str(table), str(mapping), str(out / "mapped_peer.parquet")],
    )


def job_emit_b2ner(nerprep, py):
    data, table = crossner_table(nerprep)
    out = WORK / "out"
    return (
        f"CrossNER table from {data.stat().st_size / MB:.0f} MB -> b2ner alpaca JSONL",
        [nerprep, "--quiet", "emit", str(table), "--template", "b2ner", "-o", str(out / "emit" / "b2ner.jsonl")],
        [py, str(PEERS / "b2ner_emit.py"), str(table), str(out / "b2ner_peer.jsonl")],
    )


# Embedding throughput: ~10k distinct fixture sentences, batch 64, no cache, CPU. The peer is
# sentence-transformers (torch) where it can be installed; the ONNX job needs a binary built
# with `make bench FEATURES=onnx`.
EMBED_SENTENCES = 10_240
EMBED_REQUIREMENTS = PEERS / "requirements-embed.txt"


def fixture_sentences():
    """Every sentence of the CrossNER and B2NERD fixtures, as token lists, in a fixed order."""
    import json
    out = []
    for path in sorted((ROOT / "fixtures" / "crossner").glob("*.txt")):
        for block in path.read_text(encoding="utf-8").split("\n\n"):
            tokens = [line.split("\t")[0] for line in block.splitlines() if line.strip()]
            if tokens:
                out.append(tokens)
    for path in sorted((ROOT / "fixtures" / "b2nerd").glob("*/*.json")):
        if path.name != "labels.json":
            out.extend(r["sentence"].split() for r in json.loads(path.read_text(encoding="utf-8")))
    return [t for t in out if t]


def embed_input(nerprep):
    """The bench sentences as a text file (one per line, for the peer) and as an ingested
    samples table (for nerprep). Repeats get a `(k)` token so that all texts are distinct
    (nerprep would otherwise embed a repeated text once)."""
    work = WORK / "embed"
    txt, conll, table = work / "sentences.txt", work / "sentences.conll", work / "sentences.parquet"
    if table.exists() and txt.exists():
        return txt, table
    work.mkdir(parents=True, exist_ok=True)
    base = fixture_sentences()
    sentences = [base[i % len(base)] + ([f"({i // len(base)})"] if i >= len(base) else []) for i in range(EMBED_SENTENCES)]
    txt.write_text("".join(" ".join(t) + "\n" for t in sentences), encoding="utf-8")
    conll.write_text("".join("".join(f"{tok}\tO\n" for tok in t) + "\n" for t in sentences), encoding="utf-8")
    subprocess.run([nerprep, "--quiet", "ingest", "--format", "crossner", "--dataset", "bench", "--split", "train",
                    str(conll), "-o", str(table)], check=True)
    return txt, table


def embed_peer(py):
    """The venv's Python if sentence-transformers is (or can be) installed there, else None."""
    stamp = VENV / ".embed-installed"
    want = EMBED_REQUIREMENTS.read_text()
    if not stamp.exists() or stamp.read_text() != want:
        print("installing the embedding peer (sentence-transformers, torch: large) ...", file=sys.stderr)
        if subprocess.run([py, "-m", "pip", "install", "-q", "-r", str(EMBED_REQUIREMENTS)]).returncode != 0:
            print("warning: sentence-transformers could not be installed; no peer for the embed jobs", file=sys.stderr)
            return None
        stamp.write_text(want)
    return py


def embed_job(backend):
    def job(nerprep, py):
        txt, table = embed_input(nerprep)
        models = ROOT / "models"
        probe = subprocess.run([nerprep, "--quiet", "embed", str(table), "--model", "minilm", "--backend", backend,
                                "--models", str(models), "--what", "types", "--no-cache", "-o", str(WORK / "out" / "probe.parquet")],
                               stderr=subprocess.PIPE, text=True)
        if probe.returncode != 0:
            return f"skipped: {probe.stderr.strip().splitlines()[-1]}", None, None
        peer = embed_peer(py)
        return (
            f"{EMBED_SENTENCES} sentences, batch 64, CPU ({backend} vs sentence-transformers)",
            [nerprep, "--quiet", "embed", str(table), "--model", "minilm", "--backend", backend, "--models", str(models),
             "--no-cache", "--batch-size", "64", "-o", str(WORK / "out" / f"emb-{backend}.parquet")],
            peer and [peer, str(PEERS / "st_embed.py"), str(models / "all-MiniLM-L6-v2"), str(txt),
                      str(WORK / "out" / "emb-peer.npy"), "--batch-size", "64"],
        )
    return job


JOBS = {
    "crossner-ingest": job_crossner_ingest,
    "map": job_map,
    "emit-b2ner": job_emit_b2ner,
    "embed-candle": embed_job("candle"),
    "embed-onnx": embed_job("onnx"),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="*", choices=sorted(JOBS), help="run only these jobs")
    ap.add_argument("--repeat", type=int, default=1, help="runs per side; the best time counts")
    args = ap.parse_args()
    nerprep = os.environ.get("NERPREP") or shutil.which("nerprep")
    if not nerprep or not Path(nerprep).exists():
        raise SystemExit("set NERPREP to the nerprep release binary (make bench does)")
    py = venv_python()
    rows = []
    for name in args.only or JOBS:
        (WORK / "out").mkdir(parents=True, exist_ok=True)
        what, ours, peer = JOBS[name](nerprep, py)
        print(f"[{name}] {what} ...", file=sys.stderr, flush=True)
        t_ours = ours and min(run(ours) for _ in range(args.repeat))
        t_peer = peer and min(run(peer) for _ in range(args.repeat))
        rows.append((name, what, t_ours, t_peer))
    print("\n| job | input | nerprep | peer | ratio | cpu ratio |")
    print("|---|---|---|---|---|---|")
    for name, what, ours, peer in rows:
        cell = lambda t: f"{t[0]:.2f} s (cpu {t[1]:.2f} s), {t[2]:.0f} MiB" if t else "n/a"
        ratio = f"{peer[0] / ours[0]:.1f}x" if ours and peer else "n/a"
        cpu_ratio = f"{peer[1] / ours[1]:.1f}x" if ours and peer else "n/a"
        print(f"| {name} | {what} | {cell(ours)} | {cell(peer)} | {ratio} | {cpu_ratio} |")


if __name__ == "__main__":
    main()
