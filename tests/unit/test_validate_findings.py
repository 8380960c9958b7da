"""validate --server: findings located in the resource, redacted but keeping public code
system names, and printed grouped by message with counts, errors first."""

from __future__ import annotations

import io

from rich.console import Console

import fhir_adapter.cli.mapping as cli
from fhir_adapter.verify.remote import ValidationFinding, _element, _shown

OBSERVATION = {
    "resourceType": "Observation",
    "id": "o1",
    "identifier": [{"system": "urn:site/obs", "value": "A-001/BL"}],
    "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}]},
}


def test_locations_drop_hapis_parameters_wrapper():
    assert _element("Parameters.parameter[0].resource/*Observation/o1*/.code.coding[0]") == (
        "Observation.code.coding[0]"
    )
    assert _element("Parameters.parameter[0].resource/*Patient/p1*/") == "Patient"
    assert _element("Observation.status") == "Observation.status"


def test_public_code_systems_are_kept_and_values_redacted():
    text = (
        "CodeSystem is unknown and can't be validated: http://loinc.org for "
        "'http://loinc.org#4548-4'"
    )
    assert _shown(text, OBSERVATION) == (
        "CodeSystem is unknown and can't be validated: http://loinc.org for <redacted>"
    )
    assert "A-001" not in _shown("bad identifier 'A-001/BL' in urn:site/obs", OBSERVATION)


def test_findings_are_grouped_errors_first_with_counts_and_rows(monkeypatch):
    buffer = io.StringIO()
    monkeypatch.setattr(cli, "stderr", Console(file=buffer, width=200))
    findings = [
        ValidationFinding(
            "warning",
            f"Observation/o{i}",
            f"visits.csv row {i}",
            "Observation",
            "should have a performer",
        )
        for i in range(5)
    ]
    findings.append(
        ValidationFinding(
            "error", "Patient/p1", "subjects.csv row 2", "Patient.gender", "unknown code"
        )
    )
    cli.print_findings(findings, rows=2)
    lines = buffer.getvalue().splitlines()
    assert lines[0] == "error ×1 unknown code"
    assert lines[1].strip() == "at subjects.csv row 2 (Patient.gender)"
    assert lines[2] == "warning ×5 should have a performer"
    assert lines[3].strip() == (
        "at visits.csv row 0 (Observation); visits.csv row 1 (Observation) and 3 more"
    )
