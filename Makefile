# Two commands from a fresh clone: `make demo` and `make test` (both create .venv).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
BENCH_DEALS ?= 1000000

.PHONY: install demo test lint format bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "crm-kpi needs Python 3.11, found " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $@

demo: $(STAMP)
	$(BIN)/crm-kpi demo

# Two workers, one test file each (module fixtures build a warehouse once per file):
# the suite is mostly waiting on dbt and DuckDB subprocesses, which two cores share well.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest -n 2 --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python bench/run.py --deals $(BENCH_DEALS)
	$(BIN)/python -m bench.pipedrive_ingest

clean:
	rm -rf $(VENV) warehouse/data/*.duckdb warehouse/data/dlt warehouse/data/dbt_target
