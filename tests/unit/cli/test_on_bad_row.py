"""`map --on-bad-row` and the rejects folder, as a data manager meets them on the command line."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from fhir_adapter.cli import main

REPO = Path(__file__).resolve().parents[3]
MAPPING = str(REPO / "mappings" / "study_a.yaml")


@pytest.fixture
def spoiled(tmp_path: Path) -> tuple[Path, int]:
    """Study A with one unreadable HbA1c cell; returns the folder and the spoiled row."""
    data = tmp_path / "data"
    shutil.copytree(REPO / "examples" / "study_a", data)
    path = data / "visits.csv"
    rows = list(csv.DictReader(path.open(encoding="utf-8", newline="")))
    rows[4]["hba1c_pct"] = "8,4 %"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return data, 6


def _map(data: Path, out: Path, *options: str) -> tuple[int, dict, str]:
    result = CliRunner().invoke(
        main,
        ["map", "--mapping", MAPPING, "--data", str(data), "--out", str(out), "--no-progress"]
        + list(options),
    )
    return result.exit_code, json.loads((out / "summary.json").read_text()), result.output


def test_by_default_only_the_bad_row_is_left_out_and_written_to_rejects(spoiled, tmp_path):
    data, row = spoiled
    out = tmp_path / "out"
    code, summary, output = _map(data, out)
    assert code == 1
    assert summary["rows_rejected"] == 1 and summary["rows_left_out"] == 0
    assert summary["participants_partial"] == 1 and summary["participants_rejected"] == 0
    assert summary["participants_mapped"] == 30
    assert "rows rejected 1 (broke a rule); rows left out with them 0" in output
    assert "participants affected: subjects.csv row" in output
    assert f"{out}/rejects/" in output
    (line,) = csv.DictReader((out / "rejects" / "visits.csv").open(encoding="utf-8"))
    assert (line["source_file"], line["source_row"], line["outcome"]) == (
        "visits.csv",
        str(row),
        "rejected",
    )
    assert (line["problem_column"], line["problem_rule"]) == ("hba1c_pct", "number")
    assert line["hba1c_pct"] == "8,4 %"  # the original cell, to correct
    assert oct((out / "rejects").stat().st_mode & 0o777) == "0o700"
    assert oct((out / "rejects" / "visits.csv").stat().st_mode & 0o777) == "0o600"
    assert "8,4" not in output  # the terminal never shows a cell value


def test_participant_policy_leaves_the_participant_out_whole(spoiled, tmp_path):
    data, _ = spoiled
    code, summary, _ = _map(data, tmp_path / "out", "--on-bad-row", "participant")
    assert code == 1
    assert summary["participants_rejected"] == 1 and summary["participants_mapped"] == 29
    assert summary["rows_rejected"] == 1 and summary["rows_left_out"] > 0
    lines = list(csv.DictReader((tmp_path / "out" / "rejects" / "visits.csv").open()))
    assert {line["outcome"] for line in lines} == {"rejected", "left out"}


def test_stop_policy_ends_the_run_with_exit_4(spoiled, tmp_path):
    data, row = spoiled
    result = CliRunner().invoke(
        main,
        ["map", "--mapping", MAPPING, "--data", str(data), "--out", str(tmp_path / "out")]
        + ["--on-bad-row", "stop"],
    )
    assert result.exit_code == 4
    assert f"row {row}" in result.output and "hba1c_pct" in result.output
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_a_clean_run_leaves_no_rejects(tmp_path):
    code, summary, _ = _map(REPO / "examples" / "study_a", tmp_path / "out")
    assert code == 0 and summary["rows_rejected"] == 0
    assert not (tmp_path / "out" / "rejects").exists()
