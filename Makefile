# Every target creates the virtualenv first if it is missing (see $(STAMP)).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
STACK := $(PY) -m stack
PYTEST_ARGS ?=

.PHONY: help setup system-deps up down status demo test test-unit lint format bench loader psql clean dagster dagster-manifest expectations invoices dashboard docs report

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP) system-deps ## install Python dependencies, the Kafka jars and the Debian tools the tests use
	$(STACK) install

system-deps: ## pdftoppm (poppler-utils) and chromium for the tests; installed with apt-get when missing
	@missing=""; command -v pdftoppm >/dev/null 2>&1 || missing="$$missing poppler-utils"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
		if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		else echo "missing Debian packages:$$missing (apt-get install$$missing)"; exit 1; fi; fi

up: setup ## start the local stack (embedded PostgreSQL + Kafka); a no-op if it runs
	$(STACK) up

down: $(STAMP) ## stop what `make up` started; data is kept in .local/
	$(STACK) down

status: $(STAMP) ## show whether PostgreSQL and Kafka answer
	$(STACK) status

demo: up ## run the pipeline end to end on a small generated data set
	$(PY) -m orchestration.demo

test: setup dagster-manifest ## unit + integration tests against the real stack (started and stopped around the run)
	$(STACK) exec -- $(PY) -m pytest tests $(PYTEST_ARGS)

dagster-manifest: $(STAMP) ## parse the dbt project so Dagster can read target/manifest.json (no database needed)
	$(VENV)/bin/dbt parse --quiet --project-dir dbt_project --profiles-dir dbt_project

dagster: up dagster-manifest ## the Dagster UI on http://127.0.0.1:3000 against the local stack (Ctrl-C stops it)
	@mkdir -p "$${TELECOM_STATE_DIR:-.local}/dagster"
	eval "$$($(STACK) env)" && export PATH="$(CURDIR)/$(VENV)/bin:$$PATH" \
		DAGSTER_HOME="$$(cd "$${TELECOM_STATE_DIR:-.local}/dagster" && pwd)" && \
		exec $(VENV)/bin/dagster dev -m orchestration.definitions -h 127.0.0.1 -p 3000

invoices: up ## render the issued invoices of one cycle: make invoices CYCLE=2026-09
	@test -n "$(CYCLE)" || { echo "usage: make invoices CYCLE=YYYY-MM"; exit 2; }
	eval "$$($(STACK) env)" && $(PY) -m invoicing render --cycle $(CYCLE)

expectations: up ## run the Great Expectations suites and build their data docs
	eval "$$($(STACK) env)" && $(PY) -m expectations

dashboard: up ## the Streamlit dashboard on http://127.0.0.1:8501 against the marts (Ctrl-C stops it)
	eval "$$($(STACK) env)" && exec $(VENV)/bin/streamlit run dashboard/app.py --server.address 127.0.0.1 \
		--server.port $${DASHBOARD_PORT:-8501} --server.headless true --browser.gatherUsageStats false

report: up ## write the static report (output/report/index.html) from the marts
	eval "$$($(STACK) env)" && $(PY) -m reporting

docs: up ## generate and serve the dbt docs site on http://127.0.0.1:8080
	eval "$$($(STACK) env)" && cd dbt_project && ../$(VENV)/bin/dbt docs generate --profiles-dir . && \
		exec ../$(VENV)/bin/dbt docs serve --profiles-dir . --host 127.0.0.1 --port $${DOCS_PORT:-8080} --no-browser

test-unit: $(STAMP) ## unit tests only (no servers)
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

lint: $(STAMP) ## ruff (Python) and sqlfluff (SQL)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	@if compgen -G "dbt_project/models/**/*.sql" > /dev/null || ls dbt_project/models/*/*.sql >/dev/null 2>&1; then \
		$(VENV)/bin/sqlfluff lint dbt_project/models; else echo "sqlfluff: no dbt models yet"; fi

format: $(STAMP) ## apply ruff's formatting and fixes
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: setup ## measure every stage; figures go to bench/results/latest.json
	$(STACK) exec -- $(PY) -m bench

psql: $(STAMP) ## open psql on the warehouse
	@eval "$$($(STACK) env)" && $$($(PY) -c 'from stack.postgres import psql_path; print(psql_path())')
