# The two commands of the set-up contract: `make run` and `make test`.
# Both create .venv with `python3 -m venv` when it is missing and install the project into it,
# with the server and development extras (`pip install consent-service` alone is the offline
# verifier, see docs/studios.md).

VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
HOST    ?= 127.0.0.1
PORT    ?= 8000

.PHONY: run test test-sqlite test-postgres lint imports typecheck bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[server,dev]'
	touch $(STAMP)

## Serve the embedded default (SQLite + local encrypted vault) on http://$(HOST):$(PORT)
run: $(STAMP)
	$(VENV)/bin/consent-service serve --host $(HOST) --port $(PORT)

## The whole suite: SQLite always, PostgreSQL too when CONSENT_TEST_DATABASE_URL is set
test: $(STAMP)
	@scripts/ensure-chromium
	@scripts/ensure-axe
	$(MAKE) --no-print-directory test-sqlite
	@if [ -n "$$CONSENT_TEST_DATABASE_URL" ]; then \
		$(MAKE) --no-print-directory test-postgres; \
	else \
		echo "CONSENT_TEST_DATABASE_URL is not set: PostgreSQL run skipped (.ci/run sets it)"; \
	fi

test-sqlite: $(STAMP)
	CONSENT_TEST_BACKEND=sqlite $(VENV)/bin/pytest $(PYTEST_ARGS)

test-postgres: $(STAMP)
	CONSENT_TEST_BACKEND=postgresql $(VENV)/bin/pytest $(PYTEST_ARGS)

lint: $(STAMP) imports
	$(VENV)/bin/ruff check consent_service tests bench
	$(VENV)/bin/mypy consent_service

## The layering contracts of pyproject.toml [tool.importlinter] (CI runs this before the tests)
imports: $(STAMP)
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
