"""Load-time checks of read options (``source:`` and each table): refuse what would misread.

A date format that cannot round-trip a date would read every cell wrongly or not at all; an
encoding Python does not know would fail only when the data are read; delimiter and encoding
on an Excel table would be silently ignored. Each is refused with the key to fix.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Sequence
from typing import Any

from fhir_adapter.mapping.spec import MappingSpec, ReadOptions

Problem = tuple[str, Sequence[Any]]

EXCEL_SUFFIXES = (".xlsx", ".xlsm")
# Day 23 and month 11 cannot be confused, and the year is past 1969 so that '%y' reads it back.
_PROBE = dt.date(1987, 11, 23)


def date_format_problem(fmt: str) -> str | None:
    """Why ``fmt`` cannot read full calendar dates, or None when it can.

    The format must write a date and read the same date back: that refuses unknown or
    dangling directives ('%Q', a trailing '%') and formats without a day, month or year
    (which would fill in the missing part, a silently wrong date).
    """
    try:
        written = _PROBE.strftime(fmt)
        read = dt.datetime.strptime(written, fmt).date()
    except (ValueError, re.error):  # strptime compiles formats; '%d%d' fails there
        return "is not a valid strptime format"
    if read != _PROBE:
        return "does not hold a full date: it needs a day, a month and a year (e.g. '%d/%m/%Y')"
    return None


def _encoding_problem(encoding: str) -> str | None:
    try:
        "a".encode(encoding)
    except LookupError:
        return "is not a text encoding Python knows (e.g. utf-8, utf-8-sig, cp1252, latin-1)"
    return None


def _options(options: ReadOptions, loc: list[Any]) -> Iterator[Problem]:
    if options.encoding is not None:
        problem = _encoding_problem(options.encoding)
        if problem:
            yield f"encoding '{options.encoding}' {problem}", [*loc, "encoding"]
    for index, fmt in enumerate(options.date_formats or ()):
        problem = date_format_problem(fmt)
        if problem:
            yield f"date format '{fmt}' {problem}", [*loc, "date_formats", index]


def read_option_problems(spec: MappingSpec) -> Iterator[Problem]:
    yield from _options(spec.source, ["source"])
    for name, table in spec.tables.items():
        loc = ["tables", name]
        yield from _options(table, loc)
        excel = table.file.lower().endswith(EXCEL_SUFFIXES)
        for key in ("delimiter", "encoding"):
            if excel and getattr(table, key) is not None:
                yield (
                    f"'{key}' does not apply to an Excel workbook; remove it (Excel cells "
                    "are read as typed)",
                    [*loc, key],
                )
        if not excel and table.sheet is not None:
            yield "'sheet' applies only to .xlsx workbooks; remove it", [*loc, "sheet"]
        if excel and table.redcap is not None:
            yield (
                "a REDCap raw export is a CSV file; export the data as 'CSV / Microsoft Excel "
                "(raw data)' and name that file",
                [*loc, "file"],
            )
