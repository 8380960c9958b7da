"""Who lowered a diabetes-medicine dose after the first cell infusion, by baseline medication.

Read from the medication lines (MedicationStatements): the adapter writes a dose change as
the old line ending and a new line of the same drug starting on the same or the next day.
For each participant with an infusion (a Procedure that used a cell product):
- baseline group: the glucose-lowering lines running on the day of the first infusion, by
  ATC class (WHO ATC: A10A insulins and analogues, A10B blood glucose lowering drugs excl.
  insulins): insulin only, oral only, insulin + oral, or none;
- lowered: a change after that day to a lower total daily dose (same unit), or a drug stopped
  (a line that ends with no continuation before the participant's end of study);
- raised later: after a lowering, a change of any drug to a higher total daily dose.
A change whose daily totals cannot be compared (missing, or in different units) is counted
as not comparable, never as a lowering.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from fhir_adapter.report._cohort import Cohort, MedicationLine

INSULIN_ONLY = "insulin only"
ORAL_ONLY = "oral drugs only"
BOTH = "insulin + oral drugs"
NONE = "no glucose-lowering drug"
GROUPS = (INSULIN_ONLY, ORAL_ONLY, BOTH, NONE)
CONTINUATION_DAYS = 1


@dataclass(frozen=True)
class MedicationGroup:
    group: str
    participants: int
    lowered: int
    raised_later: int

    @property
    def share(self) -> float | None:
        return self.lowered / self.participants if self.participants else None

    def as_dict(self) -> dict[str, object]:
        return {
            "group": self.group,
            "participants": self.participants,
            "lowered": self.lowered,
            "raised_later": self.raised_later,
            "share": self.share,
        }


@dataclass(frozen=True)
class MedicationChanges:
    groups: tuple[MedicationGroup, ...]  # the groups with participants, then the total
    not_comparable: int

    def group(self, name: str) -> MedicationGroup:
        return next(g for g in self.groups if g.group == name)

    def as_dict(self) -> dict[str, object]:
        return {"groups": [g.as_dict() for g in self.groups], "not_comparable": self.not_comparable}


def _class(line: MedicationLine) -> str | None:
    atc = line.atc or ""
    return "insulin" if atc.startswith("A10A") else "oral" if atc.startswith("A10B") else None


def _running(line: MedicationLine, day: dt.date) -> bool:
    return line.start is not None and line.start <= day and (line.end is None or line.end >= day)


def baseline_group(lines: list[MedicationLine], day: dt.date) -> str:
    classes = {c for line in lines if _running(line, day) and (c := _class(line))}
    if classes == {"insulin"}:
        return INSULIN_ONLY
    if classes == {"oral"}:
        return ORAL_ONLY
    return BOTH if classes else NONE


def medication_changes(cohort: Cohort) -> MedicationChanges:
    by_patient: dict[str, list[MedicationLine]] = defaultdict(list)
    for line in cohort.medications:
        if _class(line) is not None:
            by_patient[line.patient_id].append(line)
    counts = {g: [0, 0, 0] for g in GROUPS}  # participants, lowered, raised later
    not_comparable = 0
    for pid, first in sorted(cohort.first_infusion.items()):
        lines = by_patient.get(pid, [])
        group = baseline_group(lines, first)
        lowered_on, raised_on, unknown = _events(lines, first, cohort.participants[pid].end)
        not_comparable += unknown
        counts[group][0] += 1
        if lowered_on:
            counts[group][1] += 1
            if any(day > min(lowered_on) for day in raised_on):
                counts[group][2] += 1
    shown = [MedicationGroup(g, *counts[g]) for g in GROUPS if counts[g][0]]
    total = MedicationGroup("all", *(sum(counts[g][i] for g in GROUPS) for i in range(3)))
    return MedicationChanges((*shown, total), not_comparable)


def _events(
    lines: list[MedicationLine], after: dt.date, study_end: dt.date | None
) -> tuple[list[dt.date], list[dt.date], int]:
    """Days of lowerings and raisings after ``after``, and changes not comparable."""
    lowered, raised, unknown = [], [], 0
    by_drug: dict[str, list[MedicationLine]] = defaultdict(list)
    for line in lines:
        by_drug[line.drug].append(line)
    for drug_lines in by_drug.values():
        drug_lines.sort(key=lambda x: (x.start or dt.date.min, x.end or dt.date.max))
        for line in drug_lines:
            if line.end is None:
                continue
            following = [
                n
                for n in drug_lines
                if n.start is not None and 0 <= (n.start - line.end).days <= CONTINUATION_DAYS
            ]
            changed_on = following[0].start if following else line.end
            if changed_on is None or changed_on <= after:
                continue
            if not following:
                if study_end is None or line.end < study_end:
                    lowered.append(line.end)  # stopped
                continue
            new = following[0]
            if line.daily_total is None or new.daily_total is None or line.unit != new.unit:
                unknown += 1
            elif new.daily_total < line.daily_total:
                lowered.append(changed_on)
            elif new.daily_total > line.daily_total:
                raised.append(changed_on)
    return lowered, raised, unknown
