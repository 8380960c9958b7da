"""Find the study's resources on a server by business key, without the ledger.

Every resource we write carries a business key the server can search: its first
``identifier`` (``Type?identifier=system|value``) or, for the types R4 gives no identifier
search parameter, the resource-key tag (``Type?_tag=system|code``, see ``fhir.ids``). Used
where the ledger's server ids are unknown (a set-aside ledger in conditional mode) and to
count copies: more than one resource with one key is a duplicate.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fhir_adapter.client import FhirClient
from fhir_adapter.fhir.ids import RESOURCE_KEY_TAG_SYSTEM
from fhir_adapter.fhir.keys import ResourceKey
from fhir_adapter.kinds import registry

CHUNK = 200  # keys per search (POSTed as a form, so no request-line limit)
Key = ResourceKey  # the resource's type and our id (not the server's)


def business_key(resource: dict[str, Any]) -> tuple[str, str, str]:
    """(search parameter, system, value) by which the server can find ``resource``."""
    if resource["resourceType"] in registry.tag_matched:
        return "_tag", RESOURCE_KEY_TAG_SYSTEM, resource["id"]
    identifier = resource["identifier"]
    first = identifier[0] if isinstance(identifier, list) else identifier
    return "identifier", first["system"], first["value"]


def escape_token(text: str) -> str:
    """Escape FHIR search's reserved characters in a token part
    (https://hl7.org/fhir/R4/search.html#escaping)."""
    for char in ("\\", ",", "|", "$"):
        text = text.replace(char, "\\" + char)
    return text


def locate(
    client: FhirClient, resources: Iterable[dict[str, Any]], *, concurrency: int = 4
) -> dict[Key, list[dict[str, Any]]]:
    """Every server resource carrying each given resource's business key (full bodies).

    An empty list: the server holds no copy; more than one: duplicates.
    """
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for resource in resources:
        parameter = business_key(resource)[0]
        groups.setdefault((resource["resourceType"], parameter), []).append(resource)
    chunks = [
        (kind, parameter, items[start : start + CHUNK])
        for (kind, parameter), items in sorted(groups.items())
        for start in range(0, len(items), CHUNK)
    ]
    found: dict[Key, list[dict[str, Any]]] = {}
    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="locate") as pool:
        for part in pool.map(lambda chunk: _locate_chunk(client, *chunk), chunks):
            found.update(part)
    return found


def _locate_chunk(
    client: FhirClient, kind: str, parameter: str, chunk: list[dict[str, Any]]
) -> dict[Key, list[dict[str, Any]]]:
    wanted = {business_key(r)[1:]: ResourceKey(kind, r["id"]) for r in chunk}
    tokens = ",".join(f"{escape_token(system)}|{escape_token(value)}" for system, value in wanted)
    out: dict[Key, list[dict[str, Any]]] = {key: [] for key in wanted.values()}
    for held in client.search(kind, {parameter: tokens, "_count": "500"}, no_cache=True, post=True):
        for pair in _keys_of(held, parameter):
            if pair in wanted:
                out[wanted[pair]].append(held)
    return out


def _keys_of(resource: dict[str, Any], parameter: str) -> set[tuple[str, str]]:
    if parameter == "_tag":
        tags = (resource.get("meta") or {}).get("tag") or []
        return {(str(t.get("system")), str(t.get("code"))) for t in tags if isinstance(t, dict)}
    identifier = resource.get("identifier") or []
    identifiers = identifier if isinstance(identifier, list) else [identifier]
    return {(str(i.get("system")), str(i.get("value"))) for i in identifiers if isinstance(i, dict)}
