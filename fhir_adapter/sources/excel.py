"""Excel (.xlsx) sheets in openpyxl's read-only streaming mode.

Date cells arrive as ``datetime``; numbers as int/float; everything else as text.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Iterator
from pathlib import Path

from fhir_adapter.errors import SourceDataError
from fhir_adapter.sources.header import check_header_names
from fhir_adapter.sources.limits import (
    DEFAULT_LIMITS,
    SourceLimits,
    check_cells,
    check_file_size,
    check_header,
)
from fhir_adapter.sources.row import SourceRow


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, (dt.datetime, dt.date)):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _check_unpacked_size(path: Path, file: str, limits: SourceLimits) -> None:
    """Refuse a workbook whose parts unpack past the file-size limit (a zip bomb).

    The sizes are those the zip declares; Python's zipfile never inflates a member past its
    declared size, so they bound what openpyxl can read.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (OSError, zipfile.BadZipFile):
        raise SourceDataError(
            "not a readable .xlsx workbook (not a zip archive)", file=file, rule="shape"
        ) from None
    if unpacked > limits.max_file_bytes:
        raise SourceDataError(
            f"the workbook unpacks to more than the {limits.max_file_bytes:,}-byte limit",
            file=file,
            rule="file-size",
        )


def read_sheet(
    path: Path, file: str, sheet: str | None, limits: SourceLimits = DEFAULT_LIMITS
) -> Iterator[SourceRow]:
    """First yields the header row (column names as values), then data rows."""
    from openpyxl import load_workbook

    check_file_size(path, file, limits)
    _check_unpacked_size(path, file, limits)
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile/KeyError/InvalidFileException
        raise SourceDataError(
            f"not a readable .xlsx workbook ({exc.__class__.__name__})", file=file, rule="shape"
        ) from None
    try:
        if sheet is not None and sheet not in workbook.sheetnames:
            raise SourceDataError(
                f"no sheet named '{sheet}' (sheets: {', '.join(workbook.sheetnames)})",
                file=file,
                rule="shape",
            )
        worksheet = workbook[sheet] if sheet else workbook.worksheets[0]
        rows = worksheet.iter_rows(values_only=True)
        first = next(rows, None)
        if first is None:
            return
        header = [str(h).strip() if h is not None else "" for h in first]
        while header and header[-1] == "":
            header.pop()
        check_header(header, file, limits)
        check_header_names(header, file)
        yield SourceRow(file, 1, {h: h for h in header})
        width = len(header)
        for number, cells in enumerate(rows, start=2):
            values = [_cell(c) for c in cells[:width]]
            if all(v == "" for v in values):
                continue
            check_cells(header, values, file, number, limits)
            values += [""] * (width - len(values))
            yield SourceRow(file, number, dict(zip(header, values, strict=True)))
    finally:
        workbook.close()
