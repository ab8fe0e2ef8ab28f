# Hark's two setup commands are `make serve` and `make test`; each installs what it needs.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Google's Node.js client for the conformance tests (tests/node), installed with the machine's npm.
NODE_STAMP := tests/node/node_modules/.installed

.PHONY: install serve test check lint bench clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

$(NODE_STAMP): tests/node/package.json tests/node/package-lock.json
	npm ci --prefix tests/node --no-audit --no-fund
	touch $(NODE_STAMP)

## Run the server on the embedded model (REST :8080, gRPC :50051).
serve: $(STAMP)
	$(VENV)/bin/hark serve $(ARGS)

## Every test: real servers, the real model, the corpus in ../shared/corpus.
test: $(STAMP) $(NODE_STAMP)
	$(PY) -m pytest $(ARGS)

## Format check, lint, types, and the fast tests (no model).
check: $(STAMP)
	scripts/check

bench: $(STAMP)
	$(PY) bench/recognize_overhead.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache tests/node/node_modules
