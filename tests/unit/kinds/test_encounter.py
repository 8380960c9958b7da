"""The Encounter kind: one Encounter per participant visit, each Observation pointing at it.

Expectations are read off the example exports by hand (examples/study_a/visits.csv row 2:
A-001, BL, 2019-01-23; examples/study_b/labs.csv: B001's month-0 samples on 31/05/2018).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from fhir_adapter.kinds import registry
from fhir_adapter.mapping.loader import load_mapping
from fhir_adapter.pipeline import StudyRun

REPO = Path(__file__).resolve().parents[3]


def _participants(name: str, data: Path) -> tuple[StudyRun, list]:
    run = StudyRun(load_mapping(REPO / "mappings" / f"{name}.yaml"), data)
    return run, list(run.participants())


def test_one_encounter_per_visit_and_every_observation_points_at_its_own():
    run, mapped = _participants("study_a", REPO / "examples" / "study_a")
    first = mapped[0].resources
    encounters = {r["id"]: r for r in first if r["resourceType"] == "Encounter"}
    visits = {e["type"][0]["text"] for e in encounters.values()}
    assert visits == {"BL", "H48", "M1", "M3", "M6", "M12"}  # A-001's rows in visits.csv
    baseline = next(e for e in encounters.values() if e["type"] == [{"text": "BL"}])
    assert baseline["id"] == registry.resource_id("study-a", "Encounter", "A-001/BL")
    assert baseline["identifier"] == [
        {"system": "urn:fhir-adapter:example:study-a/visit", "value": "A-001/BL"}
    ]
    assert baseline["status"] == "finished"
    assert baseline["class"] == {
        "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
        "code": "AMB",
        "display": "ambulatory",
    }
    assert baseline["period"] == {"start": "2019-01-23", "end": "2019-01-23"}
    assert baseline["subject"] == {"reference": f"Patient/{first[0]['id']}"}
    study = run.study_resources()[0]
    assert baseline["extension"] == [
        {
            "url": "http://hl7.org/fhir/StructureDefinition/workflow-researchStudy",
            "valueReference": {"reference": f"ResearchStudy/{study['id']}"},
        }
    ]
    observations = [r for r in first if r["resourceType"] == "Observation"]
    assert observations
    for o in observations:
        encounter = encounters[o["encounter"]["reference"].removeprefix("Encounter/")]
        visit = o["identifier"][0]["value"].split("/")[1]  # A-001/<visit>/<analyte>
        assert encounter["type"] == [{"text": visit}]
        assert encounter["period"]["start"] == o["effectiveDateTime"]
        assert list(o)[list(o).index("subject") + 1] == "encounter"  # R4 element order
    # Encounters come before the Observations that reference them (servers check targets).
    kinds = [r["resourceType"] for r in first]
    assert kinds.index("Encounter") < kinds.index("Observation")
    assert run.report.resources["Encounter"] == 176  # distinct (subject, visit) pairs


def test_two_dates_for_one_visit_reject_that_visits_rows_only(tmp_path):
    data = tmp_path / "study_b"
    shutil.copytree(REPO / "examples" / "study_b", data)
    labs = data / "labs.csv"
    text = labs.read_text(encoding="utf-8-sig")
    assert "B001;0;31/05/2018;CPEP;" in text
    labs.write_text(
        text.replace("B001;0;31/05/2018;CPEP;", "B001;0;01/06/2018;CPEP;", 1), encoding="utf-8-sig"
    )
    run, mapped = _participants("study_b", data)
    errors = [e for e in run.report.errors if e.rule == "visit-date"]
    assert [(e.file, e.row, e.column) for e in errors] == [
        ("labs.csv", 2, "SampleDate"),
        ("labs.csv", 3, "SampleDate"),
    ]
    assert "different dates" in errors[0].message and "2018" not in errors[0].message
    b001 = next(
        p
        for p in mapped
        if any(
            r["resourceType"] == "Patient" and r["identifier"][0]["value"] == "B001"
            for r in p.resources
        )
    )
    ids = {
        r["identifier"][0]["value"]
        for r in b001.resources
        if "identifier" in r and isinstance(r["identifier"], list)
    }
    assert "B001/0" not in ids and "B001/0/hba1c" not in ids  # the visit's rows went
    assert "B001/1" in ids and "B001/1/hba1c" in ids  # the other visits stayed
    assert not b001.complete


def test_a_removed_encounter_is_entered_in_error():
    marked = registry.mark_entered_in_error({"resourceType": "Encounter", "status": "finished"})
    assert marked == {"resourceType": "Encounter", "status": "entered-in-error"}
    assert "Encounter" not in registry.tag_matched  # R4 Encounter has an identifier search
