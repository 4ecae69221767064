#!/usr/bin/env python3
"""Peak memory of `nerprep ingest` on large inputs: must stay under a bound whatever the
input size (`make check-memory`).

Generates (once, under benches/.work/memory/, git-ignored) an input of at least SIZE_MB
(default 1024) of each JSON format — IEPile JSON Lines, a Pile-NER array, a B2NERD array —
and a zip of XMI documents, every record made distinct, then ingests each and reports wall
time, rows and peak RSS (from wait4, the kernel's own figure). It also ingests a quarter of
each input: a bound that holds at both sizes is a bound independent of size.

`--merge global` is the documented exception (it keeps every distinct passage of a file
until the file ends) and is not checked here; the default `consecutive` is.

Usage: NERPREP=target/release/nerprep python3 scripts/check_memory.py [--size-mb N] [--limit-mb N]
"""

import argparse
import json
import os
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benches"))
from compare import MB, make_iepile, make_pile_ner, run  # noqa: E402

WORK = ROOT / "benches" / ".work" / "memory"


def make_b2nerd(target, min_bytes):
    """A B2NERD array (one line, as upstream) of real fixture records; every replica appends
    its number to each sentence, after the entities, so offsets stay right."""
    if target.exists() and target.stat().st_size >= min_bytes:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    records = []
    for f in sorted((ROOT / "fixtures" / "b2nerd").glob("*/train.json")):
        records += json.loads(f.read_text(encoding="utf-8"))
    written, rep = 0, 0
    with open(target, "w", encoding="utf-8") as out:
        out.write("[")
        while written < min_bytes:
            parts = [json.dumps({**r, "sentence": f"{r['sentence']} ({rep})"}, ensure_ascii=False) for r in records]
            chunk = (", " if rep else "") + ", ".join(parts)
            out.write(chunk)
            written += len(chunk.encode("utf-8"))
            rep += 1
        out.write("]")
    return target


def make_xmi_zip(target, min_bytes):
    """A zip of XMI documents (the DKPro fixtures, deflated) with their TypeSystem.xml."""
    if target.exists() and target.stat().st_size >= min_bytes:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fx = ROOT / "fixtures" / "xmi"
    docs = [(fx / "cas_with_smileys.xmi").read_bytes()]
    tmp = target.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr("TypeSystem.xml", (fx / "important_dkpro_types.xml").read_bytes())
        written, i = 0, 0
        while written < min_bytes:
            data = docs[i % len(docs)]
            z.writestr(f"docs/doc{i:07d}.xmi", data)
            written += len(data)
            i += 1
    os.replace(tmp, target)
    return target


FORMATS = [
    ("iepile", make_iepile, "json"),
    ("pile-ner", make_pile_ner, "json"),
    ("b2nerd", make_b2nerd, "json"),
    ("xmi", make_xmi_zip, "zip"),
]


def ingest(nerprep, fmt, data):
    out = WORK / "out" / f"{fmt}.parquet"
    out.parent.mkdir(parents=True, exist_ok=True)
    wall, cpu, rss = run([nerprep, "--quiet", "ingest", "--format", fmt, "--dataset", "memory", str(data), "-o", str(out)])
    return wall, rss


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mb", type=int, default=int(os.environ.get("SIZE_MB", 1024)))
    ap.add_argument("--limit-mb", type=int, default=300)
    args = ap.parse_args()
    nerprep = os.environ.get("NERPREP") or str(ROOT / "target" / "release" / "nerprep")
    if not Path(nerprep).exists():
        raise SystemExit(f"{nerprep} not found: set NERPREP to the nerprep binary (make check-memory builds it)")
    print(f"{'input':<34} {'size MB':>8} {'wall s':>7} {'peak RSS MiB':>13}")
    worst = 0.0
    for fmt, make, ext in FORMATS:
        for size in (args.size_mb // 4, args.size_mb):
            data = make(WORK / f"{fmt}_{size}mb.{ext}", size * MB)
            wall, rss = ingest(nerprep, fmt, data)
            worst = max(worst, rss)
            print(f"{fmt + ' ' + data.name:<34} {data.stat().st_size / MB:8.0f} {wall:7.1f} {rss:13.0f}", flush=True)
    verdict = "ok" if worst < args.limit_mb else "OVER"
    print(f"peak RSS at most {worst:.0f} MiB; bound {args.limit_mb} MiB: {verdict}")
    sys.exit(0 if worst < args.limit_mb else 1)


if __name__ == "__main__":
    main()
