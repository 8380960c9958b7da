"""Round trip: map a source, sync it, pull it back, and the study's tables are the same.

For each shipped view (mappings/views/*.json) the rows computed from what `fhir-adapter map`
wrote (OUT/ndjson) must equal, cell by cell, the rows computed from what `fhir-adapter pull`
brought back from the real server: the same numbers (compared as exact decimals, so the
JSON float the search path goes through must give back the decimal that was sent), units,
codes, dates and references. Run for both example studies and for study A in another export
shape (study_a_alt: `;`-separated, decimal comma, dd/mm/yyyy, IFCC HbA1c), by search, and for
study A also by bulk `$export`.

No column is excluded: no shipped view exposes a server-assigned element (``meta.versionId``,
``meta.lastUpdated``, ``meta.source``); ``SERVER_ASSIGNED`` would list such columns, and
``test_no_view_reads_server_assigned_elements`` keeps that list honest.
"""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from fhir_adapter.cli import main
from fhir_adapter.client import FhirClient
from fhir_adapter.pull import PullOptions, StudyRef, pull_study
from fhir_adapter.views import Row, ViewDefinition, load_view, read_ndjson, run_view

from .conftest import Study

REPO = Path(__file__).resolve().parents[3]
VIEWS = sorted((REPO / "mappings" / "views").glob("*.json"))
# Columns a server sets on its own (none of the shipped views reads meta); see the docstring.
SERVER_ASSIGNED: dict[str, set[str]] = {}
# Views the example mappings write no resource for: an empty table is right (none today).
EMPTY_FOR_EXAMPLES: set[str] = set()


def _cell(value: Any) -> Any:
    """A cell in a form where equal values compare equal and different ones do not:
    decimals by exact value (``1.50`` and ``1.5`` are one number), everything else as is,
    with its type (a number never equals the same digits as text)."""
    if isinstance(value, float):  # never produced by the runner; kept exact if it were
        return ("decimal", Decimal(repr(value)).normalize())
    if isinstance(value, Decimal):
        return ("decimal", value.normalize())
    if isinstance(value, (list, dict)):
        return ("json", json.dumps(value, sort_keys=True, default=str))
    return (type(value).__name__, value)


def _table(view: ViewDefinition, ndjson: Path) -> dict[str, list[dict[str, Any]]]:
    """The view's rows over ``ndjson``, grouped by the resource key (column ``id``), each
    group in a canonical order (a resource may give several rows)."""
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    rows: list[Row] = list(run_view(view, (item.resource for item in read_ndjson(ndjson))))
    for row in rows:
        grouped[row["id"]].append({name: _cell(value) for name, value in row.items()})
    for group in grouped.values():
        group.sort(key=lambda cells: repr(sorted(cells.items())))
    return grouped


def _differences(view: ViewDefinition, mapped: Path, pulled: Path) -> tuple[int, list[str]]:
    """Rows compared, and every cell that differs (view, resource key, column; no values
    in the message beyond the cells themselves, which are synthetic example data)."""
    skip = SERVER_ASSIGNED.get(view.name or "", set())
    sent, back = _table(view, mapped), _table(view, pulled)
    problems = [f"{view.name}: {key} mapped but not pulled" for key in sent.keys() - back.keys()]
    problems += [f"{view.name}: {key} pulled but not mapped" for key in back.keys() - sent.keys()]
    rows = 0
    for key in sorted(sent.keys() & back.keys()):
        ours, theirs = sent[key], back[key]
        if len(ours) != len(theirs):
            problems.append(f"{view.name}: {key} gives {len(ours)} rows mapped, {len(theirs)}")
            continue
        for one, other in zip(ours, theirs, strict=True):
            rows += 1
            for column in view.column_names:
                if column not in skip and one[column] != other[column]:
                    problems.append(
                        f"{view.name}: {key} column {column}: {one[column]} → {other[column]}"
                    )
    return rows, problems


def _map(study: Study, out: Path) -> Path:
    result = CliRunner().invoke(
        main,
        [
            "map",
            "--mapping",
            str(study.mapping_path),
            "--data",
            str(study.data_dir),
            "--out",
            str(out),
            "--format",
            "ndjson",
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    return out / "ndjson"


def _assert_same_tables(mapped: Path, pulled: Path) -> dict[str, int]:
    compared: dict[str, int] = {}
    problems: list[str] = []
    for path in VIEWS:
        view = load_view(path)
        rows, found = _differences(view, mapped, pulled)
        compared[view.name or path.stem] = rows
        problems += found
    assert not problems, "\n".join(problems[:40])
    return compared


def _round_trip(study: Study, client: FhirClient, tmp_path: Path, method: str) -> dict[str, int]:
    mapped = _map(study, tmp_path / "mapped")
    report = study.sync(client)
    assert report.ok
    identifier = study.expected()["ResearchStudy"][0]["identifier"][0]
    ref = StudyRef.parse(f"{identifier['system']}|{identifier['value']}")
    pulled = pull_study(client, ref, PullOptions(out=tmp_path / "pulled", method=method))
    assert pulled.method == method
    return _assert_same_tables(mapped, tmp_path / "pulled" / "ndjson")


def _assert_every_table_filled(compared: dict[str, int], expected: dict[str, int]) -> None:
    """The comparison covered real rows (a round trip of empty tables proves nothing)."""
    for view, rows in compared.items():
        if view in EMPTY_FOR_EXAMPLES:
            assert rows == 0, view
        else:
            assert rows == expected[view], (view, rows, expected[view])


# Rows per table for each example export, counted from its files (see examples/*/README.md):
# Observations are the measurements, one MedicationStatement per medication row, and so on.
STUDY_A_ROWS = {
    "adverse_events": 7,
    "conditions": 30,
    "encounters": 176,  # one per participant visit: visits.csv has 176 rows
    "medications": 101,
    "observations": 850,
    "participants": 30,
    "patients": 30,
    "procedures": 90,
    "products": 60,
    "studies": 1,
}


@pytest.mark.parametrize("shape", ["study_a", "study_a_alt"])
def test_study_a_comes_back_cell_by_cell(make_study, client, tmp_path, shape):
    study = make_study(shape, subjects=None)
    compared = _round_trip(study, client, tmp_path, "search")
    _assert_every_table_filled(compared, STUDY_A_ROWS)


def test_study_b_comes_back_cell_by_cell(make_study, client, tmp_path):
    study = make_study("study_b")
    compared = _round_trip(study, client, tmp_path, "search")
    expected = study.expected()
    counts = {
        "adverse_events": len(expected.get("AdverseEvent", [])),
        "conditions": len(expected.get("Condition", [])),
        "encounters": len(expected["Encounter"]),
        "medications": len(expected.get("MedicationStatement", [])),
        "observations": len(expected["Observation"]),
        "participants": len(expected["ResearchSubject"]),
        "patients": len(expected["Patient"]),
        "procedures": len(expected.get("Procedure", [])),
        "products": len(expected.get("BiologicallyDerivedProduct", [])),
        "studies": 1,
    }
    assert counts["participants"] == 118 and counts["observations"] > 1000
    _assert_every_table_filled(compared, counts)


def test_study_a_comes_back_cell_by_cell_by_bulk_export(make_study, client, tmp_path):
    study = make_study("study_a", subjects=4)
    compared = _round_trip(study, client, tmp_path, "export")
    assert compared["participants"] == 4 and compared["observations"] > 100


def test_no_view_reads_server_assigned_elements():
    """If a view reads meta (set by the server on every write), its columns must be listed
    in SERVER_ASSIGNED, or the round trip would fail for a reason that is not a loss."""
    for path in VIEWS:
        text = path.read_text(encoding="utf-8")
        name = path.stem
        if "meta." in text:
            assert SERVER_ASSIGNED.get(name), f"{name} reads meta: list its columns"


def _observation_dir(folder: Path, value: str, unit: str, date: str) -> Path:
    folder.mkdir()
    line = (
        '{"resourceType":"Observation","id":"o1","status":"final",'
        '"code":{"coding":[{"system":"http://loinc.org","code":"4548-4"}]},'
        '"subject":{"reference":"Patient/p1"},"effectiveDateTime":"' + date + '",'
        '"valueQuantity":{"value":' + value + ',"unit":"' + unit + '",'
        '"system":"http://unitsofmeasure.org","code":"' + unit + '"}}'
    )
    (folder / "Observation.ndjson").write_text(line + "\n", encoding="utf-8")
    return folder


def test_the_comparison_sees_a_changed_unit_date_or_number_but_not_trailing_zeros(tmp_path):
    """The comparison itself can fail: one cell changed is one difference, named."""
    view = load_view(REPO / "mappings" / "views" / "observations.json")
    sent = _observation_dir(tmp_path / "sent", "7.50", "%", "2020-01-02")
    assert (
        _differences(view, sent, _observation_dir(tmp_path / "a", "7.5", "%", "2020-01-02"))[1]
        == []
    )
    for name, (value, unit, date), column in [
        ("b", ("7.51", "%", "2020-01-02"), "value"),
        ("c", ("7.50", "mmol/mol", "2020-01-02"), "unit"),
        ("d", ("7.50", "%", "2020-01-03"), "effective_date"),
    ]:
        rows, problems = _differences(
            view, sent, _observation_dir(tmp_path / name, value, unit, date)
        )
        assert rows == 1 and len(problems) == 1 and f"column {column}:" in problems[0], problems
