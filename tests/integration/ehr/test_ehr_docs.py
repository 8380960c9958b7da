"""docs/ehr-pull.md works as written: with the synthetic hospital record of
examples/ehr_labs loaded into the session's server, the page's command exits 0 and writes
exactly the table and the mapping snippet the page shows."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[3]
PAGE = REPO / "docs" / "ehr-pull.md"
MARKER = "<!-- docs-example: tests/integration/ehr/test_ehr_docs.py -->"
README_URL = "http://127.0.0.1:8080/fhir"


def _block(text: str, after: str, fence: str) -> str:
    """The body of the first ``fence`` block after ``after``."""
    rest = text.split(after, 1)[1]
    return rest.split(f"```{fence}\n", 1)[1].split("```", 1)[0]


def test_the_page_example_pulls_the_table_it_shows(
    fhir_http: httpx.Client, fhir_base_url: str, tmp_path: Path
) -> None:
    seed = json.loads((REPO / "examples" / "ehr_labs" / "seed.json").read_text(encoding="utf-8"))
    loaded = fhir_http.post("", json=seed)  # conditional creates: loading twice changes nothing
    assert loaded.status_code == 200, loaded.text[:300]
    text = PAGE.read_text(encoding="utf-8")
    for name in ("mappings", "examples"):
        shutil.copytree(REPO / name, tmp_path / name)
    commands = [c for c in _block(text, MARKER, "sh").splitlines() if c.strip()]
    assert len(commands) == 1
    for command in commands:
        args = shlex.split(command.replace(README_URL, fhir_base_url))
        assert args[0] == "fhir-adapter"
        result = subprocess.run(
            [sys.executable, "-m", "fhir_adapter.cli", *args[1:], "--json"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, result.stderr[-1500:]
        summary = json.loads(result.stdout)
        assert summary["participants"]["found"] == 3 and summary["values"]["duplicates"] == 1
    out = tmp_path / "out" / "ehr-a"
    shown = _block(text, "`out/ehr-a/ehr_labs.csv` then holds:", "text")
    assert (out / "ehr_labs.csv").read_text(encoding="utf-8") == shown
    snippet = _block(text, "`mapping-snippet.yaml` for study A:", "yaml")
    written = (out / "mapping-snippet.yaml").read_text(encoding="utf-8").splitlines()
    assert "\n".join(line for line in written if not line.startswith("#")) + "\n" == snippet
