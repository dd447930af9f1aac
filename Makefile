PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test bench lint clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,postgres]'
	touch $(STAMP)

install: $(STAMP)

# The order example end to end: start (it stops at the approval hook), approve, finish.
demo: install
	rm -rf examples/order/.workflow-data
	cd examples/order && ../../$(BIN)/wfctl start orderFlow order-42 2500
	cd examples/order && ../../$(BIN)/wfctl hook resume approve:order-42 '{"approved": true, "by": "dana"}'

test: install
	$(BIN)/pytest

bench: install
	$(BIN)/python -m bench

lint: install
	$(BIN)/ruff check wfctl worlds tests bench
	$(BIN)/ruff format --check wfctl worlds tests bench

clean:
	rm -rf $(VENV) .pytest_cache
