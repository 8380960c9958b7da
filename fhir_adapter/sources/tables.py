"""Open one declared table and stream its rows; the format is chosen by file extension,
or by a REDCap selection (``sources.redcap``) when the table is an instrument of a raw export."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from fhir_adapter.sources.redcap import RedcapSelection

EXCEL_SUFFIXES = {".xlsx", ".xlsm"}


def read_table(
    data_dir: Path,
    file: str,
    *,
    delimiter: str,
    encoding: str,
    sheet: str | None = None,
    required_columns: Sequence[str] = (),
    table: str | None = None,
    subject_column: str | None = None,
    limits: SourceLimits = DEFAULT_LIMITS,
    redcap: RedcapSelection | None = None,
) -> Iterator[SourceRow]:
    """Yield the rows of ``data_dir/file``; check the header has ``required_columns`` first.

    The file must resolve (symlinks followed) inside ``data_dir``; ``table`` names the
    mapping's table in errors. With ``subject_column``, more rows for one participant than
    ``limits.max_rows_per_participant`` is an error. With ``redcap``, the file is a REDCap
    raw export and the rows are those of the selected instrument (``sources.redcap``).
    """
    if redcap is not None:
        from fhir_adapter.sources.redcap import RedcapTable

        yield from RedcapTable.open(data_dir, redcap, limits).rows(
            data_dir,
            file,
            delimiter=delimiter,
            encoding=encoding,
            required_columns=required_columns,
            table=table,
            subject_column=subject_column,
            limits=limits,
        )
        return
    path = confined_path(data_dir, file, table)
    if Path(file).suffix.lower() in EXCEL_SUFFIXES:
        from fhir_adapter.sources.excel import read_sheet

        rows = read_sheet(path, file, sheet, limits)
    else:
        rows = _read_delimited(path, file, delimiter, encoding, limits)
    header = next(rows, None)
    if header is None:
        raise SourceDataError(
            "the file is empty (no header row)", file=file, row=1, rule="missing-header"
        )
    names = list(header.values)
    missing = [c for c in required_columns if c not in names]
    if missing:
        raise SourceDataError(
            f"header lacks column(s) {', '.join(repr(c) for c in missing)} that the mapping "
            f"reads (found: {', '.join(_shown(n) for n in names[:20])})"
            + _delimiter_hint(names, delimiter),
            file=file,
            row=1,
            rule="missing-column",
        )
    if subject_column is None:
        yield from rows
    else:
        yield from bounded_per_subject(rows, file, subject_column, limits)


def confined_path(data_dir: Path, file: str, table: str | None = None) -> Path:
    """The real path of ``file``, refused unless it is a regular file inside ``data_dir``.

    Resolving first means an absolute path, a '..' or a symlink that leaves the data folder
    is caught before anything is opened, so no byte of such a file reaches an error.
    """
    what = f"table '{table}': " if table else ""
    root = Path(data_dir).resolve()
    try:
        path = (root / file).resolve()
    except (OSError, RuntimeError, ValueError):  # a symlink loop, a NUL in the name
        raise SourceDataError(
            f"{what}the file name cannot be resolved", file=file, rule="missing-file"
        ) from None
    if not path.is_relative_to(root):
        raise SourceDataError(
            f"{what}the file resolves outside the data folder (an absolute path, '..' or a "
            "symlink); put the file itself inside --data",
            file=file,
            rule="outside-data-dir",
        )
    if not path.is_file():
        reason = "not a regular file" if path.exists() else "file not found"
        raise SourceDataError(
            f"{what}{reason} in the data directory", file=file, rule="missing-file"
        )
    return path


def _shown(name: object) -> str:
    """A header name for an error message, cut short: the first line may not be a header."""
    text = str(name)
    return repr(text if len(text) <= 40 else text[:37] + "...")


def bounded_per_subject(
    rows: Iterator[SourceRow], file: str, subject_column: str, limits: SourceLimits
) -> Iterator[SourceRow]:
    """Pass rows through, counting them per participant.

    A participant's rows are held in memory together when mapped, so their number is bounded.
    """
    limit = limits.max_rows_per_participant
    counts: Counter[str] = Counter()
    for row in rows:
        subject = str(row.values.get(subject_column, "")).strip()
        if subject:
            counts[subject] += 1
            if counts[subject] > limit:
                raise SourceDataError(
                    f"more than {limit:,} rows for one participant; check that this column "
                    "holds the participant id",
                    file=file,
                    row=row.number,
                    column=subject_column,
                    rule="rows-per-participant",
                )
        yield row


def _read_delimited(
    path: Path, file: str, delimiter: str, encoding: str, limits: SourceLimits
) -> Iterator[SourceRow]:
    """First yields the header (as a row whose values are the column names), then data rows."""
    check_file_size(path, file, limits)
    limit = limits.max_cell_chars
    number = 0  # the last row read whole; errors from the csv module concern the next one
    try:
        with path.open(encoding=encoding, newline="") as handle:
            reader = csv.reader(handle, delimiter=delimiter, strict=True)
            header = next(reader, None)
            if header is None:
                return
            number = 1
            if header and header[0].startswith("\ufeff"):  # a BOM the encoding did not strip
                header[0] = header[0][1:]
            header = [h.strip() for h in header]
            check_header(header, file, limits)
            check_header_names(header, file)
            yield SourceRow(file, 1, {h: h for h in header})
            width = len(header)
            for number, cells in enumerate(reader, start=2):
                if not cells or (len(cells) == 1 and not cells[0].strip()):
                    continue  # a blank line, as spreadsheets write at the end
                if len(cells) != width:
                    raise SourceDataError(
                        f"row has {len(cells)} cells but the header has {width} "
                        f"(check the delimiter '{delimiter}' and quoting)",
                        file=file,
                        row=number,
                        rule="shape",
                    )
                if any("\x00" in c for c in cells):
                    raise SourceDataError(
                        "row contains a NUL character", file=file, row=number, rule="shape"
                    )
                if max(map(len, cells)) > limit:
                    check_cells(header, cells, file, number, limits)
                yield SourceRow(file, number, dict(zip(header, cells, strict=True)))
    except UnicodeDecodeError:
        row, column = _undecodable_cell(path, encoding, delimiter)
        raise SourceDataError(
            f"bytes that are not valid {encoding}; declare the file's encoding on this "
            "table in the mapping (e.g. 'encoding: cp1252' for Windows exports, 'latin-1')",
            file=file,
            row=row,
            column=column,
            rule="encoding",
        ) from None
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):  # csv's own, process-wide limit
            raise SourceDataError(
                f"a cell is longer than the {min(limit, csv.field_size_limit()):,}-character limit",
                file=file,
                row=number + 1,
                rule="cell-size",
            ) from None
        raise SourceDataError(
            f"malformed CSV: {exc}", file=file, row=number + 1, rule="shape"
        ) from None


def _undecodable_cell(path: Path, encoding: str, delimiter: str) -> tuple[int | None, str | None]:
    """Row number and column of the first cell holding bytes ``encoding`` cannot decode.

    Runs only after a decoding error: the text layer decodes the file in blocks, so the
    error itself does not say which row. Re-reading with 'surrogateescape' turns each bad
    byte into a lone surrogate, which no valid text holds, so the first record with one is
    the row to name (multi-line quoted cells counted as one row, as the reader counts them).
    """
    try:
        with path.open(encoding=encoding, errors="surrogateescape", newline="") as handle:
            reader = csv.reader(handle, delimiter=delimiter)
            header: list[str] = []
            for number, cells in enumerate(reader, start=1):
                if number == 1:
                    header = cells
                for position, cell in enumerate(cells):
                    if _has_surrogate(cell):
                        named = number > 1 and position < len(header)
                        return number, header[position].strip("\ufeff \t") if named else None
    except (UnicodeError, csv.Error):  # a codec without surrogateescape, or broken quoting
        pass
    return None, None


def _has_surrogate(text: str) -> bool:
    """True when ``text`` holds a byte 'surrogateescape' could not decode."""
    return any("\udc80" <= char <= "\udcff" for char in text)


_DELIMITERS = (",", ";", "\t", "|")


def _delimiter_hint(names: list[str], delimiter: str) -> str:
    """When the header came out as one or two cells holding another delimiter, say so: the
    commonest cause of 'missing' columns in a site export (a ';' file read with ',')."""
    if len(names) > 2:
        return ""
    joined = "".join(str(n) for n in names)
    for other in _DELIMITERS:
        if other != delimiter and joined.count(other) >= 2:
            shown = "\\t" if other == "\t" else other
            return (
                f"; the header looks split by '{shown}', not by the table's delimiter: "
                f"set delimiter: '{shown}' on the table (or source.delimiter)"
            )
    return ""
