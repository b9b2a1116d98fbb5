# One entry point for people and CI: every target creates the venv it needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
export NUMBA_CACHE_DIR ?= $(CURDIR)/var/cache/numba

.PHONY: install serve test lint format schema web clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade --quiet pip
	$(BIN)/pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

serve: $(STAMP)
	$(BIN)/timeside-gql migrate
	$(BIN)/timeside-gql serve --host 127.0.0.1 --port 8000

test: $(STAMP)
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples
	$(BIN)/mypy src
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench examples
	$(BIN)/mypy src

format: $(STAMP)
	$(BIN)/ruff check --fix src tests bench examples
	$(BIN)/ruff format src tests bench examples

schema: $(STAMP)
	$(BIN)/timeside-gql export-schema > schema.graphql

# The playground and player (web/) built into the package; the result is committed, so `make
# test` and a Python install need no Node. tests/web/test_assets.py tells when it is stale.
web:
	cd web && npm ci && npm run build

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
