# The two commands of the README:
#   make run    install (first time) and start pusherd on its embedded defaults
#   make test   install everything the tests need (first time) and run the whole suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
NODE_E2E := tests/e2e/node

.PHONY: run test lint bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

run: $(VENV)/.installed
	$(PY) -m pusherd $(ARGS)

test: $(VENV)/.installed
	bash scripts/test-setup.sh
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

bench: $(VENV)/.installed
	$(PY) -m bench.run $(ARGS)

clean:
	rm -rf $(VENV) $(NODE_E2E)/node_modules .mypy_cache .ruff_cache .pytest_cache
