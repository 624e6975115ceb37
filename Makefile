# Everything a newcomer needs: `make run` (the ELT once) and `make test` (the suite).
# Both create .venv with the locked dependencies first; nothing is installed by hand.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8
STAMP := $(VENV)/.installed

.PHONY: setup run test lint typecheck format bench clean db-start db-stop

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

# The checks first: a style or type error fails in a minute, not after the suite.
test: lint typecheck
	$(BIN)/python -m pytest

# sqlfluff's dbt templater compiles the models, which asks the warehouse whether incremental
# models exist and connects as dbt's role: hence the local cluster, started and migrated if
# need be (always the local one: linting never touches a DATABASE_URL's warehouse).
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sqlfluff lint migrations --templater raw
	env -u DATABASE_URL $(BIN)/lazi db start >/dev/null
	env -u DATABASE_URL $(BIN)/lazi db migrate >/dev/null
	env -u DATABASE_URL $(BIN)/python -m lazi.dbt_env $(BIN)/sqlfluff lint dbt_project

# mypy's settings (packages, per-module exceptions) are in pyproject.toml.
typecheck: setup
	$(BIN)/mypy

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: setup
	$(BIN)/python -m bench.ingest --scale $(or $(SCALE),1000000)
	$(BIN)/python -m bench.transform --scale $(or $(SCALE),1000000)
	$(BIN)/python -m bench.reverse_etl --scale $(or $(SCALE),1000000)
	$(BIN)/python -m bench.matching --people $(or $(MATCH_PEOPLE),10000)
	$(BIN)/python -m bench.report

db-start: setup
	$(BIN)/lazi db start

db-stop: setup
	$(BIN)/lazi db stop

clean:
	-$(BIN)/lazi db stop
	rm -rf $(VENV) .pytest_cache .ruff_cache dbt_project/target
