"""An analyte over time by arm: the mean value and the mean change from baseline per visit,
each with its t-based 95 % CI; and the comparison of arms over the whole follow-up."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from fhir_adapter.report._cohort import Cohort
from fhir_adapter.report._schedule import AnalyteValues, Schedule
from fhir_adapter.report._stats import Difference, Summary, summarize, welch

ALL = "all participants"


@dataclass(frozen=True)
class TimePoint:
    visit: str
    month: float | None
    group: str  # an arm, or ALL
    summary: Summary

    def as_dict(self) -> dict[str, object]:
        return {
            "visit": self.visit,
            "month": self.month,
            "group": self.group,
            **self.summary.as_dict(),
        }


@dataclass(frozen=True)
class Timecourse:
    analyte: str
    unit: str
    levels: tuple[TimePoint, ...]  # value at each visit
    changes: tuple[TimePoint, ...]  # value minus the same participant's baseline value
    below_limit: int
    above_limit: int
    left_out_units: dict[str, int]

    def level(self, visit: str, group: str = ALL) -> Summary:
        return next(p.summary for p in self.levels if p.visit == visit and p.group == group)

    def change(self, visit: str, group: str = ALL) -> Summary:
        return next(p.summary for p in self.changes if p.visit == visit and p.group == group)

    def as_dict(self) -> dict[str, object]:
        return {
            "analyte": self.analyte,
            "unit": self.unit,
            "levels": [p.as_dict() for p in self.levels],
            "changes": [p.as_dict() for p in self.changes],
            "below_limit": self.below_limit,
            "above_limit": self.above_limit,
            "left_out_units": dict(sorted(self.left_out_units.items())),
        }


def groups(cohort: Cohort) -> list[tuple[str, list[str]]]:
    """(group name, patient ids) for each arm in the study's order, then all participants."""
    out = [
        (arm, sorted(p.patient_id for p in cohort.participants.values() if p.arm == arm))
        for arm in cohort.arms
    ]
    out = [(arm, ids) for arm, ids in out if ids]
    return [*out, (ALL, sorted(cohort.participants))]


def timecourse(cohort: Cohort, schedule: Schedule, values: AnalyteValues) -> Timecourse:
    levels, changes = [], []
    for group, ids in groups(cohort):
        for visit in schedule.visits:
            at = [v for pid in ids if (v := values.at(pid, visit.code)) is not None]
            levels.append(TimePoint(visit.code, visit.month, group, summarize(at)))
            if visit.code == schedule.baseline:
                continue
            delta = [
                v - b
                for pid in ids
                if (v := values.at(pid, visit.code)) is not None
                and (b := values.at(pid, schedule.baseline)) is not None
            ]
            changes.append(TimePoint(visit.code, visit.month, group, summarize(delta)))
    return Timecourse(
        values.analyte,
        values.unit,
        tuple(levels),
        tuple(changes),
        values.below_limit,
        values.above_limit,
        dict(values.other_units),
    )


@dataclass(frozen=True)
class FollowUp:
    """Per participant, the mean of their values after baseline; summarized by arm, and the
    first arm minus the second (Welch)."""

    analyte: str
    unit: str
    baseline: dict[str, Summary]
    follow_up: dict[str, Summary]
    difference: Difference | None  # first arm - second arm over follow-up
    arms: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "analyte": self.analyte,
            "unit": self.unit,
            "baseline": {k: v.as_dict() for k, v in self.baseline.items()},
            "follow_up": {k: v.as_dict() for k, v in self.follow_up.items()},
            "difference": None if self.difference is None else self.difference.as_dict(),
            "arms": list(self.arms),
        }


def follow_up(cohort: Cohort, schedule: Schedule, values: AnalyteValues) -> FollowUp:
    later = [v.code for v in schedule.after_baseline()]
    baseline, after, per_arm = {}, {}, []
    for group, ids in groups(cohort):
        base = [v for pid in ids if (v := values.at(pid, schedule.baseline)) is not None]
        means = []
        for pid in ids:
            seen = [v for code in later if (v := values.at(pid, code)) is not None]
            if seen:
                means.append(statistics.fmean(seen))
        baseline[group], after[group] = summarize(base), summarize(means)
        if group != ALL:
            per_arm.append((group, means))
    difference = welch(per_arm[0][1], per_arm[1][1]) if len(per_arm) >= 2 else None
    return FollowUp(
        values.analyte,
        values.unit,
        baseline,
        after,
        difference,
        tuple(arm for arm, _ in per_arm[:2]),
    )
