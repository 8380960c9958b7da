"""The rejects folder: every row a run did not map, with why, for a data manager to correct.

One CSV per source table (``<table>.csv``): ``source_file``, ``source_row``, ``outcome``
(``rejected`` for a row that broke a rule, ``left out`` for a row dropped with one),
``problem_column``, ``problem_rule`` and ``problem_message`` (several problems of one row
joined by `` | ``), then the row's original cells under their own column names (the columns
the mapping reads; ``cell:<name>`` where a name equals one of the six above). Those cells
are source data (PHI), so the folder and its files are owner-only (``fhir_adapter._private``);
a run's rejects replace the previous run's, and a run without rejects leaves no file behind.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from fhir_adapter._private import private_dir, private_opener
from fhir_adapter.mapping.records import LeftOut, RowError
from fhir_adapter.sources.row import SourceRow

_FIXED = [
    "source_file",
    "source_row",
    "outcome",
    "problem_column",
    "problem_rule",
    "problem_message",
]


class RejectsWriter:
    """Writes rejected and left-out rows as they come; ``close`` finishes the files."""

    def __init__(self, directory: Path, columns: dict[str, list[str]]):
        self.directory = directory
        self.columns = columns  # per table: the columns the mapping reads, in order
        self._files: dict[str, tuple[IO[str], Any, list[str]]] = {}
        self.rows_written = 0
        self._clear_previous()

    def _clear_previous(self) -> None:
        if self.directory.is_dir():
            for old in self.directory.glob("*.csv"):
                old.unlink()

    def rejected(self, table: str, row: SourceRow, errors: Iterable[RowError]) -> None:
        problems = list(errors)
        self._write(
            table,
            row,
            "rejected",
            _joined(p.column or "" for p in problems),
            _joined(p.rule for p in problems),
            _joined(p.message for p in problems),
        )

    def left_out(self, table: str, row: SourceRow, left: LeftOut) -> None:
        message = left.reason
        if left.because is not None:
            message += f" (because of {left.because.file} row {left.because.row})"
        self._write(table, row, "left out", "", "", message)

    def _write(
        self, table: str, row: SourceRow, status: str, column: str, rule: str, message: str
    ) -> None:
        handle, writer, columns = self._open(table, row)
        cells = [_cell(row.values.get(name)) for name in columns]
        writer.writerow([row.file, row.number, status, column, rule, message, *cells])
        self.rows_written += 1

    def _open(self, table: str, row: SourceRow) -> tuple[IO[str], Any, list[str]]:
        if table not in self._files:
            private_dir(self.directory)
            path = self.directory / f"{table}.csv"
            handle = open(  # noqa: SIM115 - kept open while the run goes on; closed in close()
                path, "w", newline="", encoding="utf-8", opener=private_opener
            )
            columns = self.columns.get(table) or list(row.values)
            writer = csv.writer(handle)
            writer.writerow(_FIXED + [f"cell:{c}" if c in _FIXED else c for c in columns])
            self._files[table] = (handle, writer, columns)
        return self._files[table]

    def close(self) -> None:
        for handle, _, _ in self._files.values():
            handle.close()
        self._files.clear()

    def __enter__(self) -> RejectsWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _joined(parts: Iterable[str]) -> str:
    return " | ".join(parts)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)
