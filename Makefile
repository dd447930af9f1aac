PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install browser demo test bench lint clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The order example end to end: start (it stops at the approval hook), approve, finish.
demo: install
	rm -rf examples/order/.workflow-data
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

test: install browser
	$(BIN)/pytest

bench: install
	$(BIN)/python -m bench

lint: install
	$(BIN)/ruff check wfctl worlds tests bench
	$(BIN)/ruff format --check wfctl worlds tests bench

clean:
	rm -rf $(VENV) .pytest_cache
