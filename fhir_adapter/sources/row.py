"""The unit every source yields: one data row with its file and spreadsheet-style row number."""

from __future__ import annotations

from typing import NamedTuple


class SourceRow(NamedTuple):
    file: str  # file name as the user knows it (relative to the data directory)
    number: int  # 1-based, the header being row 1, as a spreadsheet shows it
    values: dict[str, object]  # column → cell text (or a date for Excel date cells)


class BadCell(NamedTuple):
    """A cell its source could not read exactly (a REDCap code its dictionary lacks).

    The source puts it in place of the value: a field that reads the cell then fails with
    ``rule`` and ``message`` (a row error naming the column), and a column nobody maps
    costs nothing. The message never holds the cell's text.
    """

    rule: str
    message: str
