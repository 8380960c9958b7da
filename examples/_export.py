"""Writing synthetic site exports: number/date formatting, CSV tables, deterministic .xlsx.

Only formatting and file output live here; what the values are is decided by the study modules.
Everything is written row by row so a table never has to fit in memory.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import shutil
import zipfile
from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import IO, Any

# The fixed timestamp stamped into every .xlsx (zip entries and core properties), so the same
# seed gives the same bytes. 2022-01-01 is inside the synthetic data's date range.
FIXED_TIMESTAMP = dt.datetime(2022, 1, 1, 0, 0, 0)


def dec(value: float, places: int) -> Decimal:
    """Round a generated float once, to the precision the site reports (half up)."""
    quantum = Decimal(1).scaleb(-places)
    return Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP)


def half_up(value: Decimal, places: int = 0) -> Decimal:
    """Round a Decimal half up (not Python's banker's rounding), as lab software does."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def num(value: Decimal | int | None, comma: bool = False) -> str:
    """A number as the export writes it; None is a blank cell (not recorded)."""
    if value is None:
        return ""
    text = str(value)
    return text.replace(".", ",") if comma else text


def iso(day: dt.date | None) -> str:
    return "" if day is None else day.isoformat()


def dmy(day: dt.date | None) -> str:
    return "" if day is None else day.strftime("%d/%m/%Y")


class CsvTable:
    """One CSV file open for streaming writes: header first, then one row per call."""

    def __init__(
        self,
        path: Path,
        header: Sequence[str],
        *,
        delimiter: str = ",",
        encoding: str = "utf-8",
    ) -> None:
        self.path = path
        self.rows = 0
        # newline="" lets the csv module own line endings; "\n" keeps the files diff-friendly.
        self._file: IO[str] = path.open("w", encoding=encoding, newline="")
        self._writer = csv.writer(self._file, delimiter=delimiter, lineterminator="\n")
        self._writer.writerow(header)

    def write(self, row: Sequence[str]) -> None:
        self._writer.writerow(row)
        self.rows += 1

    def close(self) -> None:
        self._file.close()


class XlsxSheet:
    """A one-sheet workbook written in openpyxl's streaming (write-only) mode.

    Date values become real Excel date cells. `close()` saves, then rewrites the archive with
    fixed timestamps so the file is byte-identical for the same rows.
    """

    def __init__(self, path: Path, sheet: str, header: Sequence[str], date_format: str) -> None:
        from openpyxl import Workbook

        self.path = path
        self.rows = 0
        self._date_format = date_format
        self._workbook = Workbook(write_only=True)
        self._workbook.properties.creator = "examples/generate.py (synthetic data)"
        self._workbook.properties.created = FIXED_TIMESTAMP
        self._sheet = self._workbook.create_sheet(sheet)
        self._sheet.append(list(header))

    def write(self, row: Iterable[Any]) -> None:
        from openpyxl.cell import WriteOnlyCell

        cells: list[Any] = []
        for value in row:
            if isinstance(value, dt.date):
                cell = WriteOnlyCell(self._sheet, value=value)
                cell.number_format = self._date_format
                cells.append(cell)
            else:
                cells.append(value)
        self._sheet.append(cells)
        self.rows += 1

    def close(self) -> None:
        raw = self.path.with_suffix(".tmp.xlsx")
        self._workbook.save(raw)
        _rewrite_zip_deterministically(raw, self.path)
        raw.unlink()


_MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")


def _rewrite_zip_deterministically(source: Path, target: Path) -> None:
    """Copy a zip entry by entry with a fixed date_time; pin the core 'modified' property.

    openpyxl stamps the save time into docProps/core.xml and into every zip entry header.
    """
    stamp = FIXED_TIMESTAMP.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for info in zin.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_TIMESTAMP.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            if info.filename == "docProps/core.xml":
                body = _MODIFIED.sub(rb"\g<1>" + stamp + rb"\g<2>", zin.read(info))
                zout.writestr(fixed, body)
                continue
            with zin.open(info) as src, zout.open(fixed, "w") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
