"""The views added for `pull` (procedures, medications, adverse events, visits, products,
conditions) on both mapped example studies: one row per resource, standard codes and UCUM
units equal to the resources', keys that join."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from fhir_adapter.views import load_view, read_ndjson, run_view

from .conftest import VIEWS

STUDIES = ("study_a", "study_b")
ONE_ROW_PER = {
    "procedures": "Procedure",
    "medications": "MedicationStatement",
    "adverse_events": "AdverseEvent",
    "encounters": "Encounter",
    "products": "BiologicallyDerivedProduct",
    "conditions": "Condition",
}


def _resources(folder: Path, kind: str) -> dict[str, dict[str, Any]]:
    return {item.resource["id"]: item.resource for item in read_ndjson(folder, kind)}


def _rows(view: str, resources: Any) -> list[dict[str, Any]]:
    return list(run_view(load_view(VIEWS / f"{view}.json"), resources))


@pytest.mark.parametrize("study", STUDIES)
@pytest.mark.parametrize("view", sorted(ONE_ROW_PER))
def test_one_row_per_resource_keyed_by_its_id(study: str, view: str, study_ndjson) -> None:
    kind = ONE_ROW_PER[view]
    assert load_view(VIEWS / f"{view}.json").resource == kind
    resources = _resources(study_ndjson[study], kind)
    rows = _rows(view, resources.values())
    assert sorted(row["id"] for row in rows) == sorted(resources)
    patients = _resources(study_ndjson[study], "Patient")
    assert {row["patient_id"] for row in rows} <= set(patients)


@pytest.mark.parametrize("study", STUDIES)
def test_medications_carry_rxnorm_atc_period_and_ucum_dose(study: str, study_ndjson) -> None:
    statements = _resources(study_ndjson[study], "MedicationStatement")
    for row in _rows("medications", statements.values()):
        source = statements[row["id"]]
        codings = {c["system"]: c["code"] for c in source["medicationCodeableConcept"]["coding"]}
        assert row["rxnorm_code"] == codings.get("http://www.nlm.nih.gov/research/umls/rxnorm")
        assert row["atc_code"] == codings.get("http://www.whocc.no/atc")
        assert row["period_start"] == source["effectivePeriod"]["start"]
        assert row["period_end"] == source["effectivePeriod"].get("end")
        dosage = source["dosage"][0]
        dose = (dosage.get("doseAndRate") or [{}])[0].get("doseQuantity")
        repeat = (dosage.get("timing") or {}).get("repeat") or {}
        assert (row["dose"], row["dose_unit"]) == (
            (Decimal(str(dose["value"])), dose["code"]) if dose else (None, None)
        )
        if dose and repeat.get("periodUnit") == "d":
            # The total per day is computable from every statement: dose x frequency / period.
            expected = (
                Decimal(str(dose["value"])) * repeat["frequency"] / Decimal(str(repeat["period"]))
            )
            assert Decimal(str(row["daily_total_dose"])) == expected
            assert row["daily_total_unit"] == dose["code"]
        flagged = any(
            e["url"] == "urn:fhir-adapter:extension:dosage-daily-total"
            for e in dosage.get("extension") or []
        )
        assert row["source_gave_daily_total"] is flagged


@pytest.mark.parametrize("study", STUDIES)
def test_procedures_join_the_products_they_used(study: str, study_ndjson) -> None:
    folder = study_ndjson[study]
    products = {
        row["id"]: row
        for row in _rows("products", _resources(folder, "BiologicallyDerivedProduct").values())
    }
    procedures = {
        row["id"]: row for row in _rows("procedures", _resources(folder, "Procedure").values())
    }
    used = [row for row in procedures.values() if row["product_id"]]
    assert used and all(row["product_id"] in products for row in used)
    assert all(row["route_code"] for row in used)
    sources = _resources(folder, "Procedure")
    for row in procedures.values():
        coding = (sources[row["id"]]["code"].get("coding") or [{}])[0]
        assert (row["code_system"], row["code"]) == (coding.get("system"), coding.get("code"))
    for product in products.values():
        assert product["harvest_procedure_id"] in {None, *procedures}  # B names no harvest
        assert product["cell_dose_unit"] and product["viability_unit"] == "%"


@pytest.mark.parametrize("study", STUDIES)
def test_adverse_events_keep_seriousness_severity_and_study(study: str, study_ndjson) -> None:
    events = _resources(study_ndjson[study], "AdverseEvent")
    rows = _rows("adverse_events", events.values())
    assert rows
    for row in rows:
        source = events[row["id"]]
        assert row["seriousness"] in ("Serious", "Non-serious")
        assert row["severity"] == source["severity"]["coding"][0]["code"]
        assert row["date"] == source["date"] and row["event_text"] == source["event"]["text"]
        assert row["study_id"] and row["identifier"] == source["identifier"]["value"]


def test_encounters_one_row_per_visit() -> None:
    visit = {
        "resourceType": "Encounter",
        "id": "v1",
        "status": "finished",
        "identifier": [{"system": "urn:x", "value": "A-001/M6"}],
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "type": [{"coding": [{"system": "urn:visits", "code": "M6"}], "text": "Month 6"}],
        "subject": {"reference": "Patient/p1"},
        "period": {"start": "2020-01-02", "end": "2020-01-02"},
    }
    assert _rows("encounters", [visit]) == [
        {
            "id": "v1",
            "patient_id": "p1",
            "identifier": "A-001/M6",
            "status": "finished",
            "class": "AMB",
            "type_code": "M6",
            "type_text": "Month 6",
            "period_start": "2020-01-02",
            "period_end": "2020-01-02",
        }
    ]


@pytest.mark.parametrize("study", STUDIES)
def test_studies_view_gives_the_study_title_and_arms(study: str, study_ndjson) -> None:
    studies = _resources(study_ndjson[study], "ResearchStudy")
    rows = _rows("studies", studies.values())
    assert len(rows) == 1
    source = next(iter(studies.values()))
    assert rows[0]["title"] == source["title"] and "synthetic" in rows[0]["title"]
    assert rows[0]["identifier_value"] == source["identifier"][0]["value"]
    assert rows[0]["arms"] == [arm["name"] for arm in source["arm"]]


def test_a_below_limit_result_has_its_comparator_and_the_limit_as_value(study_ndjson) -> None:
    """Study A has five C-peptide results below quantification ('<0.10' in visits.csv)."""
    observations = _resources(study_ndjson["study_a"], "Observation")
    rows = _rows("observations", observations.values())
    limited = [row for row in rows if row["comparator"] is not None]
    assert len(limited) == 5
    assert {(row["comparator"], row["value"], row["code"]) for row in limited} == {
        ("<", Decimal("0.10"), "1986-9")
    }
    assert sum(1 for row in rows if row["comparator"] is None) == len(rows) - 5
