"""``verify``: read the study back from the server and compare with the mapped source."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from fhir_adapter.client import FhirClient
from fhir_adapter.fhir.ids import identifier_system
from fhir_adapter.mapping.records import Origin
from fhir_adapter.pipeline import StudyMapping
from fhir_adapter.sync.ledger import Ledger
from fhir_adapter.sync.writemode import TAG_MATCHED
from fhir_adapter.verify.normalize import normal

_CHUNK = 100  # ids per `_id` search


@dataclass(frozen=True)
class Difference:
    kind: str  # "missing" | "different" | "extra"
    resource_type: str
    resource_id: str | None
    where: str  # source file and row, or a count description

    def __str__(self) -> str:
        rid = f"/{self.resource_id}" if self.resource_id else ""
        return f"{self.kind}: {self.resource_type}{rid} ({self.where})"


@dataclass
class VerifyReport:
    server: str
    checked: Counter[str] = field(default_factory=Counter)
    matching: Counter[str] = field(default_factory=Counter)
    on_server: Counter[str] = field(default_factory=Counter)
    differences: list[Difference] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences

    def as_dict(self) -> dict[str, Any]:
        return {"server": self.server, "ok": self.ok,
                "checked": dict(sorted(self.checked.items())),
                "matching": dict(sorted(self.matching.items())),
                "on_server": dict(sorted(self.on_server.items())),
                "differences": [d.__dict__ for d in self.differences]}


def verify_study(mapping: StudyMapping, client: FhirClient, ledger: Ledger | None) -> VerifyReport:
    """Every mapped resource must be on the server with the same content, and the server
    must hold no more resources of the study (by business identifier) than were mapped."""
    report = VerifyReport(str(client.base))
    server_ids: dict[tuple[str, str], str] = {}
    if ledger is not None:
        server_ids = {(e.type, e.id): e.server_id for e in ledger.entries()}
    expected: dict[str, list[tuple[dict[str, Any], Origin | None]]] = {}
    for resource, origin in mapping.all_resources():
        expected.setdefault(resource["resourceType"], []).append((resource, origin))
    for kind, items in sorted(expected.items()):
        _compare_type(client, kind, items, server_ids, report)
        _count_on_server(client, mapping, kind, len(items), report)
    return report


def _compare_type(client: FhirClient, kind: str, items: list[tuple[dict[str, Any], Origin | None]],
                  server_ids: dict[tuple[str, str], str], report: VerifyReport) -> None:
    for start in range(0, len(items), _CHUNK):
        chunk = items[start:start + _CHUNK]
        ids = [server_ids.get((kind, r["id"]), r["id"]) for r, _ in chunk]
        found = {r["id"]: r for r in client.search(
            kind, {"_id": ",".join(ids), "_count": str(_CHUNK)}, no_cache=True)}
        for (resource, origin), server_id in zip(chunk, ids, strict=True):
            report.checked[kind] += 1
            where = f"{origin.file} row {origin.row}" if origin else "study (mapping file)"
            held = found.get(server_id)
            if held is None:
                report.differences.append(Difference("missing", kind, resource["id"], where))
            elif normal(held) != normal(resource, server_ids):
                report.differences.append(Difference("different", kind, resource["id"], where))
            else:
                report.matching[kind] += 1


def _count_on_server(client: FhirClient, mapping: StudyMapping, kind: str, expected: int,
                     report: VerifyReport) -> None:
    """Count the study's resources of one type on the server by identifier system."""
    if kind in TAG_MATCHED:  # R4 has no identifier search parameter for these types
        return
    if kind == "ResearchStudy":
        study = mapping.spec.study.identifier
        system, value = study.system, study.value
    else:
        system, value = identifier_system(mapping.spec.study.identifier_base, kind), ""
    bundle = client.search_bundle(kind, {"identifier": f"{system}|{value}",
                                         "_summary": "count"}, no_cache=True)
    total = int(bundle.get("total", 0))
    report.on_server[kind] = total
    if total > expected:
        report.differences.append(Difference(
            "extra", kind, None, f"server holds {total} with the study's identifier system, "
                                 f"the source maps {expected}"))
