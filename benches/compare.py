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


def replicate_files(sources, target_dir, count):
    """Copies `sources` round-robin into `target_dir` as `count` files `doc00000.<ext>`."""
    target_dir.mkdir(parents=True, exist_ok=True)
    existing = sorted(target_dir.iterdir())
    if len(existing) == count:
        return target_dir
    for f in existing:
        f.unlink()
    blobs = [(Path(s).suffix, Path(s).read_bytes()) for s in sources]
    for i in range(count):
        ext, data = blobs[i % len(blobs)]
        (target_dir / f"doc{i:05d}{ext}").write_bytes(data)
    return target_dir


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


def job_xmi_ingest(nerprep, py):
    xmi = ROOT / "fixtures" / "xmi"
    sources = [xmi / "cas_with_smileys.xmi", xmi / "edge" / "curie_nonbmp.xmi"]
    typesystems = [str(xmi / "important_dkpro_types.xml"), str(xmi / "edge" / "TypeSystem.xml")]
    corpus = replicate_files(sources, WORK / "xmi" / "corpus", 2000)
    size = sum(f.stat().st_size for f in corpus.iterdir())
    out = WORK / "out"
    ts_args = [a for ts in typesystems for a in ("--typesystem", ts)]
    return (
        f"XMI 2,000 documents, {size / MB:.0f} MB",
        [nerprep, "--quiet", "ingest", "--format", "xmi", *ts_args, "--dataset", "bench", str(corpus), "-o", str(out / "xmi.parquet")],
        [py, str(PEERS / "xmi_cassis.py"), str(corpus), *typesystems],
    )


JOBS = {
    "crossner-ingest": job_crossner_ingest,
    "map": job_map,
    "emit-b2ner": job_emit_b2ner,
    "xmi-ingest": job_xmi_ingest,
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
        what, ours, peer = JOBS[name](nerprep, py)
        (WORK / "out").mkdir(parents=True, exist_ok=True)
        print(f"[{name}] {what} ...", file=sys.stderr, flush=True)
        t_ours = min(run(ours) for _ in range(args.repeat))
        t_peer = min(run(peer) for _ in range(args.repeat))
        rows.append((name, what, t_ours, t_peer))
    print("\n| job | input | nerprep | peer | ratio | cpu ratio |")
    print("|---|---|---|---|---|---|")
    for name, what, (ts, cs, rs), (tp, cp, rp) in rows:
        ours = f"{ts:.2f} s (cpu {cs:.2f} s), {rs:.0f} MiB"
        peer = f"{tp:.2f} s (cpu {cp:.2f} s), {rp:.0f} MiB"
        print(f"| {name} | {what} | {ours} | {peer} | {tp / ts:.1f}x | {cp / cs:.1f}x |")


if __name__ == "__main__":
    main()
