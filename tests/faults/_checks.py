"""Read the server after a fault round and count what went wrong, without trusting the ledger.

The census finds every server copy of every mapped resource by its business key (the first
identifier; for the types R4 cannot search by identifier, our key tag in conditional mode
and our id in client-ids mode). From it:

    lost          a mapped resource with no copy on the server
    duplicates    copies beyond the first of one mapped resource
    mismatched    a mapped resource whose one copy differs from the source, that the ledger
                  records with another server id or version, or that ``verify_study`` flags
    versions      copies whose versionId is not the one expected (1, or 2 where the source
                  changed once): a write that should have been a no-op made a new version
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from fhir_adapter.client import FhirClient
from fhir_adapter.fhir.keys import ResourceKey
from fhir_adapter.pipeline import StudyMapping
from fhir_adapter.sync import Ledger, WriteMode
from fhir_adapter.sync.writemode import PROVENANCE_TAG_SYSTEM, TAG_MATCHED
from fhir_adapter.verify import verify_study
from fhir_adapter.verify.normalize import normal

from ._study import Key

_CHUNK = 40  # business keys per search (keeps the URL well under Tomcat's limit)


@dataclass
class Findings:
    """What one round's server state breaks; every list holds ``Type/id`` strings."""

    resources: int = 0
    lost: list[str] = field(default_factory=list)
    duplicates: int = 0
    duplicated: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicates or self.mismatched or self.versions)


def census(
    client: FhirClient, expected: dict[Key, dict[str, Any]], mode: WriteMode
) -> dict[Key, list[dict[str, Any]]]:
    """Every server copy of every expected resource, found by business key."""
    copies: dict[Key, list[dict[str, Any]]] = defaultdict(list)
    by_kind: dict[str, list[Key]] = defaultdict(list)
    for key in expected:
        by_kind[key[0]].append(key)
    for kind, keys in by_kind.items():
        if kind in TAG_MATCHED and mode is WriteMode.CLIENT_IDS:
            _by_id(client, kind, keys, copies)
        elif kind in TAG_MATCHED:
            _by_tag(client, kind, keys, copies)
        else:
            _by_identifier(client, kind, keys, expected, copies)
    return copies


def _by_id(
    client: FhirClient, kind: str, keys: list[Key], copies: dict[Key, list[dict[str, Any]]]
) -> None:
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        params = {"_id": ",".join(rid for _, rid in chunk), "_count": "200"}
        for resource in client.search(kind, params, no_cache=True):
            copies[(kind, resource["id"])].append(resource)


def _by_tag(
    client: FhirClient, kind: str, keys: list[Key], copies: dict[Key, list[dict[str, Any]]]
) -> None:
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        params = {
            "_tag": ",".join(f"{PROVENANCE_TAG_SYSTEM}|{rid}" for _, rid in chunk),
            "_count": "200",
        }
        for resource in client.search(kind, params, no_cache=True):
            for tag in (resource.get("meta") or {}).get("tag") or ():
                if tag.get("system") == PROVENANCE_TAG_SYSTEM:
                    copies[(kind, tag["code"])].append(resource)


def _first_identifier(resource: dict[str, Any]) -> tuple[str, str]:
    identifier = resource["identifier"]
    first = identifier[0] if isinstance(identifier, list) else identifier
    return first["system"], first["value"]


def _by_identifier(
    client: FhirClient,
    kind: str,
    keys: list[Key],
    expected: dict[Key, dict[str, Any]],
    copies: dict[Key, list[dict[str, Any]]],
) -> None:
    wanted = {_first_identifier(expected[key]): key for key in keys}
    tokens = list(wanted)
    for start in range(0, len(tokens), _CHUNK):
        chunk = tokens[start : start + _CHUNK]
        params = {"identifier": ",".join(f"{s}|{v}" for s, v in chunk), "_count": "200"}
        for resource in client.search(kind, params, no_cache=True):
            identifiers = resource.get("identifier") or []
            if isinstance(identifiers, dict):
                identifiers = [identifiers]
            for identifier in identifiers:
                key = wanted.get((identifier.get("system"), identifier.get("value")))
                if key is not None:
                    copies[key].append(resource)
                    break


def check_round(
    client: FhirClient,
    mapping: StudyMapping,
    mode: WriteMode,
    expected: dict[Key, dict[str, Any]],
    versions: dict[Key, str],
    ledger: Ledger,
) -> Findings:
    """Census, content, versions, ledger and ``verify_study`` for one study copy."""
    findings = Findings(resources=len(expected))
    copies = census(client, expected, mode)
    server_ids = {ResourceKey(*key): found[0]["id"] for key, found in copies.items() if found}
    lost, flagged = set(), set()
    for key in expected:
        found = copies.get(key, [])
        name = f"{key[0]}/{key[1]}"
        if not found:
            lost.add(key)
            findings.lost.append(name)
            continue
        if len(found) > 1:
            findings.duplicates += len(found) - 1
            findings.duplicated.append(name)
        wanted = versions.get(key, "1")
        findings.versions += [
            f"{name} v{c['meta'].get('versionId')} (expected v{wanted})"
            for c in found
            if c["meta"].get("versionId") != wanted
        ]
        if normal(found[0]) != normal(expected[key], server_ids):
            flagged.add(key)
    for entry in ledger.entries():
        key = (entry.type, entry.id)
        found = copies.get(key, [])
        if (
            key in expected
            and found
            and (
                entry.server_id != found[0]["id"]
                or entry.version not in (None, found[0]["meta"].get("versionId"))
            )
        ):
            flagged.add(key)
            findings.notes.append(f"ledger disagrees with the server on {key[0]}/{key[1]}")
    report = verify_study(mapping, client, ledger)
    for difference in report.differences:
        if difference.resource_id is None:
            findings.mismatched.append(f"{difference.resource_type} ({difference.where})")
        elif (difference.resource_type, difference.resource_id) not in lost:
            flagged.add((difference.resource_type, difference.resource_id))
    findings.mismatched += sorted(f"{k[0]}/{k[1]}" for k in flagged - lost)
    return findings
