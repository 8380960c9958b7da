"""The views in mappings/views/ on both example studies, mapped by `fhir-adapter map`:
one row per resource, values equal to the resources', keys that join, all three formats."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from fhir_adapter.views import load_view, read_ndjson, run_view, run_view_to_file

from .conftest import VIEWS

STUDIES = ("study_a", "study_b")


def _resources(folder: Path, kind: str) -> list[dict[str, Any]]:
    return [item.resource for item in read_ndjson(folder, kind)]


def _rows(view: str, folder: Path) -> list[dict[str, Any]]:
    definition = load_view(VIEWS / f"{view}.json")
    return list(run_view(definition, _resources(folder, definition.resource)))


@pytest.mark.parametrize("view", sorted(p.stem for p in VIEWS.glob("*.json")))
def test_every_shipped_view_is_valid_and_typed(view: str) -> None:
    definition = load_view(VIEWS / f"{view}.json")
    assert all(column.type for column in definition.columns), "shareable views type every column"


@pytest.mark.parametrize("study", STUDIES)
def test_observations_one_row_per_observation_with_its_values(
    study: str, study_ndjson: dict[str, Path]
) -> None:
    folder = study_ndjson[study]
    observations = {r["id"]: r for r in _resources(folder, "Observation")}
    rows = _rows("observations", folder)
    assert len(rows) == len(observations) > 0
    for row in rows:
        source = observations[row["id"]]
        quantity = source["valueQuantity"]
        assert row["value"] == Decimal(str(quantity["value"]))
        assert row["unit"] == quantity["code"]
        assert row["code"] == source["code"]["coding"][0]["code"]
        assert row["code_system"] == "http://loinc.org"
        assert row["effective_date"] == source["effectiveDateTime"]
        assert f"Patient/{row['patient_id']}" == source["subject"]["reference"]


@pytest.mark.parametrize("study", STUDIES)
def test_participants_join_patients_and_observations(
    study: str, study_ndjson: dict[str, Path]
) -> None:
    folder = study_ndjson[study]
    patients = {row["id"]: row for row in _rows("patients", folder)}
    participants = _rows("participants", folder)
    assert len(participants) == len(patients) == len(_resources(folder, "ResearchSubject"))
    for participant in participants:
        patient = patients[participant["patient_id"]]
        assert patient["subject_identifier"] == participant["subject_identifier"]
        assert participant["arm"] and participant["period_start"]
    assert {row["patient_id"] for row in _rows("observations", folder)} <= set(patients)


def test_the_three_formats_hold_the_same_table(study_ndjson: dict[str, Path], tmp_path: Path):
    folder = study_ndjson["study_a"]
    view = load_view(VIEWS / "observations.json")
    results = {
        ext: run_view_to_file(view, folder, tmp_path / f"obs{ext}")
        for ext in (".csv", ".parquet", ".ndjson")
    }
    assert {r.rows for r in results.values()} == {850}
    assert all(r.resources_read == 850 for r in results.values())

    with (tmp_path / "obs.csv").open(newline="", encoding="utf-8") as handle:
        table = list(csv.reader(handle))
    assert table[0] == list(view.column_names)
    lines = (tmp_path / "obs.ndjson").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line, parse_float=Decimal) for line in lines]
    assert [list(r) for r in records[:1]] == [list(view.column_names)]
    parquet = pq.read_table(tmp_path / "obs.parquet")
    assert parquet.column_names == list(view.column_names)
    assert str(parquet.schema.field("value").type) == "double"

    value, date = table[0].index("value"), table[0].index("effective_date")
    for csv_row, record, parquet_row in zip(table[1:], records, parquet.to_pylist(), strict=True):
        assert csv_row[0] == record["id"] == parquet_row["id"]
        assert Decimal(csv_row[value]) == record["value"]
        assert float(record["value"]) == parquet_row["value"]
        assert csv_row[date] == record["effective_date"] == parquet_row["effective_date"]
    for result in results.values():
        assert result.output.stat().st_mode & 0o777 == 0o600
