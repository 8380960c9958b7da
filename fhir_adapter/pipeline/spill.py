"""A temporary on-disk store that regroups table rows by participant.

Site exports keep each kind of data in its own file, in no guaranteed order; a participant's
rows must be brought together to map (and later send) the participant atomically.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from fhir_adapter.sources.row import SourceRow

_BATCH = 5000


def _encode(values: dict[str, object], columns: list[str]) -> str:
    cells: list[object] = []
    for column in columns:
        value = values.get(column, "")
        if isinstance(value, (dt.datetime, dt.date)):
            # Excel date cells keep their type through the spill.
            day = value.date() if isinstance(value, dt.datetime) else value
            cells.append(["d", day.isoformat()])
        else:
            cells.append(value)
    return json.dumps(cells, ensure_ascii=False, separators=(",", ":"))


def _decode(text: str, columns: list[str]) -> dict[str, object]:
    cells = json.loads(text)
    return {
        c: (dt.date.fromisoformat(v[1]) if isinstance(v, list) else v)
        for c, v in zip(columns, cells, strict=True)
    }


class Spill:
    """Context manager around a temporary SQLite file of (subject, table, file, row, cells)."""

    def __init__(self, directory: Path | None = None):
        self._dir = tempfile.TemporaryDirectory(prefix="fhir-adapter-", dir=directory)
        self._db = sqlite3.connect(Path(self._dir.name) / "rows.sqlite", isolation_level=None)
        self._db.executescript(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA temp_store=FILE;"
            "PRAGMA cache_size=-2048;"
            "CREATE TABLE rows (subject TEXT NOT NULL, tbl INTEGER NOT NULL, file TEXT NOT NULL,"
            " num INTEGER NOT NULL, cells TEXT NOT NULL);"
        )
        self._tables: list[tuple[str, list[str]]] = []

    def __enter__(self) -> Spill:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()
        self._dir.cleanup()

    def add_table(
        self, name: str, columns: list[str], rows: Iterable[tuple[str, SourceRow]]
    ) -> int:
        """Store ``(subject, row)`` pairs of one table; returns the number of rows stored."""
        index = len(self._tables)
        self._tables.append((name, columns))
        stored = 0
        iterator = iter(rows)
        self._db.execute("BEGIN")
        while batch := list(itertools.islice(iterator, _BATCH)):
            self._db.executemany(
                "INSERT INTO rows VALUES (?, ?, ?, ?, ?)",
                [
                    (subject, index, row.file, row.number, _encode(row.values, columns))
                    for subject, row in batch
                ],
            )
            stored += len(batch)
        self._db.execute("COMMIT")
        return stored

    def participants(self) -> Iterator[tuple[str, dict[str, list[SourceRow]]]]:
        """Yield (subject, rows per table name), subjects in sorted order."""
        self._db.execute("CREATE INDEX IF NOT EXISTS by_subject ON rows (subject, tbl, num)")
        cursor = self._db.execute(
            "SELECT subject, tbl, file, num, cells FROM rows ORDER BY subject, tbl, num"
        )
        for subject, group in itertools.groupby(cursor, key=lambda r: r[0]):
            tables: dict[str, list[SourceRow]] = {}
            for _, tbl, file, num, cells in group:
                name, columns = self._tables[tbl]
                tables.setdefault(name, []).append(SourceRow(file, num, _decode(cells, columns)))
            yield subject, tables
