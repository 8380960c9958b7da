"""`fhir-adapter pull` against the real server: sync a private copy of a study, pull it back
(by identifier and by id, by search and by bulk $export), and check that every synced
resource came back exactly once, the tables hold it, and a second or interrupted pull
resumes or replaces cleanly."""

from __future__ import annotations

import csv
import json
import re
import shlex
import stat
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from fhir_adapter.cli import main
from fhir_adapter.client import FhirClient
from fhir_adapter.pull import ALL_TYPES, PullOptions, StudyRef, pull_study

from .conftest import Study

REPO = Path(__file__).resolve().parents[3]
HBA1C = "4548-4"


def _ids(out: Path, kind: str) -> list[str]:
    path = out / "ndjson" / f"{kind}.ndjson"
    return [json.loads(line)["id"] for line in path.read_text(encoding="utf-8").splitlines()]


def _expected_counts(expected: dict[str, list[dict[str, Any]]]) -> dict[str, int]:
    return {kind: len(expected.get(kind, [])) for kind in ALL_TYPES}


def _assert_everything_once(out: Path, expected: dict[str, list[dict[str, Any]]]) -> None:
    for kind in ALL_TYPES:
        pulled = _ids(out, kind)
        assert len(pulled) == len(set(pulled)), f"{kind} pulled twice"
        assert sorted(pulled) == sorted(r["id"] for r in expected.get(kind, [])), kind


def _assert_private(out: Path) -> None:
    for path in [out, *out.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), path


def _known_hba1c(expected: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    return next(o for o in expected["Observation"] if o["code"]["coding"][0]["code"] == HBA1C)


@pytest.fixture
def synced(make_study, client: FhirClient) -> tuple[Study, dict[str, list[dict[str, Any]]]]:
    study = make_study("study_a", subjects=4)
    report = study.sync(client)
    assert report.ok
    return study, study.expected()


def _identifier(expected: dict[str, list[dict[str, Any]]]) -> str:
    identifier = expected["ResearchStudy"][0]["identifier"][0]
    return f"{identifier['system']}|{identifier['value']}"


def test_pull_by_identifier_brings_back_every_synced_resource_once(synced, tmp_path):
    study, expected = synced
    out = tmp_path / "pulled"
    result = CliRunner().invoke(
        main,
        [
            "pull",
            "--server",
            study.server_url,
            "--study",
            _identifier(expected),
            "--out",
            str(out),
            "--format",
            "csv",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["counts"] == _expected_counts(expected)
    assert summary["method"] == "search" and summary["missing_products"] == 0
    _assert_everything_once(out, expected)

    tables = {t["view"]: t["rows"] for t in summary["tables"]}
    assert tables["observations"] == len(expected["Observation"])
    assert tables["participants"] == tables["patients"] == 4
    assert tables["procedures"] == len(expected["Procedure"])
    assert tables["medications"] == len(expected["MedicationStatement"])
    assert tables["adverse_events"] == len(expected.get("AdverseEvent", []))
    assert tables["products"] == len(expected["BiologicallyDerivedProduct"])
    assert tables["encounters"] == len(expected["Encounter"])  # one per participant visit

    known = _known_hba1c(expected)
    with (out / "tables" / "observations.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    match = [r for r in rows if r["id"] == known["id"]]
    assert len(match) == 1
    assert match[0]["patient_id"] == known["subject"]["reference"].split("/")[1]
    assert (match[0]["code"], match[0]["unit"]) == (HBA1C, known["valueQuantity"]["code"])
    assert Decimal(match[0]["value"]) == Decimal(str(known["valueQuantity"]["value"]))
    assert match[0]["effective_date"] == known["effectiveDateTime"]
    _assert_private(out)
    assert json.loads((out / "summary.json").read_text())["counts"] == summary["counts"]


def test_pull_by_id_to_parquet_then_a_second_pull_replaces_it(synced, client, tmp_path):
    study, expected = synced
    study_id = expected["ResearchStudy"][0]["id"]
    out = tmp_path / "pulled"
    first = pull_study(client, StudyRef.parse(study_id), PullOptions(out=out))
    assert first.counts == _expected_counts(expected) and first.resumed_steps == 0
    table = pq.read_table(out / "tables" / "observations.parquet")
    assert table.num_rows == len(expected["Observation"])
    assert str(table.schema.field("value").type) == "double"

    (out / "tables" / "stale.parquet").write_bytes(b"left from before")
    again = pull_study(client, StudyRef.parse(study_id), PullOptions(out=out, table_format="csv"))
    assert again.counts == first.counts and again.resumed_steps == 0
    assert sorted(p.name for p in (out / "tables").iterdir()) == sorted(
        f"{t.view}.csv" for t in again.tables
    )
    assert sorted(p.name for p in (out / ".pull").iterdir()) == ["state.json"]
    _assert_everything_once(out, expected)
    _assert_private(out)


class _StopAfter:
    """A progress display that stops the pull after a number of Observations arrived."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.seen: Counter[str] = Counter()

    def stage(self, text: str) -> None:
        return None

    def fetched(self, resource_type: str, count: int) -> None:
        self.seen[resource_type] += count
        if resource_type == "Observation" and self.seen[resource_type] >= self.limit:
            raise RuntimeError("stopped by the test")


def test_an_interrupted_pull_goes_on_where_it_stopped(synced, client, tmp_path):
    study, expected = synced
    out = tmp_path / "pulled"
    ref = StudyRef.parse(expected["ResearchStudy"][0]["id"])
    options = PullOptions(out=out, batch_size=1)  # four batches per type
    with pytest.raises(RuntimeError, match="stopped by the test"):
        pull_study(client, ref, options, _StopAfter(limit=30))
    state = json.loads((out / ".pull" / "state.json").read_text())
    assert not state["complete"] and "subjects" in state["done"]
    assert not (out / "ndjson").exists()
    parts = out / ".pull" / "parts"
    assert not [p for p in parts.rglob("*") if p.name.endswith(".tmp")]

    resumed = pull_study(client, ref, options)
    assert resumed.resumed_steps >= 1
    assert resumed.counts == _expected_counts(expected)
    _assert_everything_once(out, expected)


def test_pull_by_bulk_export_gives_the_same_study(synced, client, tmp_path):
    study, expected = synced
    out = tmp_path / "exported"
    ref = StudyRef.parse(_identifier(expected))
    result = pull_study(client, ref, PullOptions(out=out, method="export"))
    assert result.method == "export"
    assert result.counts == _expected_counts(expected)
    _assert_everything_once(out, expected)
    _assert_private(out)


@pytest.mark.parametrize(
    "study_arg", ["urn:fhir-adapter:test:none|NO-SUCH-STUDY", "no-such-study-id"]
)
def test_an_unknown_study_is_one_line_and_exit_5(fhir_base_url, tmp_path, study_arg):
    result = CliRunner().invoke(
        main,
        ["pull", "--server", fhir_base_url, "--study", study_arg, "--out", str(tmp_path / "out")],
    )
    assert result.exit_code == 5, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "no ResearchStudy" in lines[0] and "NO-SUCH-STUDY" not in lines[0]
    assert not (tmp_path / "out").exists()


def test_the_commands_in_docs_pull_md_work_as_shown(synced, tmp_path, monkeypatch):
    """docs/pull.md's example, with this test's server, study identifier and folder."""
    study, expected = synced
    text = (REPO / "docs" / "pull.md").read_text(encoding="utf-8")
    block = text.split("<!-- docs-example: tests/integration/sync/test_pull.py -->", 1)[1]
    commands = re.findall(r"^fhir-adapter pull (.+?)$", block.split("```", 2)[1], re.M)
    assert commands, "the example block lists fhir-adapter pull commands"
    monkeypatch.chdir(tmp_path)
    for command in commands:
        args = shlex.split(
            command.replace("http://127.0.0.1:8080/fhir", study.server_url).replace(
                "urn:fhir-adapter:example:study|STUDY-A", _identifier(expected)
            )
        )
        result = CliRunner().invoke(main, ["pull", *args])
        assert result.exit_code == 0, result.output
        table = "observations.csv" if "--format csv" in command else "observations.parquet"
        assert (tmp_path / "out" / "pulled-a" / "tables" / table).exists()
        if "--json" in args:
            assert json.loads(result.stdout)["counts"] == _expected_counts(expected)
        else:
            assert "ResearchSubject" in result.stdout and "tables (rows):" in result.stdout
        _assert_everything_once(tmp_path / "out" / "pulled-a", expected)
