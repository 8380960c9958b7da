"""Check the ledger against the server before trusting it.

The ledger is a cache of what the server confirmed. A server can lose data behind its back
(an in-memory server restarted, a database restored, resources deleted by someone else) or
hold another version (someone edited a resource). Before planning, every recorded server id
is looked up with ``POST Type/_search`` of ``_id=a,b,...&_elements=id`` (one request per 500
resources, the most one page holds on HAPI; only ids and ``meta.versionId`` come back), so
that no resource is reported "unchanged" that the server does not hold exactly as recorded.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from fhir_adapter.client import FhirClient
from fhir_adapter.fhir.keys import ResourceKey
from fhir_adapter.sync.ledger import LedgerEntry

CHUNK = 500  # ids per search: one full page (HAPI's maximum _count); POSTed, so no URL limit


@dataclass
class LedgerAudit:
    """What the server holds of what the ledger recorded."""

    checked: int = 0
    missing: set[ResourceKey] = field(default_factory=set)
    stale: dict[ResourceKey, str] = field(default_factory=dict)  # → the version the server holds

    @property
    def clean(self) -> bool:
        return not self.missing and not self.stale


def audit_ledger(
    client: FhirClient, entries: dict[str, list[LedgerEntry]], *, concurrency: int = 4
) -> LedgerAudit:
    """Look up every ledger entry's server id and version on the server."""
    chunks = [
        (kind, items[start : start + CHUNK])
        for kind, items in sorted(entries.items())
        for start in range(0, len(items), CHUNK)
    ]
    audit = LedgerAudit()
    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="audit") as pool:
        for kind, chunk, held in pool.map(lambda c: (*c, _held(client, *c)), chunks):
            for entry in chunk:
                audit.checked += 1
                key = ResourceKey(kind, entry.id)
                if entry.server_id not in held:
                    audit.missing.add(key)
                    continue
                version = held[entry.server_id]  # None: the server does not tell versions
                if version is not None and version != entry.version:
                    audit.stale[key] = version
    return audit


def _held(client: FhirClient, kind: str, chunk: list[LedgerEntry]) -> dict[str, str | None]:
    """Server id → current version of those of ``chunk`` the server holds."""
    params = {
        "_id": ",".join(e.server_id for e in chunk),
        "_elements": "id",
        "_count": str(len(chunk)),
    }
    held: dict[str, str | None] = {}
    for resource in client.search(kind, params, no_cache=True, post=True):
        meta = resource.get("meta") if isinstance(resource.get("meta"), dict) else {}
        version = meta.get("versionId") if isinstance(meta, dict) else None
        held[str(resource.get("id"))] = version if isinstance(version, str) else None
    return held
