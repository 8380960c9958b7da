"""The medications view's total per day, dose × frequency ÷ (period in days), for every period
unit the adapter writes (h, d, wk), against totals worked out by hand; left empty where a
period has no fixed length in days or the schedule is a range."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from fhir_adapter.fhir.resources import ResourceFactory
from fhir_adapter.fhir.serialize import canonical_json
from fhir_adapter.mapping.frequency import parse_frequency
from fhir_adapter.mapping.loader import load_mapping
from fhir_adapter.mapping.records import (
    MedicationRecord,
    Origin,
    Participant,
    ParticipantRecords,
)
from fhir_adapter.views import load_view, run_view

from .conftest import VIEWS

REPO = Path(__file__).resolve().parents[3]
VIEW = load_view(VIEWS / "medications.json")


def _statement(dose: str, unit: str, repeat: dict[str, Any] | None) -> dict[str, Any]:
    dosage: dict[str, Any] = {
        "doseAndRate": [
            {
                "doseQuantity": {
                    "value": Decimal(dose),
                    "unit": unit,
                    "system": "http://unitsofmeasure.org",
                    "code": unit,
                }
            }
        ]
    }
    if repeat is not None:
        dosage["timing"] = {"repeat": repeat}
    return {
        "resourceType": "MedicationStatement",
        "id": "m1",
        "status": "active",
        "subject": {"reference": "Patient/p1"},
        "dosage": [dosage],
    }


def _row(statement: dict[str, Any]) -> dict[str, Any]:
    # Through JSON as `map` writes it and `pull` reads it (decimals as Decimal).
    resource = json.loads(canonical_json(statement), parse_float=Decimal)
    (row,) = run_view(VIEW, [resource])
    return row


# dose, unit, timing.repeat → total per day, computed by hand.
HAND_COMPUTED = [
    # 500 mg BID: 500 × 2 = 1000 mg a day
    ("500", "mg", {"frequency": 2, "period": 1, "periodUnit": "d"}, "1000"),
    # 10 [IU] every other day: 10 × 1 ÷ 2 = 5 [IU] a day
    ("10", "[IU]", {"frequency": 1, "period": 2, "periodUnit": "d"}, "5"),
    # 70 mg weekly: 70 × 1 ÷ 7 = 10 mg a day
    ("70", "mg", {"frequency": 1, "period": 1, "periodUnit": "wk"}, "10"),
    # 4 mg q8h: 4 × 24 ÷ 8 = 12 mg a day
    ("4", "mg", {"frequency": 1, "period": 8, "periodUnit": "h"}, "12"),
    # 0.5 mg q12h: 0.5 × 24 ÷ 12 = 1 mg a day
    ("0.5", "mg", {"frequency": 1, "period": 12, "periodUnit": "h"}, "1"),
    # 35 mg 2x/week: 35 × 2 ÷ 7 = 10 mg a day
    ("35", "mg", {"frequency": 2, "period": 1, "periodUnit": "wk"}, "10"),
    # 30 mg every 2 weeks: 30 ÷ 14 = 2.142857… mg a day
    ("30", "mg", {"frequency": 1, "period": 2, "periodUnit": "wk"}, "2.142857"),
    # 850 mg 1-0-1: 850 × 2 = 1700 mg a day
    ("850", "mg", {"frequency": 2, "period": 1, "periodUnit": "d"}, "1700"),
    # 6 [IU] 1-1-1-1 (QID): 6 × 4 = 24 [IU] a day
    ("6", "[IU]", {"frequency": 4, "period": 1, "periodUnit": "d"}, "24"),
    # 1.5 mg every 3 days: 1.5 ÷ 3 = 0.5 mg a day
    ("1.5", "mg", {"frequency": 1, "period": 3, "periodUnit": "d"}, "0.5"),
]


@pytest.mark.parametrize(("dose", "unit", "repeat", "per_day"), HAND_COMPUTED)
def test_total_per_day(dose: str, unit: str, repeat: dict[str, Any], per_day: str) -> None:
    row = _row(_statement(dose, unit, repeat))
    places = Decimal(per_day).as_tuple().exponent
    assert Decimal(str(row["daily_total_dose"])).quantize(Decimal(1).scaleb(places)) == Decimal(
        per_day
    )
    assert row["daily_total_unit"] == unit
    assert (row["frequency"], row["period"], row["period_unit"]) == (
        repeat["frequency"],
        repeat["period"],
        repeat["periodUnit"],
    )


@pytest.mark.parametrize(
    "repeat",
    [
        {"frequency": 1, "period": 1, "periodUnit": "mo"},  # 28 to 31 days
        {"frequency": 1, "period": 1, "periodUnit": "a"},  # 365 or 366 days
        {"frequency": 2, "frequencyMax": 3, "period": 1, "periodUnit": "d"},  # a range
        {"frequency": 1, "period": 4, "periodMax": 6, "periodUnit": "h"},
        {"frequency": 1, "period": 1},  # no unit
        None,  # no timing
    ],
)
def test_no_total_where_the_period_has_no_fixed_length_or_is_a_range(
    repeat: dict[str, Any] | None,
) -> None:
    assert _row(_statement("100", "mg", repeat))["daily_total_dose"] is None


@pytest.mark.parametrize(
    ("text", "dose", "per_day"),
    [
        ("BID", "500", "1000"),
        ("every other day", "10", "5"),
        ("weekly", "70", "10"),
        ("q8h", "4", "12"),
        ("2x/week", "35", "10"),
        ("1-0-1", "850", "1700"),
        ("three times daily", "1", "3"),
    ],
)
def test_frequency_text_to_total_per_day_through_the_builder(
    text: str, dose: str, per_day: str
) -> None:
    # Text → schedule → MedicationStatement as `map` builds it → the view's total.
    spec = load_mapping(REPO / "mappings" / "study_a.yaml").spec
    factory = ResourceFactory(spec, "study_a")
    origin = Origin("medications.csv", 2)
    participant = Participant(
        "A-001", "male", "1960-03-04", "IV", "intravenous", "2019-01-01", "on-study", None, origin
    )
    medication = MedicationRecord(
        "1",
        "metformin",
        Decimal(dose),
        "mg",
        parse_frequency(text),
        False,
        "2019-01-01",
        None,
        origin,
    )
    built = factory.participant(ParticipantRecords(participant, {"medication": [medication]}))
    (statement,) = [r for r, _ in built if r["resourceType"] == "MedicationStatement"]
    row = _row(statement)
    assert Decimal(str(row["daily_total_dose"])) == Decimal(per_day)
    assert row["daily_total_unit"] == "mg" and row["source_gave_daily_total"] is False
