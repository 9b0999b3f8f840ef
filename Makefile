# eim: `make run` starts the platform on the embedded default; `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

export DATABASE_URL_TEST := $(or $(DATABASE_URL),postgres://postgres@127.0.0.1:5432/eim)
export REDIS_URL_TEST := $(or $(REDIS_URL),redis://127.0.0.1:6379/9)
MAINTENANCE_URL := $(shell echo '$(DATABASE_URL_TEST)' | sed 's|/[^/]*$$|/postgres|')

.PHONY: install run test lint typecheck check bench-chat clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

run: install
	@EIM_DEBUG=$${EIM_DEBUG:-true} PORT=$(PORT) $(BIN)/python deploy/run.py

# The test OIDC provider (npm oidc-provider), installed from its lock file into an ignored folder.
OIDC_IDP := tests/idp/oidc
$(OIDC_IDP)/node_modules/.package-lock.json: $(OIDC_IDP)/package-lock.json
	cd $(OIDC_IDP) && npm ci --no-audit --no-fund --silent

test: install $(OIDC_IDP)/node_modules/.package-lock.json
	@DATABASE_URL=$(DATABASE_URL_TEST) REDIS_URL=$(REDIS_URL_TEST) $(BIN)/python deploy/check_services.py
	DATABASE_URL=$(DATABASE_URL_TEST) REDIS_URL=$(REDIS_URL_TEST) $(BIN)/ruff check .
	DATABASE_URL=$(DATABASE_URL_TEST) REDIS_URL=$(REDIS_URL_TEST) $(BIN)/ruff format --check .
	DATABASE_URL=$(DATABASE_URL_TEST) REDIS_URL=$(REDIS_URL_TEST) $(BIN)/mypy eim accounts archive compliance audit ledger auditor console
	@# Checked against the server's maintenance database: the test database does not exist yet.
	DATABASE_URL=$(MAINTENANCE_URL) EIM_DB_POOL=false REDIS_URL=$(REDIS_URL_TEST) DJANGO_SETTINGS_MODULE=eim.settings.test $(BIN)/python manage.py makemigrations --check --dry-run
	DATABASE_URL=$(DATABASE_URL_TEST) REDIS_URL=$(REDIS_URL_TEST) $(BIN)/python deploy/run_tests.py $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy eim accounts archive compliance audit ledger auditor console

bench-chat: install
	$(BIN)/python bench/chat.py $(BENCH_ARGS)

clean:
	rm -rf var/ .pytest_cache .mypy_cache .ruff_cache
