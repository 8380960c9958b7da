"""verify names what differs, by element path, and shows values only where they cannot
identify anyone."""

from __future__ import annotations

from decimal import Decimal

from fhir_adapter.verify.diff import MASK, element_differences
from fhir_adapter.verify.normalize import normal_tree

OURS = {
    "resourceType": "Observation",
    "id": "o1",
    "status": "final",
    "identifier": [{"system": "urn:site/obs", "value": "A-001/BL/hba1c"}],
    "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}]},
    "effectiveDateTime": "2021-03-04",
    "valueQuantity": {"value": Decimal("6.1"), "unit": "%", "code": "%"},
    "note": [{"text": "patient said something"}],
}


def _diff(theirs: dict) -> list[str]:
    return [str(d) for d in element_differences(normal_tree(OURS), normal_tree(theirs))]


def test_a_changed_hba1c_names_the_element_and_both_values():
    theirs = {
        **OURS,
        "valueQuantity": {**OURS["valueQuantity"], "value": 6.5},
        "meta": {"versionId": "2"},
        "id": "server-9",
    }
    assert _diff(theirs) == ["valueQuantity.value: source 6.1, server 6.5"]


def test_numbers_compare_by_value_not_spelling():
    assert _diff({**OURS, "valueQuantity": {**OURS["valueQuantity"], "value": 6.10}}) == []


def test_codes_dates_and_statuses_are_shown():
    theirs = {
        **OURS,
        "status": "amended",
        "effectiveDateTime": "2021-03-05",
        "code": {"coding": [{"system": "http://loinc.org", "code": "17856-6"}]},
    }
    assert _diff(theirs) == [
        "status: source 'final', server 'amended'",
        "code.coding[0].code: source '4548-4', server '17856-6'",
        "effectiveDateTime: source '2021-03-04', server '2021-03-05'",
    ]


def test_identifiers_and_free_text_are_masked():
    theirs = {
        **OURS,
        "identifier": [{"system": "urn:site/obs", "value": "A-002/BL/hba1c"}],
        "note": [{"text": "something else"}],
    }
    shown = _diff(theirs)
    assert shown == [
        f"identifier[0].value: source {MASK}, server {MASK}",
        f"note[0].text: source {MASK}, server {MASK}",
    ]
    assert not any("A-00" in line or "said" in line for line in shown)


def test_missing_and_extra_elements():
    theirs = {k: v for k, v in OURS.items() if k != "note"}
    theirs["interpretation"] = [{"text": "high"}]
    assert _diff(theirs) == [
        "note: source (structure), server (absent)",
        "interpretation: source (absent), server (structure)",
    ]
