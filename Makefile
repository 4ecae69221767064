# nerprep — the two commands a new user needs are `make data` and `make test`.
# Everything they need is installed by this file (Rust crates by cargo, Python peers and
# test clients into git-ignored virtual environments).

CARGO ?= cargo
PYTHON ?= python3
# Builds go to a cache outside the clone when CARGO_TARGET_DIR is set (CI does this).
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
NERPREP := $(TARGET_DIR)/release/nerprep
DATA := data
# Python clients the tests drive (dkpro-cassis for the XMI real-client test).
TEST_VENV := .venv-test

.PHONY: all build data test test-clients bench clean

all: build

build:
	$(CARGO) build --release --locked

## data: ingest the fixtures into data/*.parquet and print their statistics.
data: build
	mkdir -p $(DATA)
	$(NERPREP) ingest --format crossner fixtures/crossner -o $(DATA)/crossner.parquet
	$(NERPREP) ingest --format b2nerd fixtures/b2nerd -o $(DATA)/b2nerd.parquet
	$(NERPREP) stats $(DATA)/crossner.parquet --by dataset,label -o $(DATA)/crossner.stats.md
	$(NERPREP) stats $(DATA)/b2nerd.parquet --by dataset,label -o $(DATA)/b2nerd.stats.md
	$(NERPREP) stats $(DATA)/crossner.parquet --by dataset
	$(NERPREP) stats $(DATA)/b2nerd.parquet --by dataset
	$(NERPREP) ingest --format xmi --all-views \
		--typesystem fixtures/xmi/important_dkpro_types.xml --typesystem fixtures/xmi/edge/TypeSystem.xml \
		fixtures/xmi/cas_with_smileys.xmi fixtures/xmi/edge/curie_nonbmp.xmi -o $(DATA)/xmi.parquet
	$(NERPREP) stats $(DATA)/xmi.parquet --by dataset,label -o $(DATA)/xmi.stats.md
	$(NERPREP) stats $(DATA)/xmi.parquet --by dataset

## test-clients: the git-ignored venv of test clients, remade when their requirements change.
test-clients: $(TEST_VENV)/.installed

$(TEST_VENV)/.installed: tests/clients/requirements.txt
	$(PYTHON) -m venv $(TEST_VENV)
	$(TEST_VENV)/bin/pip install -q -r tests/clients/requirements.txt
	cp tests/clients/requirements.txt $@

## test: the whole test suite (unit, integration over the real fixtures and real clients, doc tests).
test: test-clients
	$(CARGO) test --locked --all-targets
	$(CARGO) test --locked --doc

## bench: nerprep against its Python peers on the same inputs, one table with ratios.
bench: build
	NERPREP=$(NERPREP) $(PYTHON) benches/compare.py $(BENCH_ARGS)

clean:
	rm -rf $(DATA) benches/.work $(TEST_VENV)
