"""Study A as a REDCap raw export maps to the same clinical facts as the site's own CSVs.

examples/study_a_redcap is written from the same synthetic subjects as examples/study_a;
only the export shape (one raw export + data dictionary) and the mapping file differ.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from fhir_adapter.fhir.serialize import canonical_json
from fhir_adapter.mapping.loader import load_mapping
from fhir_adapter.pipeline import StudyMapping

REPO = Path(__file__).resolve().parents[3]


def _resources(mapping: str, data: str) -> dict[str, dict]:
    run = StudyMapping(load_mapping(REPO / "mappings" / mapping), REPO / "examples" / data)
    resources = {r["id"]: r for r, _ in run.all_resources()}
    assert run.report.errors == []
    return resources


@pytest.fixture(scope="module")
def both() -> tuple[dict[str, dict], dict[str, dict]]:
    return (
        _resources("study_a.yaml", "study_a"),
        _resources("study_a_redcap.yaml", "study_a_redcap"),
    )


def test_every_clinical_resource_is_identical(both) -> None:
    csv, redcap = both
    assert csv.keys() == redcap.keys()
    kinds = Counter(r["resourceType"] for r in csv.values())
    assert kinds["Observation"] == 850 and kinds["MedicationStatement"] == 101
    for rid, resource in csv.items():
        if resource["resourceType"] != "Provenance":
            assert canonical_json(redcap[rid]) == canonical_json(resource), rid


def test_values_read_through_the_dictionary_are_the_study_values(both) -> None:
    """Spot checks by hand from the committed files: A-001's first line of medication is
    INS_GLARGINE 26 IU once a day (study_a/medications.csv row 2), exported as drug code 5,
    dose unit code 2, instance 1; A-001 is male (sex code 1) and in arm IV (code 1)."""
    _, redcap = both
    statements = [
        r
        for r in redcap.values()
        if r["resourceType"] == "MedicationStatement"
        and r["subject"]["reference"].endswith("study-a-pat-f70cfc553358b6f4a270")
    ]
    first = min(statements, key=lambda r: r["effectivePeriod"]["start"])
    dosage = first["dosage"][0]
    assert dosage["doseAndRate"][0]["doseQuantity"]["value"] == 26
    assert dosage["doseAndRate"][0]["doseQuantity"]["code"] == "[IU]"
    assert dosage["timing"]["repeat"]["frequency"] == 1
    assert first["effectivePeriod"]["start"] == "2014-08-27"
    patient = redcap["study-a-pat-f70cfc553358b6f4a270"]
    assert (patient["gender"], patient["birthDate"]) == ("male", "1981-03-07")


def test_provenance_names_the_rows_of_the_redcap_export(both) -> None:
    _, redcap = both
    provenance = [r for r in redcap.values() if r["resourceType"] == "Provenance"]
    assert len(provenance) == 30
    text = canonical_json(provenance[0])
    assert "redcap_export.csv" in text and "study_a_redcap.yaml" in text
