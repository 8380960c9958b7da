"""The kinds registry: what every layer asks instead of a list of its own.

A toy kind registered here (and nowhere else) must be known to ids, identifier systems,
tag matching, entered-in-error and the section walk without editing any other module.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from fhir_adapter.kinds import KINDS, Kind, Registry, ResourceRule, registry
from fhir_adapter.kinds._kind import status_entered_in_error
from fhir_adapter.sync.plan import mark_entered_in_error

TOY = Kind(
    "visit",
    (ResourceRule("Encounter", "enc", "visit", entered_in_error=status_entered_in_error),),
    section="visits",
)


def test_every_resource_type_the_adapter_writes_is_declared_once():
    assert registry.resource_types == (
        "ResearchStudy",
        "Patient",
        "ResearchSubject",
        "Condition",
        "Observation",
        "Procedure",
        "BiologicallyDerivedProduct",
        "MedicationStatement",
        "AdverseEvent",
        "Provenance",
    )
    assert registry.tag_matched == {"Provenance", "BiologicallyDerivedProduct", "AdverseEvent"}
    assert len(KINDS) == len({k.name for k in KINDS})


def test_ids_are_unchanged_by_the_registry():
    # Ids on servers depend on these: the same input must give the same id as before.
    assert registry.resource_id("study-a", "Patient", "A-001") == (
        "study-a-pat-" + __import__("hashlib").sha256(b"study-a|Patient|A-001").hexdigest()[:20]
    )
    assert registry.identifier_system("urn:x/", "MedicationStatement") == "urn:x/medication-line"


def test_a_toy_kind_reaches_every_consumer_through_the_registry():
    toy = registry.with_kind(TOY)
    assert toy.resource_types[-1] == "Encounter"
    assert toy.resource_id("s", "Encounter", "A-001/v1").startswith("s-enc-")
    assert toy.identifier_system("urn:x", "Encounter") == "urn:x/visit"
    marked = toy.mark_entered_in_error({"resourceType": "Encounter", "status": "finished"})
    assert marked == {"resourceType": "Encounter", "status": "entered-in-error"}
    participants, visits = SimpleNamespace(table="t"), SimpleNamespace(table="v")
    spec = SimpleNamespace(participants=participants, visits=visits, observations=[])
    assert [loc for loc, _ in toy.sections(spec)] == [["participants"], ["visits"]]
    assert registry.mark_entered_in_error({"resourceType": "Encounter"}) is None  # not global


def test_two_kinds_cannot_claim_one_type_or_prefix():
    with pytest.raises(ValueError, match="same resource type"):
        registry.with_kind(Kind("again", (ResourceRule("Patient", "p2", "x"),)))
    with pytest.raises(ValueError, match="id prefix"):
        Registry((*KINDS, Kind("clash", (ResourceRule("Encounter", "pat", "x"),))))


def test_entered_in_error_is_each_kinds_own():
    assert mark_entered_in_error({"resourceType": "Observation", "status": "final"}) == {
        "resourceType": "Observation",
        "status": "entered-in-error",
    }
    assert mark_entered_in_error({"resourceType": "Provenance"}) is None
    original = {"resourceType": "Patient", "active": True}
    assert mark_entered_in_error(original) == {"resourceType": "Patient", "active": False}
    assert original["active"] is True  # a copy is marked
