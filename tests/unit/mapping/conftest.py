"""A tiny study-A-shaped export, written per test, so each bad-row class can be planted."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]
STUDY_A = REPO / "mappings" / "study_a.yaml"

TABLES: dict[str, list[dict[str, str]]] = {
    "subjects.csv": [
        dict(
            subject_id="A-001",
            site_id="S",
            sex="M",
            birth_date="1960-03-04",
            consent_date="2019-01-10",
            arm="IV",
            t2dm_diagnosis_date="2012-05-01",
            baseline_med_group="ORAL",
            status="COMPLETED",
            end_date="2020-02-01",
            end_reason="COMPLETED",
        ),
        dict(
            subject_id="A-002",
            site_id="S",
            sex="F",
            birth_date="1970-01-04",
            consent_date="2019-01-11",
            arm="IA",
            t2dm_diagnosis_date="2015-05-01",
            baseline_med_group="BOTH",
            status="COMPLETED",
            end_date="2020-02-02",
            end_reason="COMPLETED",
        ),
    ],
    "visits.csv": [
        dict(
            subject_id="A-001",
            visit="BL",
            visit_date="2019-02-01",
            hba1c_pct="8.4",
            c_peptide_ng_ml="<0.10",
            fpg_mg_dl="160",
            weight_kg="70.1",
            height_cm="168",
            bmi_kg_m2="24.8",
        ),
        dict(
            subject_id="A-002",
            visit="BL",
            visit_date="2019-02-02",
            hba1c_pct="9.1",
            c_peptide_ng_ml="1.20",
            fpg_mg_dl="171",
            weight_kg="55.0",
            height_cm="160",
            bmi_kg_m2="21.5",
        ),
    ],
    "procedures.csv": [
        dict(
            subject_id="A-001",
            procedure_id="A-001-HARV",
            procedure_type="HARVEST",
            procedure_date="2019-01-20",
            route="",
            body_site="",
            product_id="",
        ),
        dict(
            subject_id="A-001",
            procedure_id="A-001-INF1",
            procedure_type="INFUSION",
            procedure_date="2019-02-05",
            route="IV",
            body_site="",
            product_id="A-001-P1",
        ),
        dict(
            subject_id="A-002",
            procedure_id="A-002-INF1",
            procedure_type="INFUSION",
            procedure_date="2019-02-06",
            route="IA",
            body_site="PANCREAS",
            product_id="",
        ),
    ],
    "cell_products.csv": [
        dict(
            product_id="A-001-P1",
            subject_id="A-001",
            harvest_procedure_id="A-001-HARV",
            collection_date="2019-01-20",
            cell_type="MSC",
            dose_1e6_cells_per_kg="1.2",
            viability_pct="95",
        ),
    ],
    "medications.csv": [
        dict(
            subject_id="A-001",
            line_no="1",
            drug_code="METFORMIN",
            dose="850",
            dose_unit="mg",
            times_per_day="2",
            start_date="2018-01-01",
            end_date="2019-03-01",
        ),
        dict(
            subject_id="A-001",
            line_no="2",
            drug_code="METFORMIN",
            dose="500",
            dose_unit="mg",
            times_per_day="2",
            start_date="2019-03-02",
            end_date="",
        ),
        dict(
            subject_id="A-002",
            line_no="1",
            drug_code="INS_GLARGINE",
            dose="20",
            dose_unit="IU",
            times_per_day="1",
            start_date="2018-01-01",
            end_date="",
        ),
    ],
    "adverse_events.csv": [
        dict(
            subject_id="A-001",
            ae_id="A-001-AE1",
            onset_date="2019-02-06",
            term="Fever",
            severity="MILD",
            serious="N",
            outcome="RECOVERED",
        ),
    ],
}


def write_tables(directory: Path, tables: dict[str, list[dict[str, str]]]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, rows in tables.items():
        with (directory / name).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return directory


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def study_a_mapping() -> Path:
    return STUDY_A


@pytest.fixture
def write_export():
    return write_tables


@pytest.fixture
def tables() -> dict[str, list[dict[str, str]]]:
    return {name: [dict(row) for row in rows] for name, rows in TABLES.items()}


# --- an edited copy of study A's mapping, in memory -------------------------------------------


def study_a_plain() -> dict[str, Any]:
    from fhir_adapter.mapping.loader import load_mapping

    return load_mapping(STUDY_A).spec.model_dump(exclude_unset=True, mode="json")


def load_problems(plain: dict[str, Any]) -> list[tuple[str, list[Any]]]:
    """The load-time problems of an edited mapping (message, key path)."""
    from fhir_adapter.mapping.checks import semantic_problems
    from fhir_adapter.mapping.spec import MappingSpec

    return [(m, list(loc)) for m, loc in semantic_problems(MappingSpec.model_validate(plain))]


@pytest.fixture
def plain_a() -> Callable[[], dict[str, Any]]:
    """Study A's mapping as plain data, to edit."""
    return study_a_plain


@pytest.fixture
def mapping_problems() -> Callable[[dict[str, Any]], list[tuple[str, list[Any]]]]:
    return load_problems


@pytest.fixture
def map_variant(tmp_path: Path) -> Callable[..., tuple[Any, list[dict[str, Any]]]]:
    """``map_variant(edit, tables)``: the report and every participant resource of study A's
    mapping changed by ``edit(plain)``, mapped on ``tables``."""
    from fhir_adapter.mapping.loader import LoadedMapping
    from fhir_adapter.mapping.spec import MappingSpec
    from fhir_adapter.pipeline import StudyMapping

    count = 0

    def run(
        edit: Callable[[dict[str, Any]], None], tables: dict[str, list[dict[str, str]]]
    ) -> tuple[Any, list[dict[str, Any]]]:
        nonlocal count
        count += 1
        plain = study_a_plain()
        edit(plain)
        assert load_problems(plain) == []
        spec = MappingSpec.model_validate(plain)
        loaded = LoadedMapping(spec=spec, path=tmp_path / "variant.yaml", digest="0" * 64)
        data = write_tables(tmp_path / f"data{count}", tables)
        mapping = StudyMapping(loaded, data, check_models=True)
        resources = [r for p in mapping.participants() for r in p.resources]
        return mapping.report, resources

    return run
