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
    "specimen",
    (ResourceRule("Specimen", "spec", "specimen", entered_in_error=status_entered_in_error),),
    section="specimens",
)


def test_every_resource_type_the_adapter_writes_is_declared_once():
    assert registry.resource_types == (
        "ResearchStudy",
        "Patient",
        "ResearchSubject",
        "Condition",
        "Encounter",
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
    assert toy.resource_types[-1] == "Specimen"
    assert toy.resource_id("s", "Specimen", "A-001/v1").startswith("s-spec-")
    assert toy.identifier_system("urn:x", "Specimen") == "urn:x/specimen"
    marked = toy.mark_entered_in_error({"resourceType": "Specimen", "status": "available"})
    assert marked == {"resourceType": "Specimen", "status": "entered-in-error"}
    participants, specimens = SimpleNamespace(table="t"), SimpleNamespace(table="v")
    spec = SimpleNamespace(participants=participants, specimens=specimens, observations=[])
    assert [loc for loc, _ in toy.sections(spec)] == [["participants"], ["specimens"]]
    assert registry.mark_entered_in_error({"resourceType": "Specimen"}) is None  # not global


def test_two_kinds_cannot_claim_one_type_or_prefix():
    with pytest.raises(ValueError, match="same resource type"):
        registry.with_kind(Kind("again", (ResourceRule("Patient", "p2", "x"),)))
    with pytest.raises(ValueError, match="id prefix"):
        Registry((*KINDS, Kind("clash", (ResourceRule("Specimen", "pat", "x"),))))


def test_entered_in_error_is_each_kinds_own():
    assert mark_entered_in_error({"resourceType": "Observation", "status": "final"}) == {
        "resourceType": "Observation",
        "status": "entered-in-error",
    }
    assert mark_entered_in_error({"resourceType": "Provenance"}) is None
    original = {"resourceType": "Patient", "active": True}
    assert mark_entered_in_error(original) == {"resourceType": "Patient", "active": False}
    assert original["active"] is True  # a copy is marked
