"""Plan one participant's sync: compare mapped resources with the ledger, decide the writes.

Unchanged resources (same content hash as last confirmed) are not sent at all. Resources the
ledger knows but the mapping no longer produces follow the removal policy.
"""

from __future__ import annotations

import enum
import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fhir_adapter.fhir.keys import ResourceKey
from fhir_adapter.fhir.serialize import canonical_json
from fhir_adapter.kinds import registry
from fhir_adapter.sync.ledger import LedgerEntry


class RemovalPolicy(enum.StrEnum):
    """What happens on the server when a row or a whole participant leaves the source."""

    DELETE = "delete"  # DELETE the resource
    ENTERED_IN_ERROR = "entered-in-error"  # mark it (status / verificationStatus / active)
    KEEP = "keep"  # leave it on the server and in the ledger


class Action(enum.StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    MARK = "mark"  # update to entered-in-error


@dataclass(frozen=True, slots=True)
class Write:
    action: Action
    resource_type: str
    resource_id: str
    text: str | None  # canonical JSON to send (None for DELETE)
    content_hash: str | None
    known: LedgerEntry | None  # what the ledger had before

    @property
    def key(self) -> ResourceKey:
        return ResourceKey(self.resource_type, self.resource_id)


@dataclass
class ParticipantPlan:
    participant: str  # the Patient id: no PHI
    label: str  # where to find the participant in the source ("subjects.csv row 5")
    subject: str = ""  # the source key, for the dry-run plan only (never logged)
    writes: list[Write] = field(default_factory=list)
    unchanged: dict[str, int] = field(default_factory=dict)  # type → count
    kept: dict[str, int] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.writes


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def plan_participant(
    participant: str,
    label: str,
    resources: list[dict[str, Any]],
    known: dict[ResourceKey, LedgerEntry],
    policy: RemovalPolicy,
) -> ParticipantPlan:
    plan = ParticipantPlan(participant, label)
    seen: set[ResourceKey] = set()
    for resource in resources:
        key = ResourceKey.of(resource)
        seen.add(key)
        text = canonical_json(resource)
        digest = _hash(text)
        before = known.get(key)
        if before is not None and before.content_hash == digest:
            plan.unchanged[key.type] = plan.unchanged.get(key.type, 0) + 1
            continue
        action = Action.CREATE if before is None else Action.UPDATE
        plan.writes.append(Write(action, key.type, key.id, text, digest, before))
    for key, before in sorted(known.items()):
        if key not in seen:
            plan.writes.extend(_removal(before, policy, plan))
    return plan


def _removal(before: LedgerEntry, policy: RemovalPolicy, plan: ParticipantPlan) -> list[Write]:
    if policy is RemovalPolicy.DELETE:
        return [Write(Action.DELETE, before.type, before.id, None, None, before)]
    if policy is RemovalPolicy.ENTERED_IN_ERROR:
        marked = mark_entered_in_error(json.loads(before.body, parse_float=Decimal))
        if marked is not None:
            text = canonical_json(marked)
            digest = _hash(text)
            if digest != before.content_hash:
                return [Write(Action.MARK, before.type, before.id, text, digest, before)]
    plan.kept[before.type] = plan.kept.get(before.type, 0) + 1
    return []


def mark_entered_in_error(resource: dict[str, Any]) -> dict[str, Any] | None:
    """The resource marked as entered in error, or None where R4 offers no such marker.

    What the marker is belongs to the resource's kind (``fhir_adapter.kinds``): status =
    entered-in-error (Observation, Procedure, MedicationStatement), verificationStatus
    (Condition), active = false (Patient), status = not-registered (ResearchSubject); none for
    AdverseEvent, BiologicallyDerivedProduct and Provenance, which are kept.
    """
    return registry.mark_entered_in_error(resource)
