"""``verify``: read the study back from the server and compare with the mapped source."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from fhir_adapter.client import FhirClient
from fhir_adapter.fhir.keys import ResourceKey
from fhir_adapter.kinds import registry
from fhir_adapter.mapping.records import Origin
from fhir_adapter.pipeline import StudyRun
from fhir_adapter.sync.ledger import Ledger
from fhir_adapter.sync.locate import locate
from fhir_adapter.verify.diff import ElementDifference, element_differences
from fhir_adapter.verify.normalize import normal_tree


@dataclass(frozen=True)
class Difference:
    kind: str  # "missing" | "different" | "extra"
    resource_type: str
    resource_id: str | None
    where: str  # source file and row, or a count description
    elements: tuple[ElementDifference, ...] = ()  # for "different": what differs

    def __str__(self) -> str:
        rid = f"/{self.resource_id}" if self.resource_id else ""
        text = f"{self.kind}: {self.resource_type}{rid} ({self.where})"
        if self.elements:
            shown = "; ".join(str(e) for e in self.elements[:3])
            more = f"; and {len(self.elements) - 3} more" if len(self.elements) > 3 else ""
            text += f": {shown}{more}"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "resource_type": self.resource_type,
            "resource_id": self.resource_id,
            "where": self.where,
            "elements": [e.__dict__ for e in self.elements],
        }


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
        return {
            "server": self.server,
            "ok": self.ok,
            "checked": dict(sorted(self.checked.items())),
            "matching": dict(sorted(self.matching.items())),
            "on_server": dict(sorted(self.on_server.items())),
            "differences": [d.as_dict() for d in self.differences],
        }


def verify_study(
    mapping: StudyRun, client: FhirClient, ledger: Ledger | None, *, concurrency: int = 4
) -> VerifyReport:
    """Every mapped resource must be on the server once, with the same content, and the
    server must hold no more resources of the study than were mapped.

    Resources are found by business key (identifier, or the resource-key tag), so verify
    needs no ledger in either write mode and sees duplicates of every type; the ledger, when
    given, only says which copy the sync wrote.
    """
    report = VerifyReport(str(client.base))
    server_ids: dict[ResourceKey, str] = {}
    if ledger is not None:
        server_ids = {e.key: e.server_id for e in ledger.entries()}
    expected: dict[str, list[tuple[dict[str, Any], Origin | None]]] = {}
    for resource, origin in mapping.all_resources():
        expected.setdefault(resource["resourceType"], []).append((resource, origin))
    found = locate(
        client, (r for items in expected.values() for r, _ in items), concurrency=concurrency
    )
    for key, copies in found.items():  # references resolve to the copies the server holds
        if copies and key not in server_ids:
            server_ids[key] = str(copies[0].get("id"))
    for kind, items in sorted(expected.items()):
        _compare_type(kind, items, found, server_ids, report)
        _count_on_server(client, mapping, kind, items, found, report)
    return report


def _compare_type(
    kind: str,
    items: list[tuple[dict[str, Any], Origin | None]],
    found: dict[ResourceKey, list[dict[str, Any]]],
    server_ids: dict[ResourceKey, str],
    report: VerifyReport,
) -> None:
    for resource, origin in items:
        report.checked[kind] += 1
        where = f"{origin.file} row {origin.row}" if origin else "study (mapping file)"
        key = ResourceKey(kind, resource["id"])
        copies = found[key]
        if not copies:
            report.differences.append(Difference("missing", kind, resource["id"], where))
            continue
        if len(copies) > 1:
            report.differences.append(
                Difference(
                    "extra",
                    kind,
                    resource["id"],
                    f"{where}: the server holds {len(copies)} copies with this business key",
                )
            )
        wanted = server_ids.get(key, resource["id"])
        held = next((c for c in copies if c.get("id") == wanted), copies[0])
        theirs, ours = normal_tree(held), normal_tree(resource, server_ids)
        if theirs != ours:
            report.differences.append(
                Difference(
                    "different",
                    kind,
                    resource["id"],
                    where,
                    tuple(element_differences(ours, theirs)),
                )
            )
        else:
            report.matching[kind] += 1


def _count_on_server(
    client: FhirClient,
    mapping: StudyRun,
    kind: str,
    items: list[tuple[dict[str, Any], Origin | None]],
    found: dict[ResourceKey, list[dict[str, Any]]],
    report: VerifyReport,
) -> None:
    """How many resources of the study's type the server holds: by identifier system (which
    also finds resources the source no longer maps), else by the mapped resources' tags."""
    if kind in registry.tag_matched:  # R4 has no identifier search parameter for these types
        report.on_server[kind] = sum(len(found[ResourceKey(kind, r["id"])]) for r, _ in items)
        return
    if kind == "ResearchStudy":
        study = mapping.spec.study.identifier
        system, value = study.system, study.value
    else:
        system, value = registry.identifier_system(mapping.spec.study.identifier_base, kind), ""
    bundle = client.search_bundle(
        kind, {"identifier": f"{system}|{value}", "_summary": "count"}, no_cache=True
    )
    total = int(bundle.get("total", 0))
    report.on_server[kind] = total
    copies = sum(len(found[ResourceKey(kind, r["id"])]) for r, _ in items)
    if total > copies:
        report.differences.append(
            Difference(
                "extra",
                kind,
                None,
                f"server holds {total} with the study's identifier system, "
                f"the source maps {len(items)}",
            )
        )
