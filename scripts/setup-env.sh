# Sourced by examples/demo.sh and tests/run.sh: make sure Java 17, Maven and the Python
# environment (.venv with fhir-adapter installed) are there. Safe to run again.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

java_major() { java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1; }

if ! command -v java >/dev/null 2>&1 || [ "$(java_major)" -lt 17 ] || ! command -v mvn >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing Java 17 and Maven (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jdk-headless maven >/dev/null
  else
    echo "error: the local HAPI FHIR server needs Java 17+ and Maven." >&2
    echo "       Debian/Ubuntu: sudo apt-get install openjdk-17-jdk-headless maven" >&2
    echo "       macOS: brew install openjdk@17 maven" >&2
    exit 7
  fi
fi

python="${PYTHON:-python3}"
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "error: Python 3.11 or newer is needed (found: $("$python" --version 2>&1))." >&2
  exit 7
fi
if [ ! -x "$repo/.venv/bin/python" ]; then
  echo "==> creating $repo/.venv"
  "$python" -m venv "$repo/.venv"
fi
echo "==> installing fhir-adapter and its test tools into .venv (first time: about 30 s)"
pip_log="$repo/.venv/pip-install.log"
started=$SECONDS
if ! { "$repo/.venv/bin/python" -m pip install --upgrade pip &&
       "$repo/.venv/bin/python" -m pip install -e "$repo[test]"; } >"$pip_log" 2>&1; then
  tail -n 40 "$pip_log" >&2
  echo "error: installing the Python packages failed (full log: $pip_log)" >&2
  exit 7
fi
installed=$( (grep '^Successfully installed' "$pip_log" || true) | sed 's/^Successfully installed //' | wc -w)
echo "    done in $((SECONDS - started)) s (${installed} packages installed or upgraded; log: .venv/pip-install.log)"
export PATH="$repo/.venv/bin:$PATH"
