"""Every number of the report, from the study's tables: pure, no I/O, no drawing.

``analyse(tables)`` returns a ``StudyAnalysis``; ``as_dict()`` gives all its numbers as plain
data, so two analyses (of the source's mapped resources and of the same study pulled back
from a server) can be compared for equality.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fhir_adapter.errors import ConfigError
from fhir_adapter.report._cohort import Cohort, build_cohort
from fhir_adapter.report._medication import MedicationChanges, medication_changes
from fhir_adapter.report._response import Response, response
from fhir_adapter.report._safety import Safety, VisitCount, completeness, safety
from fhir_adapter.report._schedule import Schedule, analyte_values, build_schedule
from fhir_adapter.report._tables import StudyTables
from fhir_adapter.report._timecourse import FollowUp, Timecourse, follow_up, timecourse

OUTCOMES = ("hba1c", "c_peptide")
RESPONSE_MONTHS = 6.0  # study A reports its largest drop by month 3 to 6


@dataclass(frozen=True)
class AnalysisOptions:
    baseline_visit: str | None = None  # default: the earliest visit
    response_visit: str | None = None  # default: the visit nearest 6 months after baseline
    synthetic: bool | None = None  # None: decided from the study's title and description


@dataclass
class StudyAnalysis:
    title: str
    synthetic: bool
    arms: list[str]
    arm_sizes: dict[str, int]
    participants: int
    schedule: Schedule
    response_visit: str | None
    timecourses: list[Timecourse]
    follow_ups: list[FollowUp]
    responses: list[Response]
    medication: MedicationChanges | None
    safety: Safety
    completeness: tuple[VisitCount, ...]
    notes: list[str] = field(default_factory=list)

    def timecourse(self, analyte: str) -> Timecourse:
        return next(t for t in self.timecourses if t.analyte == analyte)

    def follow_up(self, analyte: str) -> FollowUp:
        return next(f for f in self.follow_ups if f.analyte == analyte)

    def response(self, analyte: str) -> Response:
        return next(r for r in self.responses if r.analyte == analyte)

    def as_dict(self) -> dict[str, object]:
        return {
            "title": self.title,
            "synthetic": self.synthetic,
            "arms": self.arms,
            "arm_sizes": self.arm_sizes,
            "participants": self.participants,
            "schedule": self.schedule.as_dict(),
            "response_visit": self.response_visit,
            "timecourses": [t.as_dict() for t in self.timecourses],
            "follow_ups": [f.as_dict() for f in self.follow_ups],
            "responses": [r.as_dict() for r in self.responses],
            "medication": None if self.medication is None else self.medication.as_dict(),
            "safety": self.safety.as_dict(),
            "completeness": [c.as_dict() for c in self.completeness],
            "notes": self.notes,
        }


def is_synthetic(cohort: Cohort) -> bool:
    """The study calls itself synthetic in its title or description (our examples do)."""
    return "synthetic" in f"{cohort.title} {cohort.description}".lower()


def analyse(tables: StudyTables, options: AnalysisOptions | None = None) -> StudyAnalysis:
    options = options or AnalysisOptions()
    cohort = build_cohort(tables)
    schedule = build_schedule(cohort, options.baseline_visit)
    visit = options.response_visit or schedule.nearest(RESPONSE_MONTHS)
    if visit is not None and visit not in schedule.codes():
        raise ConfigError(
            f"response visit {visit!r} is not among the study's visits: "
            f"{', '.join(schedule.codes())}"
        )
    bmi = analyte_values(cohort, "bmi")
    courses, follows, responses = [], [], []
    for analyte in OUTCOMES:
        values = analyte_values(cohort, analyte)
        if values is None:
            continue
        courses.append(timecourse(cohort, schedule, values))
        follows.append(follow_up(cohort, schedule, values))
        if visit is not None:
            responses.append(response(cohort, schedule, values, visit, bmi))
    notes = list(cohort.notes)
    if cohort.without_visit:
        notes.append(f"{cohort.without_visit} results without a visit code were left out")
    return StudyAnalysis(
        title=cohort.title,
        synthetic=is_synthetic(cohort) if options.synthetic is None else options.synthetic,
        arms=list(cohort.arms),
        arm_sizes={
            arm: sum(1 for p in cohort.participants.values() if p.arm == arm) for arm in cohort.arms
        },
        participants=len(cohort.participants),
        schedule=schedule,
        response_visit=visit,
        timecourses=courses,
        follow_ups=follows,
        responses=responses,
        medication=medication_changes(cohort) if cohort.first_infusion else None,
        safety=safety(cohort),
        completeness=completeness(cohort, schedule),
        notes=notes,
    )
