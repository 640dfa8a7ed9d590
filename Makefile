# sslscape — two commands on a fresh machine: `make demo` and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
OUT     ?= out/demo

.PHONY: demo test lint venv bench clean fashion-mnist browser-deps reproduce

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[dev,lightning,ray]"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/sslscape predict examples/default.json
	$(BIN)/sslscape phase examples/default.json --x weight_decay:0:1:64 --y noise_scale:0:4:64 --out $(OUT)
	@echo "reproducing the phase diagram with training (about 1 minute; 'make reproduce' runs all nine)…"
	$(BIN)/sslscape reproduce phase_diagram --quick --out $(OUT)/reproduce

reproduce: $(STAMP) fashion-mnist
	$(BIN)/sslscape reproduce all --quick --out out/reproduce

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

test: $(STAMP) lint fashion-mnist browser-deps
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup tests src/sslscape --doctest-modules

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_theory.py

# Fashion-MNIST ships as a Debian package dataset-fashion-mnist. Best effort: without root or apt, the tests that need it
# skip with a message saying how to install it.
fashion-mnist:
	@test -d /usr/share/datasets/fashion-mnist || (apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist) \
		|| echo "warning: could not install dataset-fashion-mnist; real-data tests will be skipped"

# The explorer's browser tests drive Debian's Chromium headless through Playwright (never `playwright install`).
# Best effort like the dataset: without it the browser tests skip with a message saying how to install it.
browser-deps:
	@test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium) \
		|| echo "warning: could not install chromium; browser tests will be skipped"

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache
