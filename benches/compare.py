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

PRUNE_SAMPLES / PRUNE_BIG_SAMPLES set the sizes of the prune jobs (200000 / 1400000),
SCREEN_SAMPLES the samples per dataset of the screen jobs (100000). A job may return a
fourth value: its peer ran on a subset, and its times are multiplied by that factor.
Usage: NERPREP=target/release/nerprep python3 benches/compare.py [--only JOB ...] [--repeat N]
"""
import argparse
import json
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
# A job returns (input description, nerprep command, peer command[, peer time factor, or a
# function of nerprep's time that gives the description]). Add one per hot path.

def job_crossner_ingest(nerprep, py):
    src = sorted((ROOT / "fixtures" / "crossner").glob("*.txt"))
    data = replicate(src, WORK / "crossner" / "big_train.txt", 200 * MB)
    out = WORK / "out"
    return (
        f"CrossNER {data.stat().st_size / MB:.0f} MB",
        [nerprep, "--quiet", "ingest", "--format", "crossner", "--dataset", "bench", str(data), "-o", str(out / "crossner.parquet")],
        [py, str(PEERS / "crossner_ingest.py"), str(data), str(out / "crossner_peer.parquet")],
    )


# --- IEPile and Pile-NER inputs: real records, replicated with varied text ------------------

EN_PROMPT = ("You are an expert in named entity recognition. Please extract entities that match the schema "
             "definition from the input. Return an empty list if the entity type does not exist. Please respond "
             "in the format of a JSON string.")


def iepile_records():
    """(source, schema, input, output) of real IEPile NER records, plus the real B2NERD-layout
    sentences asked IEPile-style (schema split into chunks of 3 types, mentions de-duplicated
    per type, as the upstream converter does), plus the real RE records (to be skipped)."""
    fx = ROOT / "fixtures"
    out, other = [], []
    real = [json.loads(l) for l in (fx / "iepile" / "data_NER_train.json").read_text(encoding="utf-8").splitlines()]
    real += [json.loads((fx / "iepile" / f).read_text(encoding="utf-8")) for f in
             ("README_md_lines146-151_en_NER_example.json", "DeepKE_example_llm_test_ieplile_MSRA_record.json")]
    for r in real:
        ins = json.loads(r["instruction"])
        out.append((r["source"], ins["schema"], ins["input"], json.loads(r["output"]), ins["instruction"]))
    for labels in sorted((fx / "b2nerd").glob("*/labels.json")):
        types = json.loads(labels.read_text())
        for split in sorted(labels.parent.glob("*.json")):
            if split.name == "labels.json":
                continue
            for rec in json.loads(split.read_text()):
                for c in range(0, len(types), 3):
                    chunk = types[c:c + 3]
                    ans = {t: list(dict.fromkeys(e["name"] for e in rec["entities"] if e["type"] == t)) for t in chunk}
                    out.append((labels.parent.name, chunk, rec["sentence"], ans, EN_PROMPT))
    for line in (fx / "iepile" / "data_RE_train.json").read_text(encoding="utf-8").splitlines()[:8]:
        other.append(line)
    return out, other


def make_iepile(target, min_bytes):
    """IEPile JSON Lines of at least `min_bytes`: every replica appends its number to each
    sentence (`… (17)`), so texts differ between replicas but records of one sentence stay
    consecutive and every mention stays in its text."""
    if target.exists() and target.stat().st_size >= min_bytes:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    records, other = iepile_records()
    written, rep = 0, 0
    with open(target, "w", encoding="utf-8") as f:
        while written < min_bytes:
            lines = []
            for source, schema, text, ans, prompt in records:
                ins = json.dumps({"instruction": prompt, "schema": schema, "input": f"{text} ({rep})"}, ensure_ascii=False)
                lines.append(json.dumps({"task": "NER", "source": source, "instruction": ins,
                                         "output": json.dumps(ans, ensure_ascii=False)}, ensure_ascii=False))
            lines.extend(other)
            chunk = "\n".join(lines) + "\n"
            f.write(chunk)
            written += len(chunk.encode("utf-8"))
            rep += 1
    return target


def pile_ner_records():
    """Real UniversalNER evaluation records (one type per record), and the same passages as
    multi-turn conversations (all types in one record, the Pile-NER-type training layout)."""
    fx = ROOT / "fixtures" / "pile-ner"
    single = []
    for f in ("CrossNER_science_head.json", "mit-restaurant_head.json"):
        single += json.loads((fx / f).read_text())
    multi = []
    for r in single:
        turns = r["conversations"]
        if multi and multi[-1]["conversations"][0]["value"] == turns[0]["value"]:
            multi[-1]["conversations"].extend(turns[2:])
        else:
            multi.append({"id": r["id"], "conversations": [dict(t) for t in turns]})
    return single, multi


def make_pile_ner(target, min_bytes):
    """A Pile-NER JSON array (one line, ensure_ascii, like upstream) of at least `min_bytes`,
    alternating both layouts, every replica appending its number to the passages."""
    if target.exists() and target.stat().st_size >= min_bytes:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    single, multi = pile_ner_records()
    written, rep = 0, 0
    with open(target, "w") as f:
        f.write("[")
        while written < min_bytes:
            parts = []
            for r in (single if rep % 2 == 0 else multi):
                turns = [dict(t) for t in r["conversations"]]
                turns[0]["value"] = f"{turns[0]['value']} ({rep})"
                parts.append(json.dumps({"id": f"{r['id']}_{rep}", "conversations": turns}))
            chunk = (", " if rep else "") + ", ".join(parts)
            f.write(chunk)
            written += len(chunk)
            rep += 1
        f.write("]")
    return target


def _mention_job(fmt, make, name, size_mb, peer):
    def job(nerprep, py):
        data = make(WORK / fmt / f"{name}_{size_mb}mb.json", size_mb * MB)
        out = WORK / "out"
        return (
            f"{fmt} {data.stat().st_size / MB:.0f} MB",
            [nerprep, "--quiet", "ingest", "--format", fmt, "--dataset", "bench", str(data), "-o", str(out / f"{fmt}.parquet")],
            [py, str(PEERS / peer), str(data), str(out / f"{fmt}_peer.parquet")],
        )
    return job


job_iepile_ingest = _mention_job("iepile", make_iepile, "big", 512, "iepile_ingest.py")
job_iepile_ingest_128 = _mention_job("iepile", make_iepile, "big", 128, "iepile_ingest.py")
job_pile_ner_ingest = _mention_job("pile-ner", make_pile_ner, "big", 128, "pile_ner_ingest.py")
job_pile_ner_ingest_512 = _mention_job("pile-ner", make_pile_ner, "big", 512, "pile_ner_ingest.py")


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


def job_eval_json_offset(nerprep, py):
    """Strict F1 of perfect json-offset predictions emitted from replicated CrossNER."""
    src = sorted((ROOT / "fixtures" / "crossner").glob("*.txt"))
    work = WORK / "eval"
    data = replicate(src, work / "gold_train.txt", 20 * MB)
    gold, pred = work / "gold.parquet", work / "pred.jsonl"
    if not gold.exists():
        subprocess.run([nerprep, "--quiet", "ingest", "--format", "crossner", "--dataset", "bench", str(data), "-o", str(gold)], check=True)
    if not pred.exists():
        subprocess.run([nerprep, "--quiet", "emit", str(gold), "--template", "b2ner", "--answer-format", "json-offset", "-o", str(pred)], check=True)
    out = WORK / "out"
    return (
        f"{pred.stat().st_size / MB:.0f} MB of json-offset predictions",
        [nerprep, "--quiet", "eval", "--gold", str(gold), "--pred", str(pred), "--answer-format", "json-offset", "-o", str(out / "eval")],
        [py, str(PEERS / "eval_strict_f1.py"), str(gold), str(pred), str(out / "eval_peer.json")],
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


# Embedding throughput: ~10k distinct fixture sentences, batch 64, no cache, CPU. The peer is
# sentence-transformers (torch, fp32 MiniLM) where it can be installed, for every job: the
# int8 and static jobs are compared with the same full-precision peer.
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


def embed_input(nerprep, n=EMBED_SENTENCES):
    """`n` bench sentences as a text file (one per line, for the peer) and as an ingested
    samples table (for nerprep). Repeats get a `(k)` token so that all texts are distinct
    (nerprep would otherwise embed a repeated text once)."""
    work = WORK / "embed" if n == EMBED_SENTENCES else WORK / f"embed-{n}"
    txt, conll, table = work / "sentences.txt", work / "sentences.conll", work / "sentences.parquet"
    if table.exists() and txt.exists():
        return txt, table
    work.mkdir(parents=True, exist_ok=True)
    base = fixture_sentences()
    sentences = [base[i % len(base)] + ([f"({i // len(base)})"] if i >= len(base) else []) for i in range(n)]
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


def embed_job(model, backend=None):
    """`nerprep embed --model MODEL [--backend BACKEND]` on the bench sentences."""
    choice = ["--model", model] + (["--backend", backend] if backend else [])
    name = model + (f" --backend {backend}" if backend else "")

    def job(nerprep, py):
        txt, table = embed_input(nerprep)
        models = ROOT / "models"
        probe = subprocess.run([nerprep, "--quiet", "embed", str(table), *choice,
                                "--models", str(models), "--what", "types", "--no-cache", "-o", str(WORK / "out" / "probe.parquet")],
                               stderr=subprocess.PIPE, text=True)
        if probe.returncode != 0:
            return f"skipped: {probe.stderr.strip().splitlines()[-1]}", None, None
        peer = embed_peer(py)
        return (
            f"{EMBED_SENTENCES} sentences, batch 64, CPU ({name} vs sentence-transformers)",
            [nerprep, "--quiet", "embed", str(table), *choice, "--models", str(models),
             "--no-cache", "--batch-size", "64", "-o", str(WORK / "out" / f"emb-{model}-{backend}.parquet")],
            peer and [peer, str(PEERS / "st_embed.py"), str(models / "all-MiniLM-L6-v2"), str(txt),
                      str(WORK / "out" / "emb-peer.npy"), "--batch-size", "64"],
        )
    return job


def job_embed_static_rate(nerprep, py):
    """`minilm-static` throughput without its fixed costs (process start, model load): the
    difference between 102,400 and 10,240 bench sentences, in distinct texts per second
    (a repeated text is embedded once). The best of three runs of the small input is taken
    inside the job; the large one is the job's own timed command."""
    small, large = (embed_input(nerprep, n) for n in (EMBED_SENTENCES, 10 * EMBED_SENTENCES))
    distinct = [len(set(txt.read_text(encoding="utf-8").splitlines())) for txt, _ in (small, large)]
    command = lambda table: [nerprep, "--quiet", "embed", str(table), "--model", "minilm-static", "--models", str(ROOT / "models"),
                             "--no-cache", "--batch-size", "64", "-o", str(WORK / "out" / "emb-static-rate.parquet")]
    base = min(run(command(small[1]))[0] for _ in range(3))

    def describe(ours):
        extra = distinct[1] - distinct[0]
        rate = extra / max(ours[0] - base, 1e-9)
        return (f"minilm-static, {10 * EMBED_SENTENCES:,} vs {EMBED_SENTENCES:,} sentences ({base:.2f} s): "
                f"{extra:,} more distinct texts at {rate:,.0f} texts/s (target >= 50,000); nerprep only")
    return "minilm-static rate", command(large[1]), None, describe


# Clustering with k selection: k = 2..30, silhouette + gap (B = 10, 3 restarts). Inputs are
# made by benches/peers/cluster_input.py (seeded); BENCH_CLUSTER_N / BENCH_CLUSTER_BIG_N shrink
# them for a quick check of the jobs.
CLUSTER_N = int(os.environ.get("BENCH_CLUSTER_N", 5000))
CLUSTER_BIG_N = int(os.environ.get("BENCH_CLUSTER_BIG_N", 100_000))
CLUSTER_DIM = 384
CLUSTER_ARGS = ["--k", "2..30", "--restarts", "3", "--refs", "10", "--seed", "0"]


def cluster_input(py, n):
    """The seeded n × 384 input as a nerprep embeddings table and as .npy, made once."""
    work = WORK / "cluster"
    table, npy = work / f"emb-{n}.parquet", work / f"emb-{n}.npy"
    if not (table.exists() and npy.exists()):
        work.mkdir(parents=True, exist_ok=True)
        subprocess.run([py, str(PEERS / "cluster_input.py"), str(n), str(CLUSTER_DIM), str(table), str(npy)], check=True)
    return table, npy


def job_cluster(nerprep, py):
    table, npy = cluster_input(py, CLUSTER_N)
    return (
        f"{CLUSTER_N} x {CLUSTER_DIM}, k 2..30, 3 restarts, B = 10 (scikit-learn KMeans + silhouette_score + numpy gap)",
        [nerprep, "--quiet", "cluster", str(table), *CLUSTER_ARGS, "-o", str(WORK / "out" / "cluster")],
        [py, str(PEERS / "cluster.py"), str(npy), "2", "30", "3", "10", "0"],
    )


def job_cluster_100k(nerprep, py):
    table, _ = cluster_input(py, CLUSTER_BIG_N)
    return (
        f"{CLUSTER_BIG_N} x {CLUSTER_DIM}, k 2..30, 3 restarts, B = 10, silhouette sampled (20,000 units); nerprep only",
        [nerprep, "--quiet", "cluster", str(table), *CLUSTER_ARGS, "--silhouette-sample", "20000", "-o", str(WORK / "out" / "cluster-100k")],
        None,
    )


# --- prune: B2NER diversity-aware pruning on random unit vectors --------------------------

PRUNE_DATASETS, PRUNE_LABELS_PER_DATASET = 40, 10  # 400 labels, as B2NERD has ~400 types


def prune_corpus(n):
    """CrossNER files of `n` seeded random sentences over 40 datasets x 10 labels (1-2
    entities each, 5% without any), as input for `nerprep ingest`."""
    import random
    target = WORK / "prune" / f"txt-{n}"
    if (target / ".done").exists():
        return target
    target.mkdir(parents=True, exist_ok=True)
    rng = random.Random(n)
    words = [f"w{i}" for i in range(5000)]
    per = n // PRUNE_DATASETS
    for d in range(PRUNE_DATASETS):
        labels = [f"type{d:02d}x{j}" for j in range(PRUNE_LABELS_PER_DATASET)]
        lines = []
        for _ in range(per if d else n - per * (PRUNE_DATASETS - 1)):
            ents = 0 if rng.random() < 0.05 else rng.choice((1, 1, 2))
            tokens = [f"{rng.choice(words)}\tO" for _ in range(8)]
            for k in range(ents):
                tokens.insert(2 + 4 * k, f"{rng.choice(words)}\tB-{rng.choice(labels)}")
            lines.append("\n".join(tokens) + "\n\n")
        (target / f"ds{d:02d}_train.txt").write_text("".join(lines))
    (target / ".done").write_text("")
    return target


def prune_input(nerprep, py, n):
    """The samples table and a 384-dim random-unit-vector embeddings table (setup, not timed)."""
    work = WORK / "prune"
    table, emb = work / f"samples-{n}.parquet", work / f"emb-{n}.parquet"
    if not table.exists():
        run([nerprep, "--quiet", "ingest", "--format", "crossner", str(prune_corpus(n)), "-o", str(table)])
    if not emb.exists():
        run([py, str(PEERS / "prune.py"), "gen-emb", str(table), str(emb), "--dim", "384", "--seed", "0"])
    return table, emb


def job_prune(nerprep, py):
    n = int(os.environ.get("PRUNE_SAMPLES", 200_000))
    table, emb = prune_input(nerprep, py, n)
    out = WORK / "out"
    return (
        f"{n} samples x 384-dim random unit vectors, 400 labels, k = 400",
        [nerprep, "--quiet", "prune", str(table), "--emb", str(emb), "--per-type", "400", "-o", str(out / "pruned.parquet")],
        [py, str(PEERS / "prune.py"), "prune", str(table), str(emb), str(out / "pruned_peer.json"), "--per-type", "400"],
    )


def job_prune_big(nerprep, py):
    n = int(os.environ.get("PRUNE_BIG_SAMPLES", 1_400_000))
    table, emb = prune_input(nerprep, py, n)
    out = WORK / "out"
    return (
        f"{n} samples (B2NERD_all size) x 384-dim random unit vectors, nerprep alone",
        [nerprep, "--quiet", "prune", str(table), "--emb", str(emb), "--per-type", "400", "-o", str(out / "pruned_big.parquet")],
        None,
    )


# --- screen: rule-based conflict screening (B2NER) and the kNN check ---------------------

SCREEN_DATASETS = 10


def screen_tables(nerprep, n):
    """SCREEN_DATASETS samples tables of `n` sentences each: the CrossNER fixtures replicated,
    each replica's sentences made distinct by one extra token (setup, not timed)."""
    work = WORK / "screen"
    tables = [work / f"ds{d}-{n}.parquet" for d in range(SCREEN_DATASETS)]
    if all(t.exists() for t in tables):
        return tables
    work.mkdir(parents=True, exist_ok=True)
    sentences = []
    for f in sorted((ROOT / "fixtures" / "crossner").glob("*.txt")):
        sentences += [s for s in f.read_text().split("\n\n") if s.strip()]
    for d, table in enumerate(tables):
        txt = work / f"ds{d}-{n}_train.txt"
        with open(txt, "w") as out:
            for i in range(n):
                out.write(sentences[(i + d * 7) % len(sentences)].strip("\n"))
                out.write(f"\nr{i // len(sentences)}x{d}\tO\n\n")
        run([nerprep, "--quiet", "ingest", "--format", "crossner", "--dataset", f"ds{d}", str(txt), "-o", str(table)])
    return tables


def job_screen(nerprep, py):
    n = int(os.environ.get("SCREEN_SAMPLES", 100_000))
    tables = screen_tables(nerprep, n)
    out = WORK / "out"
    fraction = 0.01
    return (
        f"{SCREEN_DATASETS} datasets x {n} samples (CrossNER replicated); peer on {fraction:.0%}, time x{1 / fraction:.0f}",
        [nerprep, "--quiet", "screen", *map(str, tables), "-o", str(out / "screen")],
        [py, str(PEERS / "screen.py"), "screen", str(out / "screen_peer.json"), *map(str, tables), "--fraction", str(fraction)],
        1 / fraction,
    )


def job_screen_knn(nerprep, py):
    n = int(os.environ.get("SCREEN_SAMPLES", 100_000))
    tables = screen_tables(nerprep, n)
    emb = WORK / "screen" / "mentions-200k.parquet"
    if not emb.exists():
        run([py, str(PEERS / "screen.py"), "gen-mentions", str(emb), "--n", "200000", "--datasets", str(SCREEN_DATASETS)])
    out = WORK / "out"
    return (
        f"screen of {SCREEN_DATASETS} x {n} samples + kNN (k = 10) on 200,000 384-dim mention embeddings, nerprep alone",
        [nerprep, "--quiet", "screen", *map(str, tables), "--knn", "10", "--emb", str(emb), "-o", str(out / "screen_knn")],
        None,
    )


JOBS = {
    "crossner-ingest": job_crossner_ingest,
    "iepile-ingest": job_iepile_ingest,
    "iepile-ingest-128": job_iepile_ingest_128,
    "pile-ner-ingest": job_pile_ner_ingest,
    "pile-ner-ingest-512": job_pile_ner_ingest_512,
    "map": job_map,
    "emit-b2ner": job_emit_b2ner,
    "eval-json-offset": job_eval_json_offset,
    "xmi-ingest": job_xmi_ingest,
    "embed-candle": embed_job("minilm", "candle"),
    "embed-onnx": embed_job("minilm"),
    "embed-int8": embed_job("minilm-int8"),
    "embed-static": embed_job("minilm-static"),
    "embed-static-rate": job_embed_static_rate,
    "cluster": job_cluster,
    "cluster-100k": job_cluster_100k,
    "prune": job_prune,
    "prune-1.4m": job_prune_big,
    "screen": job_screen,
    "screen-knn": job_screen_knn,
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
        what, ours, peer, *extra = JOBS[name](nerprep, py)
        print(f"[{name}] {what} ...", file=sys.stderr, flush=True)
        t_ours = ours and min(run(ours) for _ in range(args.repeat))
        t_peer = peer and min(run(peer) for _ in range(args.repeat))
        if extra and callable(extra[0]):  # a description that needs nerprep's time
            what = extra[0](t_ours)
        elif t_peer and extra:  # a peer run on a subset: its times scaled up to the full input
            t_peer = (t_peer[0] * extra[0], t_peer[1] * extra[0], t_peer[2])
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
