PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The other supported interpreters (pyenv's, else whatever is on PATH).
PY312 ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12) $(shell command -v python3.12))
PY313 ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) $(shell command -v python3.13))
SRC := wfctl worlds tests bench

.PHONY: lock install browser demo shop test check fast lint typecheck compat bench clean

$(STAMP): pyproject.toml requirements-dev.lock
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c requirements-dev.lock -e '.[dev,postgres]'
	touch $(STAMP)

install: $(STAMP)

# Re-pin the development environment after a dependency change in pyproject.toml.
lock:
	rm -rf .venv-lock && $(PY) -m venv .venv-lock && .venv-lock/bin/pip install -q -e '.[dev,postgres]'
	{ sed -n '1,3p' requirements-dev.lock; .venv-lock/bin/pip freeze --exclude-editable | grep -v '^#'; } > requirements-dev.lock.new
	mv requirements-dev.lock.new requirements-dev.lock && rm -rf .venv-lock

# The order example end to end: start (it stops at the approval hook), approve, finish.
demo: install
	rm -rf examples/order/.workflow-data examples/order/.workflow-data.wfctl
	cd examples/order && ../../$(BIN)/wfctl start orderFlow order-42 2500
	cd examples/order && ../../$(BIN)/wfctl hook resume approve:order-42 '{"approved": true, "by": "dana"}'

# The web UI tests drive Debian's headless Chromium (tests/web): install it when it is missing.
browser:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing chromium + chromium-driver for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else \
	  echo "chromium/chromium-driver missing: the browser tests will fail; install them with: apt-get install -y chromium chromium-driver"; \
	fi

# The FastAPI shop example on http://127.0.0.1:8000 (Ctrl-C stops it; runs resume on restart).
shop: install
	cd examples/fastapi-shop && ../../$(BIN)/python app.py

# The README's test command (and CI's): the gates (lint, formatting, layering, types), then
# the whole suite. `make fast` is the inner loop.
test: install browser lint typecheck
	$(BIN)/pytest

check: test

# The inner loop: everything not marked slow.
fast: install
	$(BIN)/pytest -m "not slow"

lint: install
	$(BIN)/ruff check $(SRC)
	$(BIN)/ruff format --check $(SRC)
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

# Python 3.12 and 3.13: a fresh venv each installs the project, runs the demo and the fast
# core tests (codec, VM host, world transitions).
compat:
	@test -n "$(PY312)" || { echo "python3.12 not found (pyenv install 3.12)"; exit 2; }
	@test -n "$(PY313)" || { echo "python3.13 not found (pyenv install 3.13)"; exit 2; }
	$(MAKE) --no-print-directory compat-one CPY=$(PY312) CVENV=.venv-3.12
	$(MAKE) --no-print-directory compat-one CPY=$(PY313) CVENV=.venv-3.13

compat-one:
	test -x $(CVENV)/bin/wfctl || { $(CPY) -m venv $(CVENV) && $(CVENV)/bin/pip install -q --upgrade pip && $(CVENV)/bin/pip install -q -e '.[dev]'; }
	rm -rf examples/order/.workflow-data examples/order/.workflow-data.wfctl
	cd examples/order && ../../$(CVENV)/bin/wfctl start orderFlow order-42 2500
	cd examples/order && ../../$(CVENV)/bin/wfctl hook resume approve:order-42 '{"approved": true, "by": "dana"}'
	$(CVENV)/bin/pytest -x tests/serde tests/vm tests/world/contract/test_transitions.py -k "not postgres"

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .venv-3.12 .venv-3.13 .pytest_cache .mypy_cache
