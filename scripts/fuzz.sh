#!/usr/bin/env bash
# Runs every fuzz target (or those in FUZZ_TARGETS) for FUZZ_S seconds (default 60), FUZZ_JOBS
# at a time (default 1), seeded with the fixtures, and prints executions and coverage per
# target, with the coverage at half time beside the end ("flat" when equal). A target in
# FUZZ_TARGETS may carry its own time: `reader_iepile:2400`. libFuzzer's own
# output is kept in fuzz/logs/TARGET.log. Used by `make fuzz`; see fuzz/README.md.
# The corpus starts from the fixtures and from fuzz/seeds/TARGET.tar.gz (the minimised
# corpus of the last long run, committed); FUZZ_SAVE=1 minimises each target's corpus after
# its run and writes it back there, so the next run goes on from where this one stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${FUZZ_S:-60}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
# cargo-fuzz passes nightly flags; the project's toolchain is stable.
export RUSTC_BOOTSTRAP=1

dict_specs=()
seed() { # target, then fixture globs
    local target=$1; shift
    mkdir -p "fuzz/corpus/$target"
    for f in "$@"; do [ -f "$f" ] && cp "$f" "fuzz/corpus/$target/$(echo "$f" | tr / _)"; done
    local seeds="fuzz/seeds/$target.tar.gz"
    # merge_X reads what reader_X reads: until it has seeds of its own, it starts from those.
    [ -f "$seeds" ] || seeds="fuzz/seeds/${target/#merge_/reader_}.tar.gz"
    if [ -f "$seeds" ]; then tar -xzf "$seeds" -C "fuzz/corpus/$target"; fi
    local IFS=,
    dict_specs+=("$target=$*")
    return 0
}
seed json_splitter fixtures/b2nerd/*/train.json fixtures/iepile/*.json fixtures/pile-ner/*.json* fixtures/bad/*.json
seed json_lines_resync fixtures/consensus/*.jsonl
# The scanner reads one record: its seeds are single records of the fixtures.
seed json_scan fixtures/iepile/data_NER_train.json fixtures/pile-ner/CrossNER_science_head.json
python3 - fuzz/corpus/json_scan fixtures/iepile/data_NER_train.json fixtures/pile-ner/CrossNER_science_head.json <<'PY'
import json, sys
out, iepile, pile = sys.argv[1:]
records = open(iepile, encoding="utf-8").read().splitlines()[:20]
records += [json.dumps(r) for r in json.load(open(pile, encoding="utf-8"))[:20]]
for i, r in enumerate(records):
    open(f"{out}/record_{i:02d}.json", "w", encoding="utf-8").write(r)
PY
seed reader_crossner fixtures/crossner/*.txt fixtures/bad/crossner_*.txt
seed reader_b2nerd fixtures/b2nerd/*/train.json fixtures/bad/b2nerd_*.json fixtures/edge/b2nerd_*.json
seed reader_iepile fixtures/iepile/*.json fixtures/bad/iepile_*.json
seed reader_pile_ner fixtures/pile-ner/*.json* fixtures/bad/pile_ner_*.json fixtures/edge/pile_ner_*.jsonl
seed merge_iepile fixtures/iepile/*.json fixtures/bad/iepile_*.json
seed merge_pile_ner fixtures/pile-ner/*.json* fixtures/bad/pile_ner_*.json fixtures/edge/pile_ner_*.jsonl
seed reader_xmi fixtures/xmi/*.xmi fixtures/xmi/bad/*.xmi
seed typesystem fixtures/xmi/*.xml
seed aligner fixtures/crossner/music_dev.txt
seed answers fixtures/eval/*.jsonl
seed recipe recipes/*.yaml

# A dictionary per target from its seeds: the keys, names and tags the readers branch on.
mkdir -p fuzz/dict
python3 scripts/fuzz_dicts.py fuzz/dict "${dict_specs[@]}"

targets="${FUZZ_TARGETS:-$(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v nerprep-fuzz)}"
jobs="${FUZZ_JOBS:-1}"
mkdir -p fuzz/logs

# The reader targets write each input to a scratch file (readers read files): on a tmpfs
# that costs no disk I/O, about a third more executions per second here.
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
    TMPDIR=$(mktemp -d /dev/shm/nerprep-fuzz.XXXXXX)
    export TMPDIR
    trap 'rm -rf "$TMPDIR"' EXIT
fi

# -max_len: the seeds are whole fixture files (up to 250 KB), and an execution on an input
# that long takes milliseconds; FUZZ_MAX_LEN raises the cap.
max_len="${FUZZ_MAX_LEN:-16384}"

run_one() { # target, seconds: runs it into fuzz/logs/TARGET.log, then prints its summary
    local t=$1 secs=$2 dict=()
    [ -f "fuzz/dict/$t.dict" ] && dict=(-dict="fuzz/dict/$t.dict")
    cargo fuzz run -s none "$t" "fuzz/corpus/$t" -- "${dict[@]}" -max_len="$max_len" \
        -max_total_time="$secs" -print_final_stats=1 -rss_limit_mb=2048 -malloc_limit_mb=1024 \
        >"fuzz/logs/$t.log" 2>&1 || true
    [ "${FUZZ_SAVE:-0}" = 1 ] && save_seeds "$t"
    local row
    row=$(python3 scripts/fuzz_summary.py "$t" "fuzz/logs/$t.log")
    echo "$row" # one write, so rows of parallel runs do not interleave
}

save_seeds() { # target: minimises its corpus (inputs cut to max_len) into fuzz/seeds/TARGET.tar.gz
    local t=$1
    cargo fuzz cmin -s none "$t" "fuzz/corpus/$t" -- -max_len="$max_len" >>"fuzz/logs/$t.cmin.log" 2>&1 || return 0
    mkdir -p fuzz/seeds
    # Sorted names, no owners or times: the same corpus gives the same bytes.
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "fuzz/corpus/$t" -cf - . \
        | gzip -n -9 >"fuzz/seeds/$t.tar.gz.tmp"
    mv "fuzz/seeds/$t.tar.gz.tmp" "fuzz/seeds/$t.tar.gz"
}

echo "target | seconds | executions | cov at start | cov at half | cov at end | last gain at (s) | edges per M execs, last quarter | corpus | result"
running=0
for spec in $targets; do
    t=${spec%%:*}
    if [ "$t" = "$spec" ]; then s=$secs; else s=${spec#*:}; fi
    run_one "$t" "$s" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
done
wait
