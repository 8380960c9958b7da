"""Planned against actual visits: each participant's visits checked against the protocol's
schedule (``study.schedule``), as protocol deviations, not as row errors.

A visit's day is counted from the participant's anchor visit (day 0). A visit is outside its
window when that day falls outside ``day - early … day + late``; unscheduled when the
schedule does not know its code; missing when the whole of its window has passed before the
participant's horizon (the end of participation, else the study's data cut-off, else the
participant's last visit) and no visit has its code. A finding names the participant by
their own source row, the visit by its first row and by its code only when the schedule
(the mapping file) has that code, and days, never a date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from fhir_adapter.mapping.records import Origin, Participant
from fhir_adapter.mapping.spec import VisitSchedule

OUTSIDE = "outside-window"
MISSING = "missing"
UNSCHEDULED = "unscheduled"
NO_ANCHOR = "no-anchor"


@dataclass(frozen=True)
class ScheduleFinding:
    rule: str
    participant: Origin  # the participant's own row
    visit: str
    origin: Origin | None = None  # the visit's first row (none for a missing visit)
    day: int | None = None
    window: tuple[int, int] | None = None

    def __str__(self) -> str:
        where = f"{self.participant.file} row {self.participant.row}"
        if self.rule == OUTSIDE:
            assert self.window is not None and self.origin is not None
            return (
                f"{where}: visit {self.visit} ({self.origin.file} row {self.origin.row}) on "
                f"day {self.day}, outside its window (days {self.window[0]}–{self.window[1]})"
            )
        if self.rule == MISSING:
            assert self.window is not None
            return (
                f"{where}: visit {self.visit} missing (its window, days "
                f"{self.window[0]}–{self.window[1]}, has passed)"
            )
        if self.rule == UNSCHEDULED:
            assert self.origin is not None
            return (
                f"{where}: the visit of {self.origin.file} row {self.origin.row} is not in "
                "the schedule (study.schedule)"
            )
        return f"{where}: no anchor visit {self.visit}: the other visits cannot be placed"

    def as_dict(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "participant_file": self.participant.file,
            "participant_row": self.participant.row,
            "visit": self.visit or None,
            "file": self.origin.file if self.origin else None,
            "row": self.origin.row if self.origin else None,
            "day": self.day,
            "window": list(self.window) if self.window else None,
        }


@dataclass(frozen=True)
class HeldVisit:
    """What the check needs of a visit: its code, its date and its first row."""

    visit: str
    date: str
    origin: Origin


def check_visits(
    schedule: VisitSchedule,
    participant: Participant,
    visits: Iterable[HeldVisit],
    cutoff: str | None,
) -> Iterator[ScheduleFinding]:
    """The findings for one participant's visits (only full dates are placed in days)."""
    held = {v.visit: v for v in visits}
    planned = {p.code: p for p in schedule.visits}
    who = participant.origin
    for code, seen in held.items():
        if code not in planned:
            # A code the schedule does not know is source text, not one of the mapping's
            # codes: it is named by its row only, never shown (it may hold anything).
            yield ScheduleFinding(UNSCHEDULED, who, "", seen.origin)
    anchor = held.get(schedule.anchor)
    start = _day(anchor.date) if anchor else None
    if anchor is None or start is None:
        if held:
            yield ScheduleFinding(NO_ANCHOR, who, schedule.anchor)
        return
    horizon = _horizon(participant, cutoff, held.values())
    for plan in schedule.visits:
        window = (plan.day - plan.early, plan.day + plan.late)
        visit = held.get(plan.code)
        if visit is None:
            if horizon is not None and (horizon - start).days > window[1]:
                yield ScheduleFinding(MISSING, who, plan.code, window=window)
            continue
        day = _day(visit.date)
        if day is None:
            continue
        offset = (day - start).days
        if not window[0] <= offset <= window[1]:
            yield ScheduleFinding(OUTSIDE, who, plan.code, visit.origin, offset, window)


def _horizon(
    participant: Participant, cutoff: str | None, visits: Iterable[HeldVisit]
) -> dt.date | None:
    for text in (participant.end, cutoff):
        day = _day(text)
        if day is not None:
            return day
    days = [d for d in (_day(v.date) for v in visits) if d is not None]
    return max(days) if days else None


def _day(text: str | None) -> dt.date | None:
    if text is None or len(text) != 10:
        return None
    return dt.date.fromisoformat(text)
