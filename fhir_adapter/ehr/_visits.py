"""Protocol visits for values found in the hospital record.

``--visits BL:0,M3:90±14,M6:180±14`` names each visit with its day after the participant's
anchor date and an optional window (± days; none means that day only). A value belongs to
the visit whose window holds its day (the nearest target day if several do); a value outside
every window is given the nearest visit and flagged ``outside``.

The mapping identifies an Observation by subject, visit and analyte, so a visit can carry
one value per analyte: the value nearest the visit's target day (the earlier one on a tie)
keeps the visit's name, every other value is labelled ``EHR <date>`` (as are all values when
no visits are declared) and keeps its nearest visit in a column of its own.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

_VISIT = re.compile(
    r"^(?P<name>[A-Za-z0-9_.\- ]+):(?P<day>-?\d+)(?:(?:±|\+-|\+/-)(?P<window>\d+))?$"
)

IN, OUTSIDE, NONE = "in", "outside", "none"
EHR_PREFIX = "EHR"


@dataclass(frozen=True)
class Visit:
    name: str
    day: int
    window: int = 0

    def holds(self, day: int) -> bool:
        return abs(day - self.day) <= self.window


@dataclass(frozen=True)
class Placement:
    """Where one value falls: its nearest ``visit`` (None without visits), the ``day`` after
    the anchor (None without visits) and whether it lies in that visit's window."""

    visit: str | None
    day: int | None
    window: str  # IN, OUTSIDE or NONE (no visits declared)
    distance: int = 0


def parse_visits(text: str) -> tuple[Visit, ...]:
    """``NAME:DAY[±WINDOW],...`` (``+-`` for ``±``); raises ValueError naming the bad part."""
    visits: list[Visit] = []
    for part in (p.strip() for p in text.split(",")):
        match = _VISIT.match(part)
        if not match:
            raise ValueError(
                f"'{part}' is not NAME:DAY or NAME:DAY±WINDOW (e.g. BL:0,M3:90±14,M6:180+-14)"
            )
        visits.append(Visit(match["name"].strip(), int(match["day"]), int(match["window"] or 0)))
    names = [v.name for v in visits]
    if len(set(names)) != len(names):
        raise ValueError("a visit name is given twice")
    if any(n.startswith(EHR_PREFIX) for n in names):
        raise ValueError(f"visit names starting with '{EHR_PREFIX}' are kept for unassigned values")
    return tuple(visits)


def place(visits: tuple[Visit, ...], anchor: dt.date | None, date: dt.date) -> Placement:
    """The visit a value of ``date`` falls to, for a participant anchored at ``anchor``."""
    if not visits or anchor is None:
        return Placement(None, None, NONE)
    day = (date - anchor).days
    holding = [v for v in visits if v.holds(day)]
    pool = holding or list(visits)
    # nearest target day; on a tie the earlier visit, so the result never depends on order
    best = min(pool, key=lambda v: (abs(day - v.day), v.day))
    return Placement(best.name, day, IN if holding else OUTSIDE, abs(day - best.day))


def unassigned_label(date: dt.date) -> str:
    """The visit label of a value that does not hold a protocol visit: ``EHR <date>``."""
    return f"{EHR_PREFIX} {date.isoformat()}"
