# The two commands of the README:
#   make run    install (first time) and start pusherd on its embedded defaults
#   make test   install everything the tests need (first time) and run the whole suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
NODE_E2E := tests/e2e/node
CLIENT := clients/js-example

.PHONY: run site test lint bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# The scoreboard page is built by its own build step (esbuild), only when a source changed.
$(CLIENT)/node_modules/.installed-lock: $(CLIENT)/package-lock.json
	npm ci --prefix $(CLIENT) --no-audit --no-fund --loglevel=error
	cp $< $@

$(CLIENT)/dist/index.html: $(CLIENT)/node_modules/.installed-lock $(CLIENT)/build.mjs \
		$(CLIENT)/index.html $(wildcard $(CLIENT)/src/*) $(wildcard $(CLIENT)/api-docs/*)
	npm run --prefix $(CLIENT) build --silent

site:
	@if command -v npm >/dev/null; then $(MAKE) --no-print-directory $(CLIENT)/dist/index.html; \
	else echo "make: no npm, so the scoreboard page is not built (pusherd runs without it)"; fi

run: $(VENV)/.installed site
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
	rm -rf $(VENV) $(NODE_E2E)/node_modules $(CLIENT)/node_modules $(CLIENT)/dist \
		.mypy_cache .ruff_cache .pytest_cache
