#!/usr/bin/env bash
# The whole job on this machine's default setup: install, start the local HAPI FHIR R4 server,
# map and sync both example studies (synthetic data), verify them against the server and
# print the summary. Run it again: everything is reported unchanged and nothing is written.
#
#   bash examples/demo.sh            # server on 127.0.0.1:8080
#   FHIR_ADAPTER_SERVER_PORT=8081 bash examples/demo.sh   # another port (as for the CLI)
#   bash examples/demo.sh --secure   # the same behind SMART Backend Services (docs/auth.md)
#
# With --secure the server protects /fhir with OAuth 2.0 (its own authorization server):
# the demo makes a client key once (.fhir-adapter/demo-smart/, owner-only), registers its
# public JWKS as client 'demo', and every command below signs in with it (--auth smart);
# it also pulls each study back (read-only scope) into out/demo-secure/.
set -euo pipefail
cd "$(dirname "$0")/.."

secure=false
case "${1:-}" in
  "") ;;
  --secure) secure=true ;;
  *) echo "usage: bash examples/demo.sh [--secure]" >&2; exit 2 ;;
esac

source scripts/setup-env.sh

port="${FHIR_ADAPTER_SERVER_PORT:-${FHIR_ADAPTER_PORT:-8080}}"  # (FHIR_ADAPTER_PORT: earlier name)
url="http://127.0.0.1:${port}/fhir"

auth=()
read_auth=()
if "$secure"; then
  keys=.fhir-adapter/demo-smart
  if [ ! -f "$keys/private-key.pem" ]; then
    echo "==> a SMART client key for the demo (once): $keys/private-key.pem and jwks.json"
    fhir-adapter auth keygen --alg ES384 --out "$keys" >/dev/null
  fi
  registration="demo=$keys/jwks.json"
  echo "==> secure local HAPI FHIR server on port ${port}: SMART Backend Services (the first start builds it with Maven: a few minutes)"
  if fhir-adapter server status --port "$port" >/dev/null 2>&1; then
    # Refused, with the reason, when the server on this port is an open one.
    fhir-adapter server register-client "$registration" --port "$port"
  else
    fhir-adapter server start --secure --port "$port" --register-client "$registration"
  fi
  smart=(--auth smart --client-id demo --private-key-file "$keys/private-key.pem")
  auth=("${smart[@]}" --scope "system/*.rs system/*.cu")
  read_auth=("${smart[@]}" --scope "system/*.rs")
else
  echo "==> local HAPI FHIR server on port ${port} (the first start builds it with Maven: a few minutes)"
  if fhir-adapter server status --port "$port" >/dev/null 2>&1; then
    echo "    already running: reusing it"
  else
    fhir-adapter server start --port "$port"
  fi
fi

status=0
for study in study_a study_b; do
  echo
  if "$secure"; then
    echo "==> ${study}: map, sync, verify, pull with SMART Backend Services (examples/${study} is synthetic data)"
  else
    echo "==> ${study}: map, sync, verify (examples/${study} is synthetic data)"
  fi
  fhir-adapter validate --mapping "mappings/${study}.yaml" --data "examples/${study}" >/dev/null
  fhir-adapter sync --mapping "mappings/${study}.yaml" --data "examples/${study}" --server "$url" ${auth[@]+"${auth[@]}"} || status=$?
  fhir-adapter verify --mapping "mappings/${study}.yaml" --data "examples/${study}" --server "$url" ${read_auth[@]+"${read_auth[@]}"} || status=$?
  if "$secure"; then
    letter="${study#study_}"
    fhir-adapter pull --server "$url" "${read_auth[@]}" --no-progress \
      --study "urn:fhir-adapter:example:study|STUDY-${letter^^}" --out "out/demo-secure/${study}" \
      --format csv || status=$?
  fi
done

echo
echo "The server keeps running at ${url} (try ${url}/ResearchStudy)."
if "$secure"; then
  echo "It answers only requests with an access token: add the --auth smart options shown above."
fi
echo "Stop it with: .venv/bin/fhir-adapter server stop --port ${port}"
exit "$status"
