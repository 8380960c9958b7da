"""From one participant's normalised values to table rows: one value per analyte and day,
then one value per analyte and visit.

Same day, same analyte: hospitals often report one HbA1c twice (% and mmol/mol). The values
measured in the wanted unit are preferred; if they (or, when none was, all of them) agree
after normalisation one is kept and the rest counted as duplicates, and if they disagree
which one is right cannot be told: none is kept and the day is a problem.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from fhir_adapter.ehr._mrns import Enrolled
from fhir_adapter.ehr._normalise import LabValue
from fhir_adapter.ehr._problems import Problem
from fhir_adapter.ehr._visits import OUTSIDE, Placement, Visit, place, unassigned_label


@dataclass(frozen=True)
class LabRow:
    """One row of the lab table."""

    row: int  # the participant's MRN-file row (for ordering; not written)
    subject: str
    value: LabValue
    visit: str  # the mapping's visit label: unique per subject and analyte
    placement: Placement


def one_per_day(
    enrolled: Enrolled, values: Sequence[LabValue]
) -> tuple[list[LabValue], list[Problem], int]:
    """The values kept (one per analyte and day), the conflicts, how many duplicates."""
    groups: dict[tuple[str, dt.date], list[LabValue]] = {}
    for value in values:
        groups.setdefault((value.analyte, value.date), []).append(value)
    kept: list[LabValue] = []
    problems: list[Problem] = []
    duplicates = 0
    for (analyte, date), group in sorted(groups.items()):
        preferred = [v for v in group if v.measured_in_target] or group
        distinct = {(v.comparator, v.value) for v in preferred}
        if len(distinct) == 1:
            kept.append(min(preferred, key=lambda v: (v.loinc, v.source_unit)))
            duplicates += len(group) - 1
            continue
        units = ", ".join(sorted({v.source_unit for v in preferred}))
        problems.append(
            Problem(
                enrolled.row,
                "conflict",
                f"{len(preferred)} different results on one day (measured in {units}); "
                "which one is right cannot be told, none is kept",
                enrolled.subject,
                analyte,
                date.isoformat(),
            )
        )
    return kept, problems, duplicates


def assign_visits(
    enrolled: Enrolled, values: Sequence[LabValue], visits: tuple[Visit, ...]
) -> list[LabRow]:
    """Rows with their visit: the protocol visit for the value with the best claim to it (in
    its window before outside, then nearest its target day, then earlier), ``EHR <date>``
    for every other value (all of them when no visits are declared)."""
    placed = [(v, place(visits, enrolled.anchor, v.date)) for v in values]
    best: dict[tuple[str, str], tuple[tuple[int, int, dt.date], LabValue]] = {}
    for value, placement in placed:
        if placement.visit is None:
            continue
        claim = (int(placement.window == OUTSIDE), placement.distance, value.date)
        slot = (value.analyte, placement.visit)
        if slot not in best or claim < best[slot][0]:
            best[slot] = (claim, value)
    rows = []
    for value, placement in placed:
        holder = best.get((value.analyte, placement.visit or ""))
        label = (
            placement.visit
            if placement.visit is not None and holder is not None and holder[1] is value
            else unassigned_label(value.date)
        )
        rows.append(LabRow(enrolled.row, enrolled.subject, value, label, placement))
    return sorted(rows, key=lambda r: (r.value.analyte, r.value.date))
