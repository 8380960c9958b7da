"""`ehr-pull` at the command line: what it refuses before asking the server anything, and
its exit code when participants are left out (a fake server, pytest-httpx)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from fhir_adapter.cli import main

BASE = "https://ehr.example.org/fhir"


def _args(tmp_path: Path, mapping: str = "mappings/study_a.yaml", *extra: str) -> list[str]:
    mrns = tmp_path / "mrns.csv"
    if not mrns.exists():
        mrns.write_text("subject,mrn\nA-001,M-1\nA-002,\n", encoding="utf-8")
    return [
        "ehr-pull", "--server", BASE, "--mrns", str(mrns), "--mrn-system", "urn:mrn",
        "--from", "2024-01-01", "--to", "2024-12-31", "--mapping", mapping,
        "--out", str(tmp_path / "out"), *extra,
    ]  # fmt: skip


def test_an_unsettled_unit_stops_before_any_request(httpx_mock, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, _args(tmp_path, "mappings/study_b.yaml"))
    assert result.exit_code == 2 and "--unit hba1c=UNIT" in result.output
    assert httpx_mock.get_requests() == []


def test_a_folder_with_other_files_is_refused(httpx_mock, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine", encoding="utf-8")
    result = CliRunner().invoke(main, _args(tmp_path))
    assert result.exit_code == 7 and "EHR pull did not write" in result.output
    assert httpx_mock.get_requests() == []


def test_participants_left_out_exit_1_and_the_summary_names_rows(httpx_mock, tmp_path) -> None:
    httpx_mock.add_response(
        method="POST",
        url=f"{BASE}/Patient/_search",
        json={"resourceType": "Bundle", "type": "searchset"},
    )
    result = CliRunner().invoke(main, [*_args(tmp_path), "--json"])
    assert result.exit_code == 1, result.output
    summary = json.loads(result.output)
    assert [(p["row"], p["rule"]) for p in summary["problems"]] == [
        (2, "patient-not-found"),
        (3, "mrn-file"),  # no MRN: never looked up
    ]
    assert summary["participants"] == {"listed": 2, "looked_up": 1, "found": 0, "skipped": 2}
    assert len(httpx_mock.get_requests()) == 1
    assert "M-1" not in result.output and "A-00" not in result.output
