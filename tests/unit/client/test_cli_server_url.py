"""A server URL the client cannot use is a usage error (exit 2) naming --server, never a
traceback, and no ledger is created for it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    "url",
    [
        "127.0.0.1:8080/fhir",
        "localhost:8080/fhir",
        "htp://127.0.0.1/fhir",
        "http://user:pw@host/fhir",
    ],
)
@pytest.mark.parametrize("command", ["sync", "verify"])
def test_a_bad_server_url_is_a_usage_error(command: str, url: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "fhir_adapter.cli",
            command,
            "--mapping",
            str(REPO / "mappings" / "study_a.yaml"),
            "--data",
            str(REPO / "examples" / "study_a"),
            "--server",
            url,
            "--ledger",
            str(tmp_path / "l.sqlite"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 2, result.stderr[-800:]
    assert "--server" in result.stderr and "Traceback" not in result.stderr
    assert "pw" not in result.stderr
    assert list(tmp_path.iterdir()) == []
