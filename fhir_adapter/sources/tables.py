"""Open one declared table and stream its rows; the format is chosen by file extension."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from pathlib import Path

from fhir_adapter.errors import SourceDataError
from fhir_adapter.sources.row import SourceRow

EXCEL_SUFFIXES = {".xlsx", ".xlsm"}


def read_table(
    data_dir: Path,
    file: str,
    *,
    delimiter: str,
    encoding: str,
    sheet: str | None = None,
    required_columns: Sequence[str] = (),
) -> Iterator[SourceRow]:
    """Yield the rows of ``data_dir/file``; check the header has ``required_columns`` first."""
    path = data_dir / file
    if not path.is_file():
        raise SourceDataError(
            "file not found in the data directory", file=file, rule="missing-file"
        )
    if path.suffix.lower() in EXCEL_SUFFIXES:
        from fhir_adapter.sources.excel import read_sheet

        rows = read_sheet(path, file, sheet)
    else:
        rows = _read_delimited(path, file, delimiter, encoding)
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
            f"reads (found: {', '.join(repr(n) for n in names[:20])})",
            file=file,
            row=1,
            rule="missing-column",
        )
    yield from rows


def _read_delimited(path: Path, file: str, delimiter: str, encoding: str) -> Iterator[SourceRow]:
    """First yields the header (as a row whose values are the column names), then data rows."""
    try:
        with path.open(encoding=encoding, newline="") as handle:
            reader = csv.reader(handle, delimiter=delimiter, strict=True)
            try:
                header = next(reader)
            except StopIteration:
                return
            if header and header[0].startswith("\ufeff"):  # a BOM the encoding did not strip
                header[0] = header[0][1:]
            header = [h.strip() for h in header]
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
                yield SourceRow(file, number, dict(zip(header, cells, strict=True)))
    except UnicodeDecodeError as exc:
        raise SourceDataError(
            f"not readable as {encoding} (byte offset {exc.start}); set "
            "'encoding' for this table in the mapping",
            file=file,
            rule="encoding",
        ) from None
    except csv.Error as exc:
        raise SourceDataError(f"malformed CSV: {exc}", file=file, rule="shape") from None
