# Socialkøb: `make run` to try it, `make test` to check it. Everything else is a helper.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
FLASK := $(BIN)/flask --app wsgi
CATALOGS := workflow/translations
DKFDS := static/vendor/dkfds

.PHONY: run test install install-dev assets translations extract-messages migrate seed lint security browser bench clean

run: install assets translations migrate
	@APP_ENV=development $(FLASK) seed-demo --first-time
	@echo
	@echo "Socialkøb is starting on http://$(HOST):$(PORT)"
	@echo "Demo logins (password: demo-password): caseworker, procurement, economy, manager, admin"
	@echo
	APP_ENV=development $(BIN)/gunicorn --bind $(HOST):$(PORT) --workers 2 --access-logfile - wsgi:app

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.installed $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

# The design system (and axe-core for the tests) come from npm into git-ignored folders.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(DKFDS)/.installed: node_modules/.installed
	rm -rf $(DKFDS)
	mkdir -p $(DKFDS)
	cp -r node_modules/dkfds/dist/css node_modules/dkfds/dist/js node_modules/dkfds/dist/fonts node_modules/dkfds/dist/img $(DKFDS)/
	touch $@

assets: $(DKFDS)/.installed

translations: install
	$(BIN)/pybabel -q compile -d $(CATALOGS)

extract-messages: install
	$(BIN)/pybabel -q extract -F babel.cfg -k _l -o $(CATALOGS)/messages.pot .
	$(BIN)/pybabel -q update -i $(CATALOGS)/messages.pot -d $(CATALOGS) --no-fuzzy-matching

migrate: install
	$(FLASK) db upgrade

seed: migrate
	$(FLASK) seed-demo

# Debian's Chromium for the browser tests; installed when missing and we may (root).
browser:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver poppler-utils) >/dev/null \
	      || echo "Could not install chromium"; \
	  else echo "chromium is missing and we are not root: browser tests will be skipped (failed in CI)"; fi; \
	fi

lint: install-dev
	$(BIN)/ruff check .

# No high-severity finding in our code; no known vulnerability in the pinned requirements.
security: install-dev
	$(BIN)/bandit --quiet --recursive workflow wsgi.py --severity-level high
	$(BIN)/python .ci/audit.py requirements.txt requirements-dev.txt

# Issue #10's benchmarks at 100,000 cases on SQLite and PostgreSQL (bench/run.py; options: make bench BENCH="--db sqlite").
# wrk (Debian) for the load test is installed when missing and we may (root).
bench: install-dev assets translations
	@if ! command -v wrk >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk) >/dev/null \
	      || echo "Could not install wrk"; \
	  else echo "wrk is missing and we are not root: no load test"; fi; \
	fi
	$(BIN)/python -m bench.run $(BENCH)

test: install-dev assets translations browser lint security
	$(BIN)/python -m pytest -q --db sqlite
	$(BIN)/python -m pytest -q --db postgresql

clean:
	rm -rf $(VENV) node_modules static/vendor .pytest_cache .ruff_cache
