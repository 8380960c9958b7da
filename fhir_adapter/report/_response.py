"""Response (change from baseline at one visit) by subgroup and by arm.

Subgroups follow study A's published finding (STEM CELLS Transl Med 2021, doi
10.1002/sctm.20-0506): baseline BMI < 23 vs >= 23 kg/m2, and diabetes duration at enrolment
< 10 vs >= 10 years, from the earliest Condition onset to the enrolment date (a year-only
onset is a range of dates: a participant whose range straddles 10 years is not classified,
and counted). The combined subgroup is BMI < 23 and duration < 10 years against the others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fhir_adapter.report._cohort import Cohort, Participant
from fhir_adapter.report._schedule import AnalyteValues, Schedule
from fhir_adapter.report._stats import Difference, Summary, summarize, welch

BMI_CUTOFF = 23.0  # kg/m2
DURATION_CUTOFF = 10.0  # years
DAYS_PER_YEAR = 365.25

FAVOURABLE = "BMI < 23 and duration < 10 y"
OTHERS = "others"


@dataclass(frozen=True)
class Level:
    name: str
    summary: Summary

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, **self.summary.as_dict()}


@dataclass(frozen=True)
class Factor:
    """One way of splitting the participants: its levels, the first level minus the second
    (Welch), and how many participants could not be placed."""

    name: str
    levels: tuple[Level, ...]
    difference: Difference | None
    unclassified: int

    def level(self, name: str) -> Summary:
        return next(lv.summary for lv in self.levels if lv.name == name)

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "levels": [lv.as_dict() for lv in self.levels],
            "difference": None if self.difference is None else self.difference.as_dict(),
            "unclassified": self.unclassified,
        }


@dataclass(frozen=True)
class Response:
    analyte: str
    unit: str
    visit: str
    factors: tuple[Factor, ...]

    def factor(self, name: str) -> Factor:
        return next(f for f in self.factors if f.name == name)

    def as_dict(self) -> dict[str, object]:
        return {
            "analyte": self.analyte,
            "unit": self.unit,
            "visit": self.visit,
            "factors": [f.as_dict() for f in self.factors],
        }


Classifier = Callable[[Participant], str | None]


def subgroup_classifiers(
    cohort: Cohort, schedule: Schedule, bmi: AnalyteValues | None
) -> dict[str, tuple[tuple[str, str], Classifier]]:
    """Factor name → ((first level, second level), participant → level or None)."""

    def by_bmi(p: Participant) -> str | None:
        value = bmi.at(p.patient_id, schedule.baseline) if bmi else None
        if value is None:
            return None
        return "BMI < 23" if value < BMI_CUTOFF else "BMI >= 23"

    def by_duration(p: Participant) -> str | None:
        onset = cohort.onsets.get(p.patient_id)
        if onset is None or p.enrolled is None:
            return None
        longest = (p.enrolled - onset.low).days / DAYS_PER_YEAR
        shortest = (p.enrolled - onset.high).days / DAYS_PER_YEAR
        if longest < DURATION_CUTOFF:
            return "duration < 10 y"
        if shortest >= DURATION_CUTOFF:
            return "duration >= 10 y"
        return None

    def combined(p: Participant) -> str | None:
        b, d = by_bmi(p), by_duration(p)
        if b == "BMI < 23" and d == "duration < 10 y":
            return FAVOURABLE
        if b == "BMI >= 23" or d == "duration >= 10 y":
            return OTHERS
        return None

    factors: dict[str, tuple[tuple[str, str], Classifier]] = {}
    if bmi is not None:
        factors["baseline BMI"] = (("BMI < 23", "BMI >= 23"), by_bmi)
    if cohort.onsets:
        factors["diabetes duration"] = (("duration < 10 y", "duration >= 10 y"), by_duration)
    if bmi is not None and cohort.onsets:
        factors["BMI and duration"] = ((FAVOURABLE, OTHERS), combined)
    return factors


def response(
    cohort: Cohort,
    schedule: Schedule,
    values: AnalyteValues,
    visit: str,
    bmi: AnalyteValues | None,
) -> Response:
    def change(p: Participant) -> float | None:
        v, b = values.at(p.patient_id, visit), values.at(p.patient_id, schedule.baseline)
        return None if v is None or b is None else v - b

    factors = []
    split = subgroup_classifiers(cohort, schedule, bmi)
    split["arm"] = (tuple(cohort.arms), lambda p: p.arm)  # type: ignore[assignment]
    for name, (names, classify) in split.items():
        buckets: dict[str, list[float]] = {level: [] for level in names}
        unclassified = 0
        for p in sorted(cohort.participants.values(), key=lambda p: p.patient_id):
            delta = change(p)
            if delta is None:
                continue
            level = classify(p)
            if level is None or level not in buckets:
                unclassified += 1
                continue
            buckets[level].append(delta)
        levels = tuple(Level(level, summarize(buckets[level])) for level in names)
        difference = welch(buckets[names[0]], buckets[names[1]]) if len(names) >= 2 else None
        factors.append(Factor(name, levels, difference, unclassified))
    return Response(values.analyte, values.unit, visit, tuple(factors))
