"""Medication frequency text ("2x/day", "BID", "q8h", "1-0-1") → a typed schedule, or an error.

Exports write how often a drug is taken as text. Read wrongly, every dose is wrong (a dose
once went out as a daily total at half its value), so only forms with one reading are
accepted, and anything else raises ``FrequencyError``: a mapping maps a site's own forms
onto these with ``map:``, it is never guessed. Matching ignores case and spaces (but a space
inside a number is an error, not a bigger number).

The schedule is FHIR's ``Timing.repeat``: ``frequency`` administrations per ``period``
``periodUnit`` (https://hl7.org/fhir/R4/datatypes.html#Timing), the unit one of the UCUM
units of time FHIR allows; this parser writes only ``h``, ``d`` and ``wk``, whose length in
days is fixed (a month or a year is not). Pure: no I/O, no mapping types.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

PeriodUnit = Literal["h", "d", "wk"]

# The forms, as documented in docs/mapping.md; error messages list them.
ACCEPTED_FORMS = (
    "1x/day",
    "2x/week",
    "BID",
    "TID",
    "QID",
    "QD",
    "OD",
    "q8h",
    "every 8 hours",
    "once daily",
    "twice daily",
    "three times daily",
    "every other day",
    "weekly",
    "1-0-1",
    "1-1-1-1",
)


class FrequencyError(ValueError):
    """Frequency text with no single reading. The message never quotes the text."""


@dataclass(frozen=True, slots=True)
class Schedule:
    """``frequency`` administrations every ``period`` ``period_unit`` (Timing.repeat)."""

    frequency: int
    period: Decimal
    period_unit: PeriodUnit

    def __post_init__(self) -> None:
        if self.frequency < 1 or self.period <= 0:
            raise FrequencyError("a schedule needs at least one administration per period")

    @classmethod
    def times_a_day(cls, count: int) -> Schedule:
        """``count`` administrations per day (what a ``times_per_day`` column says)."""
        return cls(count, Decimal(1), "d")


# Latin abbreviations with one reading (quaque die, bis/ter/quater in die, omni die).
_ABBREVIATIONS = {
    name: Schedule.times_a_day(count)
    for name, count in (("qd", 1), ("od", 1), ("bid", 2), ("tid", 3), ("qid", 4))
}
_WORD_COUNTS = {"once": 1, "twice": 2}
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
_PER_UNIT: dict[str, PeriodUnit] = {
    "/day": "d",
    "perday": "d",
    "aday": "d",
    "daily": "d",
    "/week": "wk",
    "perweek": "wk",
    "aweek": "wk",
    "weekly": "wk",
}
_UNIT_WORDS: dict[str, PeriodUnit] = {
    "hours": "h",
    "hour": "h",
    "h": "h",
    "days": "d",
    "day": "d",
    "weeks": "wk",
    "week": "wk",
}

_NUMBER = r"[0-9]{1,3}"
_TIMES = "|".join(
    [
        rf"(?P<n>{_NUMBER})(?:x|times?)",
        f"(?P<word>{'|'.join(_NUMBER_WORDS)})times?",
        f"(?P<adverb>{'|'.join(_WORD_COUNTS)})",
    ]
)
_COUNT_PER = re.compile(f"(?P<count>{_TIMES})(?P<per>{'|'.join(map(re.escape, _PER_UNIT))})")
_EVERY = re.compile(f"every(?P<n>{_NUMBER}|other)(?P<unit>{'|'.join(_UNIT_WORDS)})")
_Q_HOURS = re.compile(rf"q(?P<n>{_NUMBER})h")
_DAY_PATTERN = re.compile(r"[0-9](?:-[0-9]){2,3}")
_SPLIT_NUMBER = re.compile(r"[0-9]\s+[0-9]")  # "1 2x/day": 12 or a typo, never joined


def _count_per(match: re.Match[str]) -> Schedule:
    if match["n"] is not None:
        frequency = int(match["n"])
    elif match["word"] is not None:
        frequency = _NUMBER_WORDS[match["word"]]
    else:
        frequency = _WORD_COUNTS[match["adverb"]]
    return Schedule(frequency, Decimal(1), _PER_UNIT[match["per"]])


def _every(match: re.Match[str]) -> Schedule:
    period = 2 if match["n"] == "other" else int(match["n"])
    return Schedule(1, Decimal(period), _UNIT_WORDS[match["unit"]])


def _q_hours(match: re.Match[str]) -> Schedule:
    return Schedule(1, Decimal(int(match["n"])), "h")


def _day_pattern(match: re.Match[str]) -> Schedule:
    """Morning-noon-evening[-night]: each position is the number of doses given then."""
    positions = match[0].split("-")
    if any(p not in ("0", "1") for p in positions):
        raise FrequencyError(
            "a morning-noon-evening pattern with a position other than 0 or 1 gives the "
            "administrations different doses, which one dose column cannot hold; split the "
            "line into one line per dose"
        )
    if "1" not in positions:
        raise FrequencyError("the pattern has no administration (every position is 0)")
    return Schedule.times_a_day(positions.count("1"))


_FORMS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], Schedule]], ...] = (
    (_COUNT_PER, _count_per),
    (_EVERY, _every),
    (_Q_HOURS, _q_hours),
    (_DAY_PATTERN, _day_pattern),
)
_WHOLE_WORDS = {
    "daily": Schedule.times_a_day(1),
    "everyday": Schedule.times_a_day(1),
    "weekly": Schedule(1, Decimal(1), "wk"),
    "everyweek": Schedule(1, Decimal(1), "wk"),
    **_ABBREVIATIONS,
}


def parse_frequency(text: str) -> Schedule:
    """The schedule ``text`` says, ignoring case and spaces; ``FrequencyError`` otherwise."""
    if _SPLIT_NUMBER.search(text):
        raise FrequencyError("a number in the frequency is split by a space")
    compact = "".join(text.split()).lower()
    if compact in _WHOLE_WORDS:
        return _WHOLE_WORDS[compact]
    for pattern, build in _FORMS:
        match = pattern.fullmatch(compact)
        if match is not None:
            return build(match)
    raise FrequencyError(
        "not a frequency the adapter reads; write it (or map it with 'map:') as one of: "
        + ", ".join(ACCEPTED_FORMS)
        + " (docs/mapping.md lists every form)"
    )
