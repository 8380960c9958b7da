"""FHIR date arithmetic for de-identification: shift by days, cut to the year, ages.

FHIR dates and dateTimes may be partial (``2019``, ``2019-05``; https://hl7.org/fhir/R4/
datatypes.html#dateTime); an ``instant`` is always complete with a time zone.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

# date / dateTime / instant as FHIR R4 writes them (datatypes.html regexes, simplified).
_DATE = re.compile(
    r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
    r"(?:Z|[+-]\d{2}:\d{2}))?)?)?$"
)


class NotADateError(ValueError):
    """The text is not a FHIR date, dateTime or instant."""


def _parts(text: str) -> tuple[int, int | None, int | None, str]:
    match = _DATE.match(text)
    if not match:
        raise NotADateError(text)
    year, month, day, time = match.groups()
    return int(year), int(month) if month else None, int(day) if day else None, time or ""


def is_date(text: str) -> bool:
    return bool(_DATE.match(text))


def shift(text: str, days: int) -> str:
    """Move a date by ``days``, keeping its precision and its time of day.

    A full date moves exactly, so intervals between full dates are kept. A partial date
    (year or month) moves at the middle of its period (1 July, the 15th) and keeps its
    precision: with a window of at most 182 days a year-only date stays in its year.
    """
    year, month, day, time = _parts(text)
    if day is not None:
        assert month is not None
        moved = date(year, month, day) + timedelta(days=days)
        return moved.isoformat() + time
    if month is not None:
        moved = date(year, month, 15) + timedelta(days=days)
        return f"{moved.year:04d}-{moved.month:02d}"
    moved = date(year, 7, 2) + timedelta(days=days)
    return f"{moved.year:04d}"


def year_of(text: str) -> str:
    return f"{_parts(text)[0]:04d}"


def year_instant(text: str) -> str:
    """An instant reduced to its year, still an instant (``2020-01-01T00:00:00Z``)."""
    return f"{year_of(text)}-01-01T00:00:00Z"


def earliest(text: str) -> date:
    """The first day the (possibly partial) date can mean."""
    year, month, day, _ = _parts(text)
    return date(year, month or 1, day or 1)


def latest(text: str) -> date:
    """The last day the (possibly partial) date can mean."""
    year, month, day, _ = _parts(text)
    if day is not None:
        assert month is not None
        return date(year, month, day)
    if month is not None:
        following = date(year + (month == 12), month % 12 + 1, 1)
        return following - timedelta(days=1)
    return date(year, 12, 31)


def max_age(birth: str, at: date) -> int:
    """The oldest the person can be on ``at``: born on the first day ``birth`` can mean."""
    born = earliest(birth)
    return at.year - born.year - ((at.month, at.day) < (born.month, born.day))
