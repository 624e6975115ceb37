# Everything a newcomer needs: `make run` (the ELT once) and `make test` (the suite).
# Both create .venv with the locked dependencies first; nothing is installed by hand.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8
STAMP := $(VENV)/.installed

.PHONY: setup run test lint format bench clean db-start db-stop

# Bytecode is compiled at install: where PYTHONDONTWRITEBYTECODE is set, every process (each
# sync, each dbt run) would otherwise compile its imports again, seconds each time.
$(STAMP): pyproject.toml uv.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required (set PYTHON=/path/to/python3.11)")'
	@test -x $(BIN)/uv || { $(PYTHON) -m venv $(VENV) && $(BIN)/python -m pip install -q "uv==$(UV_VERSION)"; }
	$(BIN)/uv sync --frozen --compile-bytecode --python $(BIN)/python
	@touch $@

setup: $(STAMP)

run: setup
	$(BIN)/lazi run

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sqlfluff lint migrations --templater raw
	$(BIN)/lazi db start >/dev/null
	$(BIN)/python -m lazi.dbt_env $(BIN)/sqlfluff lint dbt_project

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: setup
	$(BIN)/python -m bench.ingest --scale $(or $(SCALE),1000000)
	$(BIN)/python -m bench.transform --scale $(or $(SCALE),1000000)
	$(BIN)/python -m bench.matching --people $(or $(MATCH_PEOPLE),10000)
	$(BIN)/python -m bench.report

db-start: setup
	$(BIN)/lazi db start

db-stop: setup
	$(BIN)/lazi db stop

clean:
	-$(BIN)/lazi db stop
	rm -rf $(VENV) .pytest_cache .ruff_cache dbt_project/target
