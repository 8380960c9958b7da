"""The local sync ledger: what the server is known to hold, one SQLite file per server+study.

Per resource it keeps the content hash and body last confirmed by the server, the server's
id and version. A row is written only after the server confirmed the participant's
transaction, so a crash can only leave the ledger behind the server, never ahead of it.
An exclusive lock on a sidecar file makes a second concurrent run refuse to start.

The ledger holds full resource bodies (PHI): its folder is created 0700, the ledger, its
WAL files and the lock 0600, and existing ones are tightened on open.

The ledger is a cache of what the server confirmed, never the truth: a sync audits it
against the server at the start of every run, forgets what the server no longer holds
and marks for re-sending what the server holds at another version (``forget``,
``mark_stale``).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

from fhir_adapter._private import private_dir, private_opener
from fhir_adapter.errors import LedgerError
from fhir_adapter.fhir.keys import ResourceKey

_DEFAULT_PORTS = {"http": 80, "https": 443}

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
CREATE TABLE IF NOT EXISTS runs (
    kind TEXT NOT NULL,
    started TEXT NOT NULL,
    finished TEXT NOT NULL,
    mapping TEXT NOT NULL,
    digest TEXT NOT NULL,
    data TEXT NOT NULL,
    ok INTEGER NOT NULL,
    summary TEXT NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One finished ``sync`` or ``verify`` run, for ``status`` (counts only, no PHI)."""

    kind: str  # "sync" | "verify"
    started: str  # ISO 8601, UTC
    finished: str
    mapping: str  # mapping file name
    digest: str  # sha256 of the mapping and its includes
    data: str  # the data folder, as given
    ok: bool
    summary: str  # e.g. "30 synced, 0 failed; 12 written"


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    type: str
    id: str
    participant: str
    content_hash: str
    body: str
    server_id: str
    version: str | None

    @property
    def key(self) -> ResourceKey:
        return ResourceKey(self.type, self.id)


def default_ledger_path(base_dir: Path, server_url: str, study_key: str) -> Path:
    """``<base_dir>/<study>@<host>-<port>-<hash>.sqlite``: one ledger per server and study,
    named so a person can tell them apart (the hash tells apart two base paths on one host).

    A ledger under the earlier name (``<study>-<hash>.sqlite``) is renamed to this one.
    """
    url = server_url.rstrip("/")
    digest = hashlib.sha256(url.encode()).hexdigest()
    try:
        parsed = httpx.URL(url)
        host = f"{parsed.host}-{parsed.port or _DEFAULT_PORTS.get(parsed.scheme, 0)}"
    except httpx.InvalidURL:
        host = "server"
    safe_host = re.sub(r"[^A-Za-z0-9.\-]", "_", host)
    path = base_dir / f"{study_key}@{safe_host}-{digest[:6]}.sqlite"
    earlier = base_dir / f"{study_key}-{digest[:12]}.sqlite"
    if earlier.exists() and not path.exists():
        for suffix in ("", "-wal", "-shm", ".lock"):
            if Path(f"{earlier}{suffix}").exists():
                Path(f"{earlier}{suffix}").rename(f"{path}{suffix}")
    return path


class Ledger:
    """Open (and lock) a ledger; use as a context manager."""

    def __init__(self, path: Path, *, server_url: str, study_key: str):
        self.path = Path(path)
        try:
            private_dir(self.path.parent)
            self._lock: IO[str] | None = open(  # noqa: SIM115 - held for the run
                f"{self.path}.lock", "w", opener=private_opener
            )
        except OSError as exc:
            raise LedgerError(
                f"cannot create the ledger {self.path} ({exc.strerror}); choose "
                "another place with --ledger"
            ) from None
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            self._lock = None
            raise LedgerError(
                f"the ledger {self.path} is in use by another sync run; wait for it to finish "
                "(two runs on one ledger could both send the same changes)"
            ) from None
        self._lock.write(str(os.getpid()))
        self._lock.flush()
        try:
            for suffix in ("", "-wal", "-shm"):
                if suffix == "" or Path(f"{self.path}{suffix}").exists():
                    open(f"{self.path}{suffix}", "a", opener=private_opener).close()
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.executescript("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
            self._db.executescript(_SCHEMA)
            self._check_meta(server_url, study_key)
        except sqlite3.DatabaseError as exc:
            self.close()
            raise LedgerError(
                f"the ledger {self.path} is unreadable ({exc}); move it aside: "
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
                raise LedgerError(
                    f"the ledger {self.path} belongs to another {key} "
                    f"({found.get(key)!r}); use --ledger to pick the right one"
                )

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

    def participant_entries(self, participant: str) -> dict[ResourceKey, LedgerEntry]:
        rows = self._db.execute("SELECT * FROM resources WHERE participant = ?", (participant,))
        return {ResourceKey(r[0], r[1]): LedgerEntry(*r) for r in rows}

    def participants(self) -> set[str]:
        return {r[0] for r in self._db.execute("SELECT DISTINCT participant FROM resources")}

    def entries(self) -> Iterator[LedgerEntry]:
        yield from (
            LedgerEntry(*r)
            for r in self._db.execute("SELECT * FROM resources ORDER BY participant, type, id")
        )

    def check_write_mode(self, mode: str) -> None:
        """Refuse to switch write modes on one server: the two modes mint different server
        ids for the same resource, so a switch would duplicate the study."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'write_mode'").fetchone()
        if row is None:
            self._db.execute("INSERT INTO meta VALUES ('write_mode', ?)", (mode,))
        elif row[0] != mode:
            raise LedgerError(
                f"this server was synced in '{row[0]}' mode; syncing it in "
                f"'{mode}' mode would duplicate resources. Use --write-mode "
                f"{row[0]}"
            )

    def claim_mapping(
        self, mapping: str, *, take_over: bool = False, record: bool = True
    ) -> str | None:
        """Record that ``mapping`` (a file name) owns this study on this server.

        Another mapping syncing the same study key would rewrite the owner's resources with
        its own content: refused unless ``take_over``. Returns the previous owner when it
        changed hands.
        """
        row = self._db.execute("SELECT value FROM meta WHERE key = 'mapping'").fetchone()
        if row is None or row[0] == mapping:
            if row is None and record:
                self._db.execute("INSERT INTO meta VALUES ('mapping', ?)", (mapping,))
            return None
        if not take_over:
            raise LedgerError(
                f"this study was synced to this server from the mapping {row[0]}; syncing "
                f"{mapping} into it would rewrite its resources with another export's content. "
                "Give the new mapping its own study key, or pass --take-over if it now "
                "replaces the old one"
            )
        if record:
            self._db.execute("UPDATE meta SET value = ? WHERE key = 'mapping'", (mapping,))
        return str(row[0])

    def record_run(self, run: RunRecord) -> None:
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run.kind,
                    run.started,
                    run.finished,
                    run.mapping,
                    run.digest,
                    run.data,
                    int(run.ok),
                    run.summary,
                ),
            )

    def last_run(self, kind: str) -> RunRecord | None:
        row = self._db.execute(
            "SELECT * FROM runs WHERE kind = ? ORDER BY rowid DESC LIMIT 1", (kind,)
        ).fetchone()
        if row is None:
            return None
        return RunRecord(
            kind=row[0],
            started=row[1],
            finished=row[2],
            mapping=row[3],
            digest=row[4],
            data=row[5],
            ok=bool(row[6]),
            summary=row[7],
        )

    def meta(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT key, value FROM meta").fetchall())

    def counts(self) -> dict[str, int]:
        """Resources recorded per type."""
        return dict(self._db.execute("SELECT type, COUNT(*) FROM resources GROUP BY type"))

    def server_id(self, resource_type: str, resource_id: str) -> str | None:
        row = self._db.execute(
            "SELECT server_id FROM resources WHERE type = ? AND id = ?",
            (resource_type, resource_id),
        ).fetchone()
        return row[0] if row else None

    def by_type(self) -> dict[str, list[LedgerEntry]]:
        """Every entry, grouped by resource type (for the audit against the server)."""
        grouped: dict[str, list[LedgerEntry]] = {}
        for entry in self.entries():
            grouped.setdefault(entry.type, []).append(entry)
        return grouped

    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM resources").fetchone()[0])

    # --- writing (only after the server confirmed) ---------------------------------------------

    def commit(self, upserts: Iterable[LedgerEntry], removals: Iterable[ResourceKey]) -> None:
        """Record one participant's confirmed changes atomically."""
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR REPLACE INTO resources VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (e.type, e.id, e.participant, e.content_hash, e.body, e.server_id, e.version)
                    for e in upserts
                ],
            )
            self._db.executemany("DELETE FROM resources WHERE type = ? AND id = ?", list(removals))

    def forget(self, keys: Iterable[ResourceKey]) -> None:
        """Drop entries the server turned out not to hold: they are sent again as new."""
        self.commit((), keys)

    def mark_stale(self, versions: Iterable[tuple[str, str, str]]) -> None:
        """Entries ``(type, id, server version)`` the server holds at another version than
        recorded (someone changed them): keep the server id, record the server's version,
        and clear the content hash so the next plan re-sends our content."""
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "UPDATE resources SET content_hash = '', version = ? WHERE type = ? AND id = ?",
                [(version, kind, rid) for kind, rid, version in versions],
            )
