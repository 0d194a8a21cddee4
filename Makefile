# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 3000
comma := ,
HOST ?= 127.0.0.1

.PHONY: run test lint format install migrate seed clean bench-providers load load-short bench profile install-load lint-spec contract

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed

migrate: install
	$(BIN)/portal db upgrade

seed: migrate
	$(BIN)/portal db seed

run: seed
	$(BIN)/portal serve --host $(HOST) --port $(PORT)

test: install
	$(BIN)/pytest $(PYTEST_ARGS)

# Style, the import contract (pyproject.toml [tool.importlinter]) and the type checker.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

# Providers API at scale: the real server on MariaDB (2,000 providers, 50,000 appointments) and
# Redis for its limiter; see docs/performance.md.
bench-providers: install
	$(BIN)/python -m bench.providers $(BENCH_ARGS)

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Node tools of the contract step (Redocly CLI, openapi-typescript), pinned by package-lock.json.
NODE_TOOLS := contract-tests/node_modules/.installed
$(NODE_TOOLS): contract-tests/package.json contract-tests/package-lock.json
	cd contract-tests && npm ci --no-audit --no-fund
	touch $@

# The spec: openapi-spec-validator, then Redocly CLI with the committed ruleset; zero errors.
lint-spec: install $(NODE_TOOLS)
	$(BIN)/openapi-spec-validator openapi/portal.yaml
	cd contract-tests && REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
		npx --no-install redocly lint --config redocly.yaml ../openapi/portal.yaml

# schemathesis (patient and doctor) and the generated clients against the real server.
# CONTRACT_ARGS="--include-operation-id login" narrows it for local work only.
contract: lint-spec
	$(BIN)/pytest -q -p no:cacheprovider tests/unit/openapi/test_spec_completeness.py
	$(BIN)/python contract-tests/run.py $(CONTRACT_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis .schemathesis contract-tests/node_modules

# Performance (docs/performance.md). load, load-short and bench need MariaDB on 127.0.0.1:3306
# (or LOAD_MYSQL_URL) and Redis; each run creates and drops its own database.
# profile runs in process on SQLite.
$(BIN)/.installed-load: $(BIN)/.installed
	$(BIN)/pip install --quiet -e '.[dev,load]'
	touch $@

install-load: $(BIN)/.installed-load

load: install-load
	$(BIN)/python -m bench.load --users $(or $(USERS),100) --duration $(or $(DURATION),60) \
		--think $(or $(THINK),0.5$(comma)2) --arrival $(or $(ARRIVAL),spread)

load-short: install-load
	$(BIN)/python -m bench.load --users 20 --duration 20

bench: install-load
	$(BIN)/python -m bench.floor

profile: install-load
	$(BIN)/python -m bench.profile
