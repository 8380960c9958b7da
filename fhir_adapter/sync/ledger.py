"""The local sync ledger: what the server is known to hold, one SQLite file per server+study.

Per resource it keeps the content hash and body last confirmed by the server, the server's
id and version. A row is written only after the server confirmed the participant's
transaction, so a crash can only leave the ledger behind the server, never ahead of it.
An exclusive lock on a sidecar file makes a second concurrent run refuse to start.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from fhir_adapter.errors import LedgerError

SCHEMA_VERSION = "1"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS resources (
    type TEXT NOT NULL,
    id TEXT NOT NULL,
    participant TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    body TEXT NOT NULL,
    server_id TEXT NOT NULL,
    version TEXT,
    PRIMARY KEY (type, id)
);
CREATE INDEX IF NOT EXISTS resources_by_participant ON resources (participant);
"""


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    type: str
    id: str
    participant: str
    content_hash: str
    body: str
    server_id: str
    version: str | None


def default_ledger_path(base_dir: Path, server_url: str, study_key: str) -> Path:
    """``<base_dir>/<study>-<hash of server URL>.sqlite``: one ledger per server and study."""
    server = hashlib.sha256(server_url.rstrip("/").encode()).hexdigest()[:12]
    return base_dir / f"{study_key}-{server}.sqlite"


class Ledger:
    """Open (and lock) a ledger; use as a context manager."""

    def __init__(self, path: Path, *, server_url: str, study_key: str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock: IO[str] | None = open(f"{self.path}.lock", "w")  # noqa: SIM115
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            self._lock = None
            raise LedgerError(
                f"the ledger {self.path} is in use by another sync run; wait for it to finish "
                "(two runs on one ledger could both send the same changes)") from None
        self._lock.write(str(os.getpid()))
        self._lock.flush()
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.executescript("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
            self._db.executescript(_SCHEMA)
            self._check_meta(server_url, study_key)
        except sqlite3.DatabaseError as exc:
            self.close()
            raise LedgerError(f"the ledger {self.path} is unreadable ({exc}); move it aside: "
                              "the next sync re-sends everything and creates no duplicates"
                              ) from None

    def _check_meta(self, server_url: str, study_key: str) -> None:
        wanted = {"schema": SCHEMA_VERSION, "server": server_url.rstrip("/"), "study": study_key}
        found = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        if not found:
            self._db.executemany("INSERT INTO meta VALUES (?, ?)", wanted.items())
            return
        for key, value in wanted.items():
            if found.get(key) != value:
                raise LedgerError(f"the ledger {self.path} belongs to another {key} "
                                  f"({found.get(key)!r}); use --ledger to pick the right one")

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if getattr(self, "_db", None) is not None:
            self._db.close()
            self._db = None  # type: ignore[assignment]
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    # --- reading -----------------------------------------------------------------------------

    def participant_entries(self, participant: str) -> dict[tuple[str, str], LedgerEntry]:
        rows = self._db.execute("SELECT * FROM resources WHERE participant = ?", (participant,))
        return {(r[0], r[1]): LedgerEntry(*r) for r in rows}

    def participants(self) -> set[str]:
        return {r[0] for r in self._db.execute("SELECT DISTINCT participant FROM resources")}

    def entries(self) -> Iterator[LedgerEntry]:
        yield from (LedgerEntry(*r) for r in self._db.execute(
            "SELECT * FROM resources ORDER BY participant, type, id"))

    def check_write_mode(self, mode: str) -> None:
        """Refuse to switch write modes on one server: the two modes mint different server
        ids for the same resource, so a switch would duplicate the study."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'write_mode'").fetchone()
        if row is None:
            self._db.execute("INSERT INTO meta VALUES ('write_mode', ?)", (mode,))
        elif row[0] != mode:
            raise LedgerError(f"this server was synced in '{row[0]}' mode; syncing it in "
                              f"'{mode}' mode would duplicate resources. Use --write-mode "
                              f"{row[0]}")

    def server_id(self, resource_type: str, resource_id: str) -> str | None:
        row = self._db.execute("SELECT server_id FROM resources WHERE type = ? AND id = ?",
                               (resource_type, resource_id)).fetchone()
        return row[0] if row else None

    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM resources").fetchone()[0])

    # --- writing (only after the server confirmed) ---------------------------------------------

    def commit(self, upserts: Iterable[LedgerEntry], removals: Iterable[tuple[str, str]]) -> None:
        """Record one participant's confirmed changes atomically."""
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR REPLACE INTO resources VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(e.type, e.id, e.participant, e.content_hash, e.body, e.server_id, e.version)
                 for e in upserts])
            self._db.executemany("DELETE FROM resources WHERE type = ? AND id = ?",
                                 list(removals))
