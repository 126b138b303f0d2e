# Two commands do all the set-up (README.md): `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1:8000

.PHONY: run test test-pg lint check-migrations check-imports test-only seed clean messages fuzz

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.installed

## make run: install, migrate, load the demo data if the database is empty, serve on http://$(HOST)
run: $(VENV)/.installed
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo --if-empty
	$(BIN)/python manage.py runserver $(HOST)

## make test: install with the dev extras, run the quality gates, then the whole suite
test: $(VENV)/.installed-dev lint check-imports check-migrations test-only

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

check-imports:
	$(BIN)/lint-imports

check-migrations:
	$(BIN)/python manage.py makemigrations --check --dry-run

# The suite in parallel: one pytest-xdist worker per CPU (PYTEST_WORKERS=0: one process), each with its own
# test database and Redis database (tests/conftest.py). Bytecode is kept under .venv/pycache even where
# PYTHONDONTWRITEBYTECODE is set: without it every pytest process, and every `manage.py` a test starts,
# compiled and assertion-rewrote everything again (docs/performance.md, "Test suite").
PYTEST_WORKERS ?= auto
test-only: export PYTHONDONTWRITEBYTECODE :=
test-only: export PYTHONPYCACHEPREFIX := $(abspath $(VENV))/pycache
test-only:
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

## make test-pg: the PostgreSQL tests (locking, concurrency, the one-statement donation) in one command
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
test-pg: $(VENV)/.installed-dev
	DATABASE_URL=$(PG_URL) REQUIRE_SERVICES=postgres $(BIN)/pytest -m postgres $(PYTEST_ARGS)

## make fuzz: fuzz the REST API against its own schema (schemathesis, all phases and checks) on SQLite, and
## on PostgreSQL too when DATABASE_URL is set (in a throwaway database beside it). FUZZ_MAX_EXAMPLES=15 for
## a quick pass; FUZZ_SEED=<n> to reproduce one. See docs/api.md.
fuzz: $(VENV)/.installed-dev
	.ci/fuzz

## make messages: extract new messages into both catalogues and compile them (needs GNU gettext)
messages: $(VENV)/.installed-dev
	$(BIN)/python manage.py makemessages -l zh_Hans -l en --no-obsolete --ignore=.venv --ignore=tests --ignore=bench
	$(BIN)/python manage.py compilemessages --ignore=.venv

seed: $(VENV)/.installed
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* staticfiles .pytest_cache .ruff_cache
