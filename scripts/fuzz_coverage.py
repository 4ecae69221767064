#!/usr/bin/env python3
"""Which of nerprep's own code a fuzz corpus reaches, and what a run added to it.

libFuzzer's `cov` counts every instrumented edge: serde_json's number parser, hashbrown's
probing and std's generic code grow it long after the code under test stops gaining. This
script runs the target's binary once over each CORPUS (directories, `.tar.gz` files of
`fuzz/seeds/` or single files, comma-separated, make one corpus), executing every input once and mutating nothing (`-runs=0`), with
`-print_coverage=1`. The binary has no sanitizer runtime to name the PCs, so
`scripts/fuzz_symbolize.c` is built and preloaded to give their offsets, and addr2line maps
those to functions and source files. It prints, per corpus, the edges covered in all and in
`src/` (nerprep itself), then, between the first and the last corpus, the `src/` files and
functions that gained. Equal `src/` edges for the seeds a run started from and the corpus it
ended with mean the run found nothing new in nerprep's own code.

usage: fuzz_coverage.py TARGET CORPUS [CORPUS ...]
   e.g. fuzz_coverage.py reader_iepile fuzz/seeds/reader_iepile.tar.gz,fixtures/iepile fuzz/corpus/reader_iepile
The binary is the one `make fuzz` built: $FUZZ_BIN, else
${CARGO_TARGET_DIR:-fuzz/target}/x86_64-unknown-linux-gnu/release/TARGET.
"""
import collections
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FUNC = re.compile(r'^(?:UN)?COVERED_FUNC: hits: \d+ edges: (\d+)/(\d+) (0x[0-9a-f]+)')


def binary(target):
    if os.environ.get('FUZZ_BIN'):
        return Path(os.environ['FUZZ_BIN'])
    base = Path(os.environ.get('CARGO_TARGET_DIR') or ROOT / 'fuzz' / 'target')
    return base / 'x86_64-unknown-linux-gnu' / 'release' / target


def symbolizer():
    """The preloaded stub, built when missing or older than its source."""
    src = ROOT / 'scripts' / 'fuzz_symbolize.c'
    lib = ROOT / 'fuzz' / 'logs' / 'libfuzz_symbolize.so'
    if not lib.exists() or lib.stat().st_mtime < src.stat().st_mtime:
        lib.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(['gcc', '-shared', '-fPIC', '-O2', '-o', str(lib), str(src), '-ldl'], check=True)
    return lib


def gather(corpus, into):
    """Copies the inputs of `corpus` (comma-separated directories, `.tar.gz` files or single
    files) into the directory `into`."""
    for i, part in enumerate(Path(p) for p in corpus.split(',')):
        if part.is_dir():
            files = [f for f in part.iterdir() if f.is_file()]
        elif part.name.endswith('.tar.gz'):
            unpacked = into / f'.unpacked{i}'
            with tarfile.open(part) as tar:
                tar.extractall(unpacked, filter='data')
            files = [f for f in unpacked.rglob('*') if f.is_file()]
        else:
            files = [part]
        for f in files:
            (into / f'{i}-{f.name}').write_bytes(f.read_bytes())
        if part.name.endswith('.tar.gz'):
            shutil.rmtree(unpacked)


def coverage(binp, lib, corpus, scratch):
    """{function entry offset: (edges covered, edges)} for one corpus."""
    with tempfile.TemporaryDirectory(dir=scratch) as tmp:
        inputs = Path(tmp) / 'inputs'
        inputs.mkdir()
        gather(corpus, inputs)
        env = dict(os.environ, LD_PRELOAD=str(lib), TMPDIR=tmp)
        max_len = os.environ.get('FUZZ_MAX_LEN', '16384')
        run = subprocess.run([str(binp), '-runs=0', '-print_coverage=1', f'-max_len={max_len}', str(inputs)],
                             env=env, capture_output=True, text=True, errors='replace')
    funcs = {}
    for line in (run.stdout + run.stderr).splitlines():
        m = FUNC.match(line)
        if m:
            funcs[m[3]] = (int(m[1]), int(m[2]))
    if not funcs:
        sys.exit(f'{binp}: no coverage printed for {corpus} (exit {run.returncode}):\n{run.stderr[-2000:]}')
    return funcs


def places(binp, offsets):
    """{offset: (function, path relative to the repository or None when not nerprep's src/)}."""
    offsets = sorted(offsets)
    out = subprocess.run(['addr2line', '-f', '-C', '-e', str(binp)] + offsets,
                         capture_output=True, text=True, check=True).stdout.splitlines()
    own = str(ROOT / 'src') + '/'
    result = {}
    for i, off in enumerate(offsets):
        name, loc = out[2 * i], out[2 * i + 1].split(':')[0]
        result[off] = (name, loc[len(str(ROOT)) + 1:] if loc.startswith(own) else None)
    return result


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    target, corpora = sys.argv[1], sys.argv[2:]
    binp = binary(target)
    if not binp.exists():
        sys.exit(f'{binp} does not exist: build the target first (make fuzz FUZZ_TARGETS={target} FUZZ_S=1)')
    lib = symbolizer()
    scratch = '/dev/shm' if os.access('/dev/shm', os.W_OK) else None
    runs = [coverage(binp, lib, c, scratch) for c in corpora]
    where = places(binp, set().union(*runs))
    for corpus, funcs in zip(corpora, runs):
        total = sum(c for c, _ in funcs.values())
        own = sum(c for f, (c, _) in funcs.items() if where[f][1])
        own_all = sum(e for f, (_, e) in funcs.items() if where[f][1])
        print(f'{corpus}: {total:,} edges, {own:,} of them in src/ (of {own_all:,} instrumented there)')
    if len(runs) < 2:
        return
    first, last = runs[0], runs[-1]
    files, gained = collections.Counter(), []
    for f in set(first) | set(last):
        path = where[f][1]
        delta = last.get(f, (0, 0))[0] - first.get(f, (0, 0))[0]
        if path and delta:
            files[path] += delta
            gained.append((delta, where[f][0], path))
    if not gained:
        print('src/: no edge gained or lost between the first and the last corpus')
        return
    print('src/ edges gained (+) or lost (-) from the first corpus to the last, by file:')
    for path, n in sorted(files.items()):
        print(f'  {n:+d} {path}')
    print('by function:')
    for delta, name, path in sorted(gained, key=lambda g: (-g[0], g[2])):
        print(f'  {delta:+d} {name[:110]} ({path})')


if __name__ == '__main__':
    main()
