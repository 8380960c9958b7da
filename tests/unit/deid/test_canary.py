"""The canary test (issue 12 item 3): every PHI-capable source cell of study A and study B
carries a marker (see conftest.py); after de-identification no marker, no original id or
identifier value, no source file name or row and no exact date of a participant appears
anywhere in the output JSON. Also: determinism, intervals kept under shifting, valid ids,
references that resolve inside the participant or to the study, and the structural guard.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest

from fhir_adapter.deid import Deidentifier, builtin_profile, catalogue_vocabulary
from fhir_adapter.deid._dates import is_date
from fhir_adapter.fhir.keys import ResourceKey
from fhir_adapter.fhir.serialize import canonical_json
from fhir_adapter.fhir.structure import empty_elements

from .conftest import KEY, MARK, OTHER_KEY, CanaryStudy

PROFILES = ["safe-harbor", "registry-dates-shifted"]
FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
FULL_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
SOURCE_ROW = re.compile(r"\brows? \d|\.csv|\.xlsx", re.IGNORECASE)
AS_OF = date(2026, 1, 1)
TOKEN = re.compile(r"[A-Za-z0-9\-.]+")


Outcome = tuple[Deidentifier, list[dict[str, Any]], list[list[dict[str, Any]]]]
_DONE: dict[tuple[str, str, bytes, int], Outcome] = {}


def deidentify(
    study: CanaryStudy, profile: str, key: bytes = KEY, *, fresh: bool = False
) -> Outcome:
    """De-identified study and participants (memoised: the inputs are never modified)."""
    memo = (study.name, profile, key, id(study))
    if memo in _DONE and not fresh:
        return _DONE[memo]
    _DONE[memo] = _deidentify(study, profile, key)
    return _DONE[memo]


def _deidentify(study: CanaryStudy, profile: str, key: bytes) -> Outcome:
    deid = Deidentifier(
        builtin_profile(profile),
        key,
        vocabulary=catalogue_vocabulary(study.mapping.spec),
        as_of=AS_OF,
    )
    return (
        deid,
        deid.study(study.study),
        [deid.participant(p.resources) for p in study.participants],
    )


def strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for value in node.values() for s in strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in strings(value)]
    return [node] if isinstance(node, str) else []


def test_canaries_reach_the_mapped_resources(canary_study: CanaryStudy) -> None:
    """The markers are planted where they matter: identifiers, free text, source files."""
    text = "".join(canonical_json(r) for p in canary_study.participants for r in p.resources)
    assert canary_study.cells > 3000
    for marker in ("CNRYQ", "CNRYT", "cnryf-"):
        assert marker in text


@pytest.mark.parametrize("profile", PROFILES)
def test_no_canary_identifier_file_or_row_in_output(
    canary_study: CanaryStudy, profile: str
) -> None:
    _, study, participants = deidentify(canary_study, profile)
    originals: set[str] = set()
    for mapped in canary_study.participants:
        for resource in mapped.resources:
            originals.add(resource["id"])
            identifier = resource.get("identifier", [])
            for item in identifier if isinstance(identifier, list) else [identifier]:
                originals.add(item["value"])
    originals.add(canary_study.study[0]["id"])
    for resources in [study, *participants]:
        for resource in resources:
            text = canonical_json(resource)
            assert MARK not in text.lower(), resource["resourceType"]
            assert not SOURCE_ROW.search(text), resource["resourceType"]
            assert not originals & set(strings(resource)), resource["resourceType"]
            # ids also hide inside references ("Patient/<id>"): compare every id-like token
            assert not originals & set(TOKEN.findall(text)), resource["resourceType"]


def test_safe_harbor_keeps_only_years(canary_study: CanaryStudy) -> None:
    _, _, participants = deidentify(canary_study, "safe-harbor")
    for resources in participants:
        for resource in resources:
            for value in strings(resource):
                if is_date(value) and FULL_DATE.match(value):
                    assert value.endswith("-01-01T00:00:00Z"), resource["resourceType"]


def _dates(node: Any, path: str = "") -> list[tuple[str, str]]:
    """(path, value) of every full date in a resource, in document order."""
    if isinstance(node, dict):
        return [d for k, v in node.items() for d in _dates(v, f"{path}.{k}")]
    if isinstance(node, list):
        return [d for i, v in enumerate(node) for d in _dates(v, f"{path}[{i}]")]
    if isinstance(node, str) and is_date(node) and len(node) >= 10:
        return [(path, node[:10])]
    return []


def test_shifting_keeps_every_interval_and_hides_every_date(canary_study: CanaryStudy) -> None:
    deid, _, participants = deidentify(canary_study, "registry-dates-shifted")
    window = deid.profile.dates.shift_window_days
    offsets = set()
    for mapped, out in zip(canary_study.participants, participants, strict=True):
        moved = set()
        for before, after in zip(mapped.resources, out, strict=True):
            # dateAsserted is the study's cut-off (kept); birthDate becomes a year.
            before = {k: v for k, v in before.items() if k not in ("dateAsserted", "birthDate")}
            after = {k: v for k, v in after.items() if k != "dateAsserted"}
            old, new = _dates(before), _dates(after)
            assert [p for p, _ in old] == [p for p, _ in new]
            assert all(a != b for (_, a), (_, b) in zip(old, new, strict=True))
            moved.update(
                (date.fromisoformat(b) - date.fromisoformat(a)).days
                for (_, a), (_, b) in zip(old, new, strict=True)
            )
        assert len(moved) == 1, "one offset per participant: every interval is kept"
        offset = moved.pop()
        assert 1 <= abs(offset) <= window
        offsets.add(offset)
        patient = out[0]
        assert re.fullmatch(r"\d{4}", patient.get("birthDate", "0000"))
    assert len(offsets) > len(participants) // 4, "offsets differ between participants"


@pytest.mark.parametrize("profile", PROFILES)
def test_deterministic_and_keyed(canary_study: CanaryStudy, profile: str) -> None:
    _, study1, first = deidentify(canary_study, profile)
    _, study2, second = deidentify(canary_study, profile, fresh=True)
    as_text = lambda groups: [canonical_json(r) for g in groups for r in g]  # noqa: E731
    assert as_text([study1, *first]) == as_text([study2, *second])
    _, study3, other = deidentify(canary_study, profile, OTHER_KEY)
    ids = {r["id"] for g in [study1, *first] for r in g}
    assert not ids & {r["id"] for g in [study3, *other] for r in g}
    values = {i["value"] for g in first for r in g for i in _identifiers(r)}
    assert not values & {i["value"] for g in other for r in g for i in _identifiers(r)}


def _identifiers(resource: dict[str, Any]) -> list[dict[str, Any]]:
    identifier = resource.get("identifier", [])
    return identifier if isinstance(identifier, list) else [identifier]


def _references(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["reference"]] if isinstance(node.get("reference"), str) else []
        return own + [r for k, v in node.items() if k != "reference" for r in _references(v)]
    if isinstance(node, list):
        return [r for v in node for r in _references(v)]
    return []


@pytest.mark.parametrize("profile", PROFILES)
def test_ids_valid_references_resolve_structure_sound(
    canary_study: CanaryStudy, profile: str
) -> None:
    _, study, participants = deidentify(canary_study, profile)
    study_keys = {ResourceKey.of(r) for r in study}
    seen: set[ResourceKey] = set()
    for resources in participants:
        keys = {ResourceKey.of(r) for r in resources}
        assert not keys & seen, "ids are unique across participants"
        seen |= keys
        for resource in resources:
            assert FHIR_ID.match(resource["id"]) and re.search("[A-Za-z]", resource["id"])
            assert empty_elements(resource) == []
            for reference in _references(resource):
                assert ResourceKey.parse(reference) in keys | study_keys, reference
    for resource in study:
        assert empty_elements(resource) == []
