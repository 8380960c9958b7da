"""The result of a sync run: counts per resource type and traced failures (a result, not
an exception: one failed participant does not stop the others)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from fhir_adapter.pipeline.report import MapReport
from fhir_adapter.sync.redact import redact_diagnostics

OUTCOMES = ("created", "updated", "unchanged", "deleted", "marked", "kept", "failed")


@dataclass(frozen=True)
class SyncFailure:
    """A participant the server refused, traced back to the source where possible.

    ``message`` is the server's diagnostics redacted on construction (``redact_diagnostics``):
    servers echo match URLs and values, and this text reaches the console and ``--json``.
    The resource key and the source row say where to look instead.
    """

    participant: str  # where to find it: "subjects.csv row 5"
    status: int | None
    hapi_code: str | None
    message: str
    resource: str | None = None  # "Observation/<id>" when the server named the entry
    file: str | None = None
    row: int | None = None
    column: str | None = None
    # Set when a check before sending refused the participant (a registry profile the
    # resource does not conform to, by canonical URL): nothing of it was sent.
    profile: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "message", redact_diagnostics(self.message))

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def __str__(self) -> str:
        where = f"{self.file} row {self.row}" if self.file else self.participant
        if self.column:
            where += f" column '{self.column}'"
        if self.resource:
            where += f" ({self.resource})"
        if self.profile:
            return f"{where}: does not conform to {self.profile}: {self.message}"
        code = f" {self.hapi_code}" if self.hapi_code else ""
        return f"{where}: server refused ({self.status}{code}): {self.message}"


@dataclass
class PlannedParticipant:
    participant: str
    label: str
    actions: dict[str, int]  # "create"/"update"/"delete"/"mark" → count
    subject: str = ""  # the source key, shown in the dry-run plan the user asked for


@dataclass
class SyncReport:
    server: str
    write_mode: str
    dry_run: bool
    counts: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    participants_synced: int = 0
    participants_unchanged: int = 0
    participants_failed: int = 0
    participants_removed: int = 0
    failures: list[SyncFailure] = field(default_factory=list)
    planned: list[PlannedParticipant] = field(default_factory=list)
    mapping: MapReport | None = None
    notes: list[str] = field(default_factory=list)
    audited: int = 0  # ledger entries checked against the server before planning

    def add(self, resource_type: str, outcome: str, n: int = 1) -> None:
        self.counts[resource_type][outcome] += n

    def total(self, outcome: str) -> int:
        return sum(c[outcome] for c in self.counts.values())

    @property
    def written(self) -> int:
        return sum(self.total(o) for o in ("created", "updated", "deleted", "marked"))

    @property
    def ok(self) -> bool:
        return not self.failures and (self.mapping is None or self.mapping.ok)

    def as_dict(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "write_mode": self.write_mode,
            "dry_run": self.dry_run,
            "resources": {
                kind: {o: counts[o] for o in OUTCOMES}
                for kind, counts in sorted(self.counts.items())
            },
            "totals": {o: self.total(o) for o in OUTCOMES},
            "participants": {
                "synced": self.participants_synced,
                "unchanged": self.participants_unchanged,
                "failed": self.participants_failed,
                "removed": self.participants_removed,
            },
            "failures": [f.as_dict() for f in self.failures],
            "planned": [p.__dict__ for p in self.planned],
            "mapping": self.mapping.as_dict() if self.mapping else None,
            "notes": self.notes,
            "audited": self.audited,
        }
