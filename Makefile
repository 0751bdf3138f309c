# c360 — two commands on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
DEMO_CUSTOMERS ?= 3000
# make test and test-fast run the suite on two workers, one per core; each test file runs on
# one worker, so a module's world is built once. XDIST= runs it in one process.
XDIST ?= -n 2 --dist loadfile

.PHONY: demo test test-all test-fast lint format bench docs clean venv sysdeps lock

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# constraints.txt pins every installed package to the versions the test suite last passed
# with; a dependency new in pyproject.toml installs unpinned until `make lock` records it.
$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install -q -c constraints.txt -e ".[identity,postgres,api,models]"
	touch $@

$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install -q -c constraints.txt -e ".[dev]"
	touch $@ $(VENV)/.installed

venv: $(VENV)/.installed

## demo: create .venv, install, run the end-to-end demo on embedded defaults
demo: $(VENV)/.installed
	$(BIN)/c360 demo --customers $(DEMO_CUSTOMERS) --dir demo-workspace

## test: install test dependencies and run the whole suite (slow, postgres and browser tests included)
test: $(STAMP) sysdeps
	$(BIN)/pytest -q -p no:cacheprovider --durations=25 $(XDIST)

## test-fast: the default developer loop, without slow tests
test-fast: $(STAMP)
	$(BIN)/pytest -q -m "not slow" $(XDIST)

## lint: ruff (lint + format check) and mypy
lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix src tests benchmarks
	$(BIN)/ruff format src tests benchmarks

## bench: every benchmark at its default size (prints figures)
bench: $(STAMP)
	@for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

## lock: record the dev venv's versions in constraints.txt (after adding a dependency
## to pyproject.toml, `make lint test` passing on it)
lock: $(STAMP)
	$(BIN)/pip freeze --exclude-editable | grep -v -i '^c360' | LC_ALL=C sort -f > constraints.txt

## docs: regenerate the configuration reference from the pydantic models
docs: $(VENV)/.installed
	$(BIN)/python -m c360.scaffold docs/reference/configuration.md

## sysdeps: Debian packages the browser tests need (installed only when missing)
sysdeps:
	@C360_NEED_BROWSER=1 bash scripts/sysdeps.sh

clean:
	rm -rf $(VENV) demo-workspace .pytest_cache .mypy_cache .ruff_cache
