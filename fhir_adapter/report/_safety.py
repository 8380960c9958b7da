"""Adverse events by arm and seriousness, and visit completeness by arm and time point."""

from __future__ import annotations

from dataclasses import dataclass

from fhir_adapter.report._cohort import Cohort
from fhir_adapter.report._schedule import Schedule

NOT_GIVEN = "not given"


@dataclass(frozen=True)
class SafetyRow:
    arm: str
    seriousness: str  # R4 adverse-event-seriousness code, or NOT_GIVEN
    events: int
    participants: int  # with at least one such event
    arm_size: int

    def as_dict(self) -> dict[str, object]:
        return {
            "arm": self.arm,
            "seriousness": self.seriousness,
            "events": self.events,
            "participants": self.participants,
            "arm_size": self.arm_size,
        }


@dataclass(frozen=True)
class Safety:
    rows: tuple[SafetyRow, ...]  # every arm × every seriousness seen (zeros included)
    severity: dict[str, dict[str, int]]  # arm → severity → events

    def events(self, arm: str) -> int:
        return sum(r.events for r in self.rows if r.arm == arm)

    def as_dict(self) -> dict[str, object]:
        return {"rows": [r.as_dict() for r in self.rows], "severity": self.severity}


def safety(cohort: Cohort) -> Safety:
    arm_of = {pid: p.arm for pid, p in cohort.participants.items()}
    kinds = sorted({e.seriousness or NOT_GIVEN for e in cohort.adverse_events})
    rows = []
    severity: dict[str, dict[str, int]] = {}
    for arm in cohort.arms:
        size = sum(1 for a in arm_of.values() if a == arm)
        events = [e for e in cohort.adverse_events if arm_of[e.patient_id] == arm]
        for kind in kinds:
            same = [e for e in events if (e.seriousness or NOT_GIVEN) == kind]
            rows.append(SafetyRow(arm, kind, len(same), len({e.patient_id for e in same}), size))
        counts: dict[str, int] = {}
        for e in events:
            counts[e.severity or NOT_GIVEN] = counts.get(e.severity or NOT_GIVEN, 0) + 1
        severity[arm] = dict(sorted(counts.items()))
    return Safety(tuple(rows), severity)


@dataclass(frozen=True)
class VisitCount:
    visit: str
    month: float | None
    arm: str
    planned: int  # participants of the arm
    present: int  # of them, with at least one result at this visit

    def as_dict(self) -> dict[str, object]:
        return {
            "visit": self.visit,
            "month": self.month,
            "arm": self.arm,
            "planned": self.planned,
            "present": self.present,
        }


def completeness(cohort: Cohort, schedule: Schedule) -> tuple[VisitCount, ...]:
    """Planned is every participant of the arm at every visit code the study shows, so a
    visit not yet due (a participant still in follow-up) or after a withdrawal counts as
    absent: the figure says so."""
    seen = {(m.patient_id, m.visit) for m in cohort.measurements}
    out = []
    for arm in cohort.arms:
        ids = [pid for pid, p in cohort.participants.items() if p.arm == arm]
        for visit in schedule.visits:
            present = sum(1 for pid in ids if (pid, visit.code) in seen)
            out.append(VisitCount(visit.code, visit.month, arm, len(ids), present))
    return tuple(out)
