"""MedicationStatements with every schedule frequency text gives (per hour, day and week)
pass the HAPI R4 server's ``$validate`` with no error. ``$validate`` stores nothing."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from fhir_adapter.client import FhirClient
from fhir_adapter.fhir.resources import ResourceFactory
from fhir_adapter.fhir.serialize import canonical_json
from fhir_adapter.mapping.frequency import parse_frequency
from fhir_adapter.mapping.loader import load_mapping
from fhir_adapter.mapping.records import MedicationRecord, Origin, Participant, ParticipantRecords

REPO = Path(__file__).resolve().parents[2]
TEXTS = ["BID", "q8h", "every other day", "weekly", "2x/week", "1-1-1-1", "every 2 weeks"]


@pytest.mark.integration
def test_every_schedule_validates(fhir_base_url):
    factory = ResourceFactory(load_mapping(REPO / "mappings" / "study_a.yaml").spec, "study_a")
    origin = Origin("medications.csv", 2)
    participant = Participant(
        "A-001", "male", "1960-03-04", "IV", "intravenous", "2019-01-01", "on-study", None, origin
    )
    lines = [
        MedicationRecord(
            str(n),
            "metformin",
            Decimal("500"),
            "mg",
            parse_frequency(text),
            False,
            "2019-01-01",
            None,
            origin,
        )
        for n, text in enumerate(TEXTS, start=1)
    ]
    built = factory.participant(ParticipantRecords(participant, {"medication": lines}))
    statements = [r for r, _ in built if r["resourceType"] == "MedicationStatement"]
    assert len(statements) == len(TEXTS)
    units = {s["dosage"][0]["timing"]["repeat"]["periodUnit"] for s in statements}
    assert units == {"h", "d", "wk"}
    with FhirClient(fhir_base_url) as client:
        for statement in statements:
            result = client.validate(json.loads(canonical_json(statement)))
            errors = [i for i in result.issues if i.is_error]
            assert errors == [], (statement["dosage"], errors)
