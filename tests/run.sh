#!/usr/bin/env bash
# Install everything the tests need and run the whole suite: unit tests, then integration
# tests against a real HAPI FHIR R4 server that the suite builds (first time: Maven), starts
# on a free loopback port and stops again. Extra arguments go to pytest.
#
#   bash tests/run.sh                 # everything
#   bash tests/run.sh -m "not integration"   # unit tests only, no Java needed at run time
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup-env.sh
exec .venv/bin/python -m pytest "$@"
