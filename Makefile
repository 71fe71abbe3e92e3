# Two entry points: `make dev` runs the whole platform locally, `make test` runs every test.
# Both build the virtualenv first; uv resolves in seconds where pip's resolver backtracks for minutes
# over the boto3/botocore pins of moto, chalice and cfn-lint.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv dev test lint migrate bench package openapi clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

dev: venv
	$(BIN)/idp dev

test: venv
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest

lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

migrate: venv
	$(BIN)/idp migrate

bench: venv
	$(BIN)/python bench/run.py

# The API's contract: layers/shared/idp/api/openapi.json from the functions' resolvers and template.yaml
# (idp_local.openapi). Commit it; tests/test_openapi.py fails while it is stale, and make test fuzzes the
# API against it (tests/test_openapi_fuzz.py).
openapi: venv
	$(BIN)/python scripts/openapi.py

# The deployment artefacts without Docker (scripts/package.py): .build/lambda for Lambda's platform, with
# each function's size plus its layers' against the 250 MB limit (fails over 200 MB); then .build/host,
# the same layer for this machine, from which tests/test_package.py imports every handler.
package: venv
	$(BIN)/python scripts/package.py
	$(BIN)/python scripts/package.py --platform host
	$(BIN)/pytest -q tests/test_package.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .build
