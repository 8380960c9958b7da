"""What kind of values each column holds, read from the cells themselves.

Kinds: ``date`` (every cell reads in one date format, or is an Excel date), ``year`` (four
digits, under a header that says year), ``count`` (whole numbers), ``number`` (decimals, in
one decimal style, perhaps with a comparator such as '<0.10'), ``identifier`` (every value
different, short, with a digit), ``code`` (few distinct short values), ``text`` and ``empty``.

A profile keeps a column's distinct values in memory for cross-table checks; only the
drafting of code maps may put them in a draft, and only for code columns (few short values).
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from fhir_adapter.sources import SourceRow

Kind = Literal["empty", "date", "year", "count", "number", "identifier", "code", "text"]

# Formats tried, each with a day, a month and a four-digit year (what mappings accept).
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%d-%m-%Y", "%m-%d-%Y")
# Pairs a cell cannot tell apart when its day is 12 or less.
DAY_MONTH_PAIRS = (("%d/%m/%Y", "%m/%d/%Y"), ("%d-%m-%Y", "%m-%d-%Y"))
MAX_CODES = 30  # more distinct values than this is not a code list a person maps by hand
MAX_CODE_CHARS = 40

_DATE_SHAPE = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}$")
_NUMBER = re.compile(r"^(<=|>=|<|>)?\s*([-+]?\d+)(?:([.,])(\d+))?$")
_COUNT = re.compile(r"^\d+$")


@dataclass(frozen=True)
class ColumnProfile:
    name: str
    kind: Kind
    filled: int  # cells with a value
    blanks: int
    distinct_values: frozenset[str]  # never rendered, except through ``codes``
    codes: tuple[str, ...] = ()  # distinct values in first-seen order, code columns only
    date_formats: frozenset[str] = frozenset()  # every format that reads every cell
    decimal: str | None = None  # '.' or ',' when a cell has a fractional part
    comparators: frozenset[str] = frozenset()
    median: float | None = None  # of number and count columns, for guessing units
    labels: bool = False  # codes are the labels of a choice list (REDCap), not the study's codes

    @property
    def distinct(self) -> int:
        return len(self.distinct_values)

    @property
    def unique(self) -> bool:
        """Every filled cell differs from the others and none is blank."""
        return self.blanks == 0 and self.filled > 0 and self.distinct == self.filled


def _text(cell: object) -> str:
    if isinstance(cell, dt.datetime):
        return cell.date().isoformat()
    if isinstance(cell, dt.date):
        return cell.isoformat()
    return str(cell).strip()


def _date_formats(values: Iterable[str]) -> frozenset[str]:
    """The formats that read every value as a date (empty when one value reads in none)."""
    remaining = set(DATE_FORMATS)
    for value in values:
        if not _DATE_SHAPE.match(value):
            return frozenset()
        for fmt in list(remaining):
            try:
                dt.datetime.strptime(value, fmt)
            except ValueError:
                remaining.discard(fmt)
        if not remaining:
            break
    return frozenset(remaining)


def _numbers(values: Iterable[str]) -> tuple[str | None, frozenset[str], list[float]] | None:
    """(decimal separator seen, comparators seen, values) when every value is a number."""
    separators: set[str] = set()
    comparators: set[str] = set()
    numbers: list[float] = []
    for value in values:
        match = _NUMBER.match(value)
        if match is None:
            return None
        comparator, whole, separator, fraction = match.groups()
        if comparator:
            comparators.add(comparator)
        if separator:
            separators.add(separator)
        numbers.append(float(f"{whole}.{fraction or 0}"))
    if len(separators) > 1:
        return None  # '1.5' and '1,5' in one column: not one number style
    return (separators.pop() if separators else None), frozenset(comparators), numbers


def _words(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def profile(name: str, cells: Sequence[object]) -> ColumnProfile:
    """The kind of one column from all its cells."""
    texts = [_text(c) for c in cells]
    filled = [t for t in texts if t]
    blanks = len(texts) - len(filled)
    distinct = frozenset(filled)
    base = {"name": name, "filled": len(filled), "blanks": blanks, "distinct_values": distinct}
    if not filled:
        return ColumnProfile(kind="empty", **base)  # type: ignore[arg-type]
    if all(isinstance(c, (dt.date, dt.datetime)) for c in cells if _text(c)):
        return ColumnProfile(kind="date", **base)  # type: ignore[arg-type]
    formats = _date_formats(sorted(distinct))
    if formats:
        return ColumnProfile(kind="date", date_formats=formats, **base)  # type: ignore[arg-type]
    if all(_COUNT.match(v) for v in distinct):
        counts = [int(v) for v in filled]
        named_year = "year" in _words(name) or "yob" in _words(name)
        if named_year and all(len(v) == 4 and 1800 <= int(v) <= 2200 for v in distinct):
            return ColumnProfile(kind="year", **base)  # type: ignore[arg-type]
        return ColumnProfile(kind="count", median=statistics.median(counts), **base)  # type: ignore[arg-type]
    read = _numbers(filled)
    if read is not None:
        decimal, comparators, numbers = read
        return ColumnProfile(
            kind="number",
            decimal=decimal,
            comparators=comparators,
            median=statistics.median(numbers),
            **base,  # type: ignore[arg-type]
        )
    short = all(len(v) <= MAX_CODE_CHARS for v in distinct)
    every_other = short and len(distinct) == len(filled) and blanks == 0 and len(filled) > 1
    if every_other and all(any(ch.isdigit() for ch in v) and " " not in v for v in distinct):
        return ColumnProfile(kind="identifier", **base)  # type: ignore[arg-type]
    if short and len(distinct) <= MAX_CODES:
        seen: dict[str, None] = dict.fromkeys(filled)
        return ColumnProfile(kind="code", codes=tuple(seen), **base)  # type: ignore[arg-type]
    return ColumnProfile(kind="text", **base)  # type: ignore[arg-type]


def profile_table(header: Sequence[str], rows: Sequence[SourceRow]) -> dict[str, ColumnProfile]:
    """A profile per column, in header order."""
    return {name: profile(name, [row.values.get(name, "") for row in rows]) for name in header}


def code_values(column: ColumnProfile) -> tuple[str, ...]:
    """The values of a column that may be listed in a code map: those of a code column, and
    the few short values of a count column (a frequency, a visit month); none for others."""
    if column.kind == "code":
        return column.codes
    if column.kind == "count" and column.distinct <= MAX_CODES:
        return tuple(sorted(column.distinct_values, key=int))
    return ()


@dataclass(frozen=True)
class DateDecision:
    """The date formats of a table, or the candidates when its cells cannot decide."""

    formats: tuple[str, ...]
    ambiguous: bool = False
    borrowed: bool = False  # decided by other tables written in the same style


def _candidates(columns: Iterable[ColumnProfile]) -> frozenset[str] | None:
    """Formats that read every text-date column of a table; None when it has none."""
    sets = [c.date_formats for c in columns if c.kind == "date" and c.date_formats]
    if not sets:
        return None
    return frozenset.intersection(*sets)


def decide_date_formats(
    tables: dict[str, dict[str, ColumnProfile]],
) -> dict[str, DateDecision]:
    """Per table with text dates, the date format(s) to declare.

    A table whose every day is 12 or less reads both as dd/mm and mm/dd; when other tables of
    the same export, written in the same style, decide it, their answer is taken (and said);
    when nothing decides it, the decision is ambiguous and the draft asks.
    """
    found = {t: c for t, cols in tables.items() if (c := _candidates(cols.values())) is not None}
    decisions: dict[str, DateDecision] = {}
    for table, own in found.items():
        if not own:  # its columns disagree: keep each column's first format, the reader tries all
            mixed: set[str] = set()
            for column in tables[table].values():
                mixed.update(column.date_formats)
            decisions[table] = DateDecision(_ordered(mixed))
            continue
        shared = set(own)
        for other, theirs in found.items():
            if other != table and theirs & own:
                shared &= theirs
        if len(shared) == 1 and len(own) > 1:
            decisions[table] = DateDecision(_ordered(shared), borrowed=True)
            continue
        decided = _ordered(own)
        ambiguous = any(a in own and b in own for a, b in DAY_MONTH_PAIRS)
        # Formats of other shapes ('%Y-%m-%d' vs '%d/%m/%Y') never both read one cell.
        decisions[table] = DateDecision(decided, ambiguous=ambiguous)
    return decisions


def _ordered(formats: Iterable[str]) -> tuple[str, ...]:
    chosen = set(formats)
    return tuple(f for f in DATE_FORMATS if f in chosen)
