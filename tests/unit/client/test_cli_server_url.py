"""A server URL the client cannot use is a usage error (exit 2) naming --server, never a
traceback, and no ledger is created for it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from fhir_adapter.cli import main

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
def test_a_bad_server_url_is_a_usage_error(
    command: str, url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        main,
        [
            command,
            "--mapping",
            str(REPO / "mappings" / "study_a.yaml"),
            "--data",
            str(REPO / "examples" / "study_a"),
            "--server",
            url,
        ],
    )
    assert result.exit_code == 2, result.output[-800:]
    assert "--server" in result.output and "Traceback" not in result.output
    assert "pw" not in result.output
    assert os.listdir(tmp_path) == []  # no ledger for a server never reached
