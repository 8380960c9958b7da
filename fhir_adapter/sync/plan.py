"""Plan one participant's sync: compare mapped resources with the ledger, decide the writes.

Unchanged resources (same content hash as last confirmed) are not sent at all. Resources the
ledger knows but the mapping no longer produces follow the removal policy.
"""

from __future__ import annotations

import copy
import enum
import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fhir_adapter.fhir.keys import ResourceKey
from fhir_adapter.fhir.serialize import canonical_json
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


def plan_participant(participant: str, label: str, resources: list[dict[str, Any]],
                     known: dict[ResourceKey, LedgerEntry],
                     policy: RemovalPolicy) -> ParticipantPlan:
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

    Observation, Procedure, MedicationStatement: status = entered-in-error;
    Condition: verificationStatus = entered-in-error; Patient: active = false;
    ResearchSubject: status = not-registered. AdverseEvent, BiologicallyDerivedProduct and
    Provenance have no such element in R4 and are kept.

    R4 research-subject-status has no entered-in-error. ``withdrawn`` ("withdrew before
    registration") and ``off-study`` (ended participation: completed, withdrawal, adverse
    event...) state what a person did, so a registry would count a data-error retraction as a
    drop-out. ``not-registered`` ("a person for whom registration was not completed",
    https://hl7.org/fhir/R4/valueset-research-subject-status.html) keeps the record out of
    enrolment counts without claiming a drop-out; the off-study reason goes with the status.
    """
    out = copy.deepcopy(resource)
    kind = out["resourceType"]
    if kind in {"Observation", "Procedure", "MedicationStatement"}:
        out["status"] = "entered-in-error"
    elif kind == "Condition":
        out["verificationStatus"] = {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
            "code": "entered-in-error", "display": "Entered in Error"}]}
        out.pop("clinicalStatus", None)  # con-5: no clinicalStatus when entered-in-error
    elif kind == "Patient":
        out["active"] = False
    elif kind == "ResearchSubject":
        from fhir_adapter.fhir.extensions import RESEARCH_SUBJECT_OFF_STUDY_REASON as reason

        out["status"] = "not-registered"
        extensions = [e for e in out.get("extension", []) if e.get("url") != reason]
        if extensions:
            out["extension"] = extensions
        else:
            out.pop("extension", None)
    else:
        return None
    return out
