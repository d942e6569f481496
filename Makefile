# The README's two commands:  `make run`  and  `make test`.
# Both create the virtual environment .venv on first use (Python 3.11+).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check
SAMPLE := var/sample

.PHONY: run test setup setup-dev lint sample bench-synth clean

## run: set up .venv and run the main job (for now: a small synthetic sample and its contact sheet)
run: setup sample

## test: set up .venv with every extra and run the whole test suite
test: setup-dev
	$(BIN)/python -m pytest

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip setuptools wheel

$(VENV)/.core: pyproject.toml | $(BIN)/python
	$(PIP) -e .
	touch $@

$(VENV)/.all: pyproject.toml | $(BIN)/python
	$(PIP) -e ".[serve,train,dev]"
	touch $@ $(VENV)/.core

setup: $(VENV)/.core
setup-dev: $(VENV)/.all

sample:
	rm -rf $(SAMPLE)
	$(BIN)/xscreen synth $(SAMPLE) --count 16 --seed 1 --workers 2 --contact-sheet $(SAMPLE)/contact_sheet.png
	@echo "open $(SAMPLE)/contact_sheet.png to look at the scans"

lint: setup-dev
	$(BIN)/ruff check .
	$(BIN)/mypy xscreen datasets models training serving

bench-synth: setup
	$(BIN)/python benchmarks/bench_synth.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
