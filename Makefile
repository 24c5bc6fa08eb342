# IRLearn: `make run` serves the site with demo content, `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Django 6 needs Python 3.12+: take the newest one on PATH, then one that pyenv knows.
PYTHON ?= $(shell for p in python3.13 python3.12 python3; do \
	  if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then command -v $$p; exit; fi; \
	done; \
	for v in $$(pyenv versions --bare 2>/dev/null | grep -E '^3\.1[2-9]' | sort -rV); do \
	  echo "$$(pyenv root)/versions/$$v/bin/python3"; exit; \
	done)
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: help python run serve test lint format browser-deps clean bench

help:
	@echo "make run    serve http://$(HOST):$(PORT) with demo content and the task worker (Ctrl-C stops both)"
	@echo "make test   run the whole test suite (SQLite, or DATABASE_URL)"
	@echo "make lint   ruff check, ruff format --check, makemigrations --check"
	@echo "make serve  gunicorn with production settings (needs DJANGO_SECRET_KEY)"
	@echo "make bench  benchmarks on PostgreSQL (~15 min): results in bench/results/ (BENCH_ARGS=--quick)"

python:
	@if [ -z "$(PYTHON)" ]; then echo "IRLearn needs Python 3.12 or newer (python3.13 or python3.12 on PATH)." >&2; exit 1; fi
	@echo $(PYTHON)

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@if [ -z "$(PYTHON)" ]; then echo "IRLearn needs Python 3.12 or newer (python3.13 or python3.12 on PATH)." >&2; exit 1; fi
	@echo "Creating $(VENV) with $(PYTHON)"
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

run: export DJANGO_DEBUG ?= 1
# Links in the emails it prints (newsletter confirm and unsubscribe) lead back to this server.
run: export SITE_URL ?= http://$(if $(filter 0.0.0.0 ::,$(HOST)),127.0.0.1,$(HOST)):$(PORT)
run: $(VENV)/.installed
	$(PY) manage.py migrate --no-input
	$(PY) manage.py seed_demo
	$(PY) manage.py newsletter_sweep
	@echo "IRLearn is at http://$(HOST):$(PORT)/ (Ctrl-C stops the site and the worker)"
	@trap 'kill 0' INT TERM EXIT; \
	$(PY) manage.py db_worker & \
	$(PY) manage.py runserver $(HOST):$(PORT)

serve: export DJANGO_DEBUG = 0
serve: $(VENV)/.installed
	$(PY) manage.py collectstatic --no-input --verbosity 0
	$(PY) manage.py migrate --no-input
	$(VENV)/bin/gunicorn irlearn.wsgi --bind $(HOST):$(PORT) --workers $${WEB_CONCURRENCY:-3} --access-logfile -

# Throughput, queries per page, newsletter and export figures: see bench/README.md. Installs wrk and
# starts PostgreSQL (and Redis) if they are missing; BENCH_ARGS="--quick" for a short run.
bench: $(VENV)/.installed
	bash bench/prepare.sh
	$(PY) bench/run.py $(BENCH_ARGS)

# axe-core (npm) and Debian's chromium drive the browser tests; without them those tests skip,
# except under CI=true, where a missing browser is a failure.
browser-deps:
	@if command -v npm >/dev/null 2>&1 && [ ! -f node_modules/axe-core/axe.min.js ]; then npm ci --no-audit --no-fund --silent; fi

test: $(VENV)/.installed browser-deps
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DJANGO_DEBUG=1 $(PY) manage.py makemigrations --check --dry-run

format: $(VENV)/.installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) node_modules staticfiles .pytest_cache .ruff_cache
