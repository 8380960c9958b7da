"""What a server holds of one study, per resource type, counted without reading the source.

Types with an ``identifier`` search parameter are counted by the study's identifier system
(``_summary=count``: one small request each); the three types R4 cannot search by identifier
are counted by the resource-key tags of the ids the ledger recorded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from fhir_adapter.client import FhirClient
from fhir_adapter.fhir.ids import RESOURCE_KEY_TAG_SYSTEM
from fhir_adapter.kinds import registry
from fhir_adapter.mapping.spec import MappingSpec
from fhir_adapter.sync.locate import escape_token

_CHUNK = 200


def server_holdings(
    client: FhirClient, spec: MappingSpec, recorded: Mapping[str, Iterable[str]]
) -> dict[str, int | None]:
    """Count per type; ``recorded`` gives our ids per tag-matched type (from the ledger).
    None where a count is impossible (a tag-matched type with nothing recorded)."""
    counts: dict[str, int | None] = {}
    for kind in registry.resource_types:
        if kind in registry.tag_matched:
            ids = list(recorded.get(kind, ()))
            counts[kind] = _count_tagged(client, kind, ids) if ids else None
            continue
        if kind == "ResearchStudy":
            token = f"{spec.study.identifier.system}|{escape_token(spec.study.identifier.value)}"
        else:
            token = f"{registry.identifier_system(spec.study.identifier_base, kind)}|"
        counts[kind] = _total(client, kind, {"identifier": token})
    return counts


def _count_tagged(client: FhirClient, kind: str, ids: list[str]) -> int:
    total = 0
    for start in range(0, len(ids), _CHUNK):
        tokens = ",".join(
            f"{RESOURCE_KEY_TAG_SYSTEM}|{escape_token(rid)}" for rid in ids[start : start + _CHUNK]
        )
        total += _total(client, kind, {"_tag": tokens})
    return total


def _total(client: FhirClient, kind: str, params: dict[str, str]) -> int:
    bundle = next(
        client.search_pages(kind, {**params, "_summary": "count"}, no_cache=True, post=True)
    )
    total = bundle.get("total")
    return total if isinstance(total, int) else 0
