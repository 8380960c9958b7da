"""Every resource mapped from the shipped examples passes the HAPI R4 server's ``$validate``
with no error (warnings, e.g. LOINC not checked offline, are allowed and counted)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fhir_adapter.client import FhirClient
from fhir_adapter.mapping.loader import load_mapping
from fhir_adapter.pipeline import StudyMapping
from fhir_adapter.verify import validate_on_server

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "name", ["study_a", "study_b", "study_a_alt", "study_a_redcap", "study_a_hospital"]
)
def test_every_example_resource_validates(name, fhir_base_url):
    mapping = StudyMapping(
        load_mapping(REPO / "mappings" / f"{name}.yaml"), REPO / "examples" / name
    )
    with FhirClient(fhir_base_url, max_concurrency=4, deadline=300) as client:
        report = validate_on_server(mapping, client, concurrency=4)
    assert report.resources == sum(mapping.report.resources.values())
    assert report.resources > 1000
    errors = [f for f in report.findings if f.severity in ("error", "fatal")]
    assert errors == [], errors[:5]
    assert report.ok
