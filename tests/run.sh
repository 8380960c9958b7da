#!/usr/bin/env bash
# Install everything the tests need and run the whole suite: unit tests, then integration
# tests against a real HAPI FHIR R4 server that the suite builds (first time: Maven), starts
# on a free loopback port and stops again; without arguments, ruff check and mypy run first (CI:
# .ci/run calls this). Extra arguments go to pytest alone.
#
#   bash tests/run.sh                 # everything
#   bash tests/run.sh -m "not integration"   # unit tests only, no Java needed at run time
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup-env.sh
if [ "$#" -gt 0 ]; then
  exec .venv/bin/python -m pytest "$@"
fi
echo "==> lint, format and types (ruff check, ruff format --check, mypy)"
.venv/bin/ruff check fhir_adapter tests
.venv/bin/ruff format --check --quiet .
.venv/bin/mypy
echo "==> unit tests (no server needed)"
.venv/bin/python -m pytest -m "not integration"
echo "==> integration tests against a real HAPI FHIR server (started first: 30-120 s)"
exec .venv/bin/python -m pytest -m integration
