"""The visit schedule as the data show it, and each participant's value per visit.

Planned visits are the set of visit codes seen in the study (no schedule is stored in FHIR by
our mappings). A visit's time point is the median time from enrolment to its measurements,
in months of 30.4375 days; the baseline is the visit with the earliest time point unless one
is named. Time points are shown relative to the baseline (baseline = month 0).
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass

from fhir_adapter.errors import ConfigError
from fhir_adapter.report._cohort import Cohort, Measurement

DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True)
class Visit:
    code: str
    month: float | None  # median months after the baseline visit; None when no date


@dataclass(frozen=True)
class Schedule:
    visits: tuple[Visit, ...]  # in time order
    baseline: str

    def codes(self) -> list[str]:
        return [v.code for v in self.visits]

    def month(self, code: str) -> float | None:
        return next(v.month for v in self.visits if v.code == code)

    def after_baseline(self) -> list[Visit]:
        return [v for v in self.visits if v.code != self.baseline]

    def nearest(self, months: float) -> str | None:
        """The visit after baseline whose time point is nearest ``months`` (earlier on ties)."""
        dated = [v for v in self.after_baseline() if v.month is not None]
        if not dated:
            return None
        return min(dated, key=lambda v: (abs((v.month or 0.0) - months), v.month)).code

    def as_dict(self) -> dict[str, object]:
        return {"baseline": self.baseline, "visits": [[v.code, v.month] for v in self.visits]}


def build_schedule(cohort: Cohort, baseline: str | None = None) -> Schedule:
    offsets: dict[str, list[float]] = defaultdict(list)
    for m in cohort.measurements:
        offsets.setdefault(m.visit, [])
        enrolled = cohort.participants[m.patient_id].enrolled
        if m.date is not None and enrolled is not None:
            offsets[m.visit].append((m.date - enrolled).days / DAYS_PER_MONTH)
    if not offsets:
        raise ConfigError(
            "the study has no HbA1c, C-peptide or BMI results with a visit: nothing to report"
        )
    median = {code: statistics.median(v) if v else None for code, v in offsets.items()}
    order = sorted(median, key=lambda c: (median[c] is None, median[c] or 0.0, c))
    if baseline is None:
        baseline = order[0]
    elif baseline not in median:
        raise ConfigError(
            f"baseline visit {baseline!r} is not among the study's visits: {', '.join(order)}"
        )
    zero = median[baseline] or 0.0
    visits = tuple(Visit(code, None if (t := median[code]) is None else t - zero) for code in order)
    return Schedule(visits, baseline)


@dataclass(frozen=True)
class AnalyteValues:
    """One analyte's value per participant and visit, in the unit most of its results have."""

    analyte: str
    unit: str
    values: dict[tuple[str, str], float]  # (patient_id, visit) → value
    below_limit: int  # results reported as '<L' or '<=L', entered as L/2
    above_limit: int  # results reported as '>L' or '>=L', entered as L
    other_units: Counter[str]  # results left out because their unit differs

    def at(self, patient_id: str, visit: str) -> float | None:
        return self.values.get((patient_id, visit))


def analyte_values(cohort: Cohort, analyte: str) -> AnalyteValues | None:
    """None when the study has no result of ``analyte``."""
    found = [m for m in cohort.measurements if m.analyte == analyte]
    if not found:
        return None
    units = Counter(m.unit or "" for m in found)
    unit = max(units, key=lambda u: (units[u], u))
    grouped: dict[tuple[str, str], list[float]] = defaultdict(list)
    below = above = 0
    for m in found:
        if (m.unit or "") != unit:
            continue
        grouped[(m.patient_id, m.visit)].append(_entered(m))
        below += m.comparator in ("<", "<=")
        above += m.comparator in (">", ">=")
    values = {key: statistics.fmean(v) for key, v in grouped.items()}
    return AnalyteValues(
        analyte, unit, values, below, above, Counter({u: n for u, n in units.items() if u != unit})
    )


def _entered(m: Measurement) -> float:
    """Below a limit: half the limit (a common substitution, stated under every figure)."""
    return m.value / 2 if m.comparator in ("<", "<=") else m.value
