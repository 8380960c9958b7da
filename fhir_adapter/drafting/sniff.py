"""Find the export's files and how each is written: encoding, delimiter, Excel sheets.

Only the shape of a file is decided here; reading its rows goes through ``sources`` with what
was found, so a draft reads the files exactly as ``validate`` and ``map`` will.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from fhir_adapter.errors import SourceDataError
from fhir_adapter.sources import SourceRow, read_table
from fhir_adapter.sources.redcap import RedcapSelection, RedcapTable

DELIMITED = {".csv", ".tsv", ".txt"}
EXCEL = {".xlsx", ".xlsm"}
DELIMITERS = (",", ";", "\t", "|")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Encoding:
    """The codec a file decodes with, and a sentence for the reader when it is a guess."""

    codec: str | None  # None: neither UTF-8 nor Windows-1252 decode it
    note: str | None = None
    ascii: bool = False  # every byte below 128: reads the same in any of these codecs


@dataclass(frozen=True)
class ExportFile:
    """One table of the export: a delimited file, or one sheet of a workbook."""

    file: str  # relative to the data folder, as the mapping names it
    table: str  # the name the draft gives the table
    sheet: str | None = None
    delimiter: str | None = None
    encoding: Encoding | None = None
    redcap: RedcapSelection | None = None  # one instrument of a REDCap raw export

    @property
    def is_excel(self) -> bool:
        return self.delimiter is None


def _decodes(path: Path, codec: str) -> bool:
    """True when the whole file decodes with ``codec`` (read in blocks, never all at once)."""
    decoder = codecs.getincrementaldecoder(codec)()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def sniff_encoding(path: Path) -> Encoding:
    """UTF-8 (``utf-8-sig`` with a byte-order mark); else Windows-1252 when every byte
    decodes, said in a note because any byte string nearly always does; else unknown."""
    with path.open("rb") as handle:
        start = handle.read(3)
    if start == codecs.BOM_UTF8:
        if _decodes(path, "utf-8-sig"):
            return Encoding("utf-8-sig", "UTF-8 with a byte-order mark (as Excel writes it)")
        return Encoding(None, "starts with a UTF-8 byte-order mark but is not valid UTF-8")
    if _decodes(path, "ascii"):
        return Encoding("utf-8", ascii=True)
    if _decodes(path, "utf-8"):
        return Encoding("utf-8")
    if _decodes(path, "cp1252"):
        return Encoding(
            "cp1252",
            "not UTF-8; it decodes as Windows-1252 (cp1252): check that accented letters "
            "read right, or set latin-1 or the site's own code page",
        )
    return Encoding(None, "neither UTF-8 nor Windows-1252: ask the site which encoding it uses")


def sniff_delimiter(lines: list[str]) -> str | None:
    """The delimiter that splits the header into the most cells and every following line into
    as many (counted with the csv module, so quoted cells do not count); None when none does."""
    best, best_width = None, 1
    for delimiter in DELIMITERS:
        rows = list(csv.reader(lines, delimiter=delimiter))
        rows = [r for r in rows if r and any(c.strip() for c in r)]
        if not rows:
            continue
        width = len(rows[0])
        if width > best_width and all(len(r) == width for r in rows[1:]):
            best, best_width = delimiter, width
    return best


def _first_lines(path: Path, codec: str, count: int = 50) -> list[str]:
    lines: list[str] = []
    with path.open(encoding=codec, newline="") as handle:
        for line in handle:
            lines.append(line)
            if len(lines) >= count:
                break
    # A line cut inside a quoted cell would count wrong: keep whole records only.
    return lines if len(lines) < count else lines[:-1]


def table_name(stem: str) -> str:
    """A table name from a file name: lower case, runs of other characters as '_'."""
    name = re.sub(r"[^a-z0-9]+", "_", stem.lower()).strip("_")
    return name or "table"


def _sheets(path: Path) -> list[str]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True)
    except Exception:  # openpyxl raises zipfile/KeyError/InvalidFileException
        return []
    try:
        # Read-only sheets may not know their size: look at their first two rows instead.
        return [
            ws.title
            for ws in workbook.worksheets
            if sum(1 for _ in zip(range(2), ws.iter_rows(values_only=True), strict=False)) == 2
        ]
    finally:
        workbook.close()


def find_files(data_dir: Path) -> tuple[list[ExportFile], list[str]]:
    """The export's tables, in file-name order, and a note per file that was passed over."""
    found: list[ExportFile] = []
    skipped: list[str] = []
    for path in sorted(p for p in data_dir.rglob("*") if p.is_file()):
        file = path.relative_to(data_dir).as_posix()
        suffix = path.suffix.lower()
        if suffix in EXCEL:
            sheets = _sheets(path)
            if not sheets:
                skipped.append(f"{file}: no sheet with a header and rows")
            for sheet in sheets:
                name = path.stem if len(sheets) == 1 else f"{path.stem}_{sheet}"
                found.append(ExportFile(file, table_name(name), sheet=sheet))
        elif suffix in DELIMITED:
            encoding = sniff_encoding(path)
            delimiter = None
            if encoding.codec is not None:
                delimiter = sniff_delimiter(_first_lines(path, encoding.codec))
            if delimiter is None:
                delimiter = "\t" if suffix == ".tsv" else ","
            found.append(ExportFile(file, table_name(path.stem), None, delimiter, encoding))
        elif not path.name.startswith(".") and suffix not in {".md", ".yaml", ".yml"}:
            skipped.append(f"{file}: not a .csv, .tsv, .txt or .xlsx file")
    names = [f.table for f in found]
    unique = [
        f if names.count(f.table) == 1 else _renamed(f, n) for n, f in enumerate(found, start=1)
    ]
    return unique, skipped


def _renamed(export: ExportFile, number: int) -> ExportFile:
    return replace(export, table=f"{export.table}_{number}")


def read_rows(data_dir: Path, export: ExportFile, limit: int) -> tuple[list[str], list[SourceRow]]:
    """The header and the first ``limit`` rows, read as the mapping would read them (a file
    with a header and no rows gives no header: nothing can be drafted from it)."""
    codec = export.encoding.codec if export.encoding else None
    if export.encoding is not None and codec is None:
        raise SourceDataError(
            "cannot tell the encoding: " + (export.encoding.note or ""), file=export.file
        )
    rows: Iterator[SourceRow]
    if export.redcap is not None:
        rows = RedcapTable.open(data_dir, export.redcap).rows(
            data_dir, export.file, delimiter=export.delimiter or ",", encoding=codec or "utf-8"
        )
    else:
        rows = read_table(
            data_dir,
            export.file,
            delimiter=export.delimiter or ",",
            encoding=codec or "utf-8",
            sheet=export.sheet,
        )
    kept: list[SourceRow] = []
    for row in rows:
        kept.append(row)
        if len(kept) >= limit:
            break
    # read_table checks and consumes the header; every row carries it as its keys.
    header = list(kept[0].values) if kept else []
    return header, kept
