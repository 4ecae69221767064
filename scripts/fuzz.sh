#!/usr/bin/env bash
# Runs every fuzz target for FUZZ_S seconds (default 60), seeded with the fixtures, and
# prints executions and coverage per target. Used by `make fuzz`; see fuzz/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${FUZZ_S:-60}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
# cargo-fuzz passes nightly flags; the project's toolchain is stable.
export RUSTC_BOOTSTRAP=1

seed() { # target, then fixture globs
    local target=$1; shift
    mkdir -p "fuzz/corpus/$target"
    for f in "$@"; do [ -f "$f" ] && cp "$f" "fuzz/corpus/$target/$(echo "$f" | tr / _)"; done
    return 0
}
seed json_splitter fixtures/b2nerd/*/train.json fixtures/iepile/*.json fixtures/pile-ner/*.json* fixtures/bad/*.json
seed json_lines_resync fixtures/consensus/*.jsonl
seed reader_crossner fixtures/crossner/*.txt fixtures/bad/crossner_*.txt
seed reader_b2nerd fixtures/b2nerd/*/train.json fixtures/bad/b2nerd_*.json fixtures/edge/b2nerd_*.json
seed reader_iepile fixtures/iepile/*.json fixtures/bad/iepile_*.json
seed reader_pile_ner fixtures/pile-ner/*.json* fixtures/bad/pile_ner_*.json fixtures/edge/pile_ner_*.jsonl
seed reader_xmi fixtures/xmi/*.xmi fixtures/xmi/bad/*.xmi
seed typesystem fixtures/xmi/*.xml
seed aligner fixtures/crossner/music_dev.txt
seed answers fixtures/eval/*.jsonl
seed recipe recipes/*.yaml

targets=$(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v nerprep-fuzz)
for t in $targets; do
    echo "== $t (${secs}s)"
    cargo fuzz run -s none "$t" "fuzz/corpus/$t" -- -max_total_time="$secs" -rss_limit_mb=2048 -malloc_limit_mb=1024 2>&1 \
        | grep -E '^#[0-9]+[[:space:]]+DONE|ERROR|panicked|SUMMARY|^Done' | tail -n 4 || true
done
