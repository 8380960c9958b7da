#!/usr/bin/env bash
# The whole job on this machine's default setup: install, start the local HAPI FHIR R4 server,
# map and sync both example studies (synthetic data), verify them against the server and
# print the summary. Run it again: everything is reported unchanged and nothing is written.
#
#   bash examples/demo.sh            # server on 127.0.0.1:8080
#   FHIR_ADAPTER_SERVER_PORT=8081 bash examples/demo.sh   # another port (as for the CLI)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup-env.sh

port="${FHIR_ADAPTER_SERVER_PORT:-${FHIR_ADAPTER_PORT:-8080}}"  # (FHIR_ADAPTER_PORT: earlier name)
url="http://127.0.0.1:${port}/fhir"

echo "==> local HAPI FHIR server on port ${port} (the first start builds it with Maven: a few minutes)"
if fhir-adapter server status --port "$port" >/dev/null 2>&1; then
  echo "    already running: reusing it"
else
  fhir-adapter server start --port "$port"
fi

status=0
for study in study_a study_b; do
  echo
  echo "==> ${study}: map, sync, verify (examples/${study} is synthetic data)"
  fhir-adapter validate --mapping "mappings/${study}.yaml" --data "examples/${study}" >/dev/null
  fhir-adapter sync --mapping "mappings/${study}.yaml" --data "examples/${study}" --server "$url" || status=$?
  fhir-adapter verify --mapping "mappings/${study}.yaml" --data "examples/${study}" --server "$url" || status=$?
done

echo
echo "The server keeps running at ${url} (try ${url}/ResearchStudy)."
echo "Stop it with: .venv/bin/fhir-adapter server stop --port ${port}"
exit "$status"
