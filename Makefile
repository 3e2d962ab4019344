# Satellite — the two commands: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DATA_DIR ?= var

.PHONY: run test test-reliability test-packaging bundle bench bench-export bench-ui bench-import bench-storm bench-check lint typecheck unit venv clean screenshots

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

venv: $(BIN)/.installed

# Host and port come from the settings: SATELLITE_HOST / SATELLITE_PORT, else 127.0.0.1:8080.
run: venv
	$(BIN)/satellite --data-dir $(DATA_DIR) init
	$(BIN)/satellite --data-dir $(DATA_DIR) serve

lint: venv
	$(BIN)/ruff check satellite tests
	$(BIN)/mypy

# Two workers (pytest-xdist); branch coverage of satellite/ (the processes end-to-end tests start
# included) must stay at or above COVERAGE.
COVERAGE ?= 91
unit: venv
	$(BIN)/python -m pytest -q -n 2 --cov --cov-report=term --cov-fail-under=$(COVERAGE)

test: lint unit

# The fault campaign at length (docs/reliability.md); `make test` runs it short.
RELIABILITY_ROUNDS ?= 20
test-reliability: venv
	SATELLITE_RELIABILITY_ROUNDS=$(RELIABILITY_ROUNDS) $(BIN)/python -m pytest -q -m reliability tests/reliability

# Builds the offline bundle and installs it into a temp root with no index (slow; CI runs it).
test-packaging: venv
	SATELLITE_TEST_PACKAGING=1 $(BIN)/python -m pytest -q tests/packaging

# Pictures of the web UI for the README, taken by Debian's chromium.
screenshots: venv
	PYTHONPATH=. $(BIN)/python scripts/screenshots.py

bundle:
	packaging/build-offline-bundle --out dist

# Not part of `make test`: minutes of load, results written to BENCHMARKS.md. `bench` measures
# check-ins at 8 connections and at 32 (with 32 waitress threads in every server).
# With SATELLITE_BENCH_DATABASE_URL set to a PostgreSQL server (e.g.
# postgresql+psycopg://postgres@127.0.0.1:5432/postgres), bench, bench-ui and bench-storm also
# run there (bench-ui: only there), each on a fresh database dropped at the end.
bench: venv
	$(BIN)/python -m bench.checkin
	$(BIN)/python -m bench.checkin --concurrency 32 --threads 32

# Exporting 1,000,000 product instances as CSV and JSON: seconds and peak RSS.
bench-export: venv
	$(BIN)/python -m bench.export_bench

# The web UI's list pages at 1,000,000 devices and 10,000 VAs (seeding takes minutes).
bench-ui: venv
	$(BIN)/python -m bench.ui_lists

# Importing a Central response of 100,000 license lines, on SQLite and on PostgreSQL (a fresh
# database on BENCH_PG_URL, dropped after).
BENCH_PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres
bench-import: venv
	$(BIN)/python -m bench.import_bench --lines 100000 --pg-url $(BENCH_PG_URL) --record BENCHMARKS.md

# 10,000 devices registering at once (on PostgreSQL too: one node and two nodes).
bench-storm: venv
	$(BIN)/python -m bench.storm

# The benchmarks' own checks: each runs tiny and writes its report (numbers not judged).
bench-check: venv
	$(BIN)/python -m pytest -q bench/tests

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
