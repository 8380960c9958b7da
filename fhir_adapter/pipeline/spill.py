"""A temporary on-disk store that regroups table rows by participant.

Site exports keep each kind of data in its own file, in no guaranteed order; a participant's
rows must be brought together to map (and later send) the participant atomically.

The spill holds raw source rows, that is PHI, so it lives no longer than its run: a private
folder (0700, files 0600) under the temp directory, removed on close, at interpreter exit,
and when SIGINT, SIGTERM or SIGHUP ends the process. A SIGKILL or power loss leaves it
behind; the owner marker inside (pid, process start time, boot, host and pid namespace) lets
the next run remove it once that process is provably gone. Live spills are never touched.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
import logging
import os
import shutil
import signal
import sqlite3
import tempfile
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import FrameType

from fhir_adapter._process_identity import ProcessIdentity
from fhir_adapter.sources.row import BadCell, SourceRow

log = logging.getLogger(__name__)

PREFIX = "fhir-adapter-spill-"
MARKER = "owner.json"  # without it a folder is not ours to remove
_DB = "rows.sqlite"
_BATCH = 5000


def _encode(values: dict[str, object], columns: list[str]) -> str:
    cells: list[object] = []
    for column in columns:
        value = values.get(column, "")
        if isinstance(value, (dt.datetime, dt.date)):
            # Excel date cells keep their type through the spill.
            day = value.date() if isinstance(value, dt.datetime) else value
            cells.append(["d", day.isoformat()])
        elif isinstance(value, BadCell):  # stays a row error for whoever reads the cell
            cells.append(["e", value.rule, value.message])
        else:
            cells.append(value)
    return json.dumps(cells, ensure_ascii=False, separators=(",", ":"))


def _decode(text: str, columns: list[str]) -> dict[str, object]:
    cells = json.loads(text)
    return {c: _decoded(v) for c, v in zip(columns, cells, strict=True)}


def _decoded(cell: object) -> object:
    if not isinstance(cell, list):
        return cell
    if cell[0] == "e":
        return BadCell(cell[1], cell[2])
    return dt.date.fromisoformat(cell[1])


class Spill:
    """Context manager around a temporary SQLite file of (subject, table, file, row, cells).

    ``directory`` is where the private spill folder is made (default: the temp directory);
    opening a spill first removes the spills that dead runs left there.
    """

    def __init__(self, directory: Path | None = None):
        parent = Path(directory) if directory is not None else Path(tempfile.gettempdir())
        remove_stale_spills(parent)
        self.path = _private_folder(parent)
        try:
            self._db = sqlite3.connect(_private_file(self.path / _DB), isolation_level=None)
            self._db.executescript(
                "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA temp_store=FILE;"
                "PRAGMA cache_size=-2048;"
                "CREATE TABLE rows (subject TEXT NOT NULL, tbl INTEGER NOT NULL,"
                " file TEXT NOT NULL, num INTEGER NOT NULL, cells TEXT NOT NULL);"
            )
        except BaseException:
            shutil.rmtree(self.path, ignore_errors=True)
            raise
        # Runs on close, on garbage collection and at interpreter exit, whichever comes first.
        self._finalizer = weakref.finalize(self, _remove, self._db, self.path, os.getpid())
        _guard.add(self.path, self._finalizer)
        self._tables: list[tuple[str, list[str]]] = []

    def __enter__(self) -> Spill:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Delete the spill folder (idempotent)."""
        self._finalizer()

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


# --- the private folder and its owner marker ----------------------------------------------


def _private_folder(parent: Path) -> Path:
    """A new 0700 folder holding the owner marker (written before any row, atomically)."""
    folder = Path(tempfile.mkdtemp(prefix=PREFIX, dir=parent))  # mkdtemp: 0700, never reused
    try:
        partial = _private_file(folder / f"{MARKER}.partial")
        partial.write_text(json.dumps(ProcessIdentity.current().to_dict()))
        os.replace(partial, folder / MARKER)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder


def _private_file(path: Path) -> Path:
    """Create ``path`` empty and 0600 (SQLite keeps the mode of an existing file)."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600))
    return path


def _remove(db: sqlite3.Connection, folder: Path, owner_pid: int) -> None:
    # Another thread may own the connection; the files go anyway (unlinking an open file
    # is fine on POSIX, and the kernel frees it when the last descriptor closes).
    if os.getpid() != owner_pid:
        return  # a forked child exiting: the spill is its parent's
    try:
        with contextlib.suppress(sqlite3.Error):
            db.close()
        shutil.rmtree(folder, ignore_errors=True)
    finally:
        _guard.discard(folder)


def _read_owner(folder: Path) -> ProcessIdentity | None:
    fd = os.open(folder / MARKER, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as handle:
        text = handle.read(4096)
    try:
        return ProcessIdentity.from_dict(json.loads(text))
    except ValueError:
        return None


def _is_abandoned(entry: os.DirEntry[str]) -> bool:
    """Ours (a real folder of this user with a valid marker) and its process is gone."""
    try:
        if not entry.is_dir(follow_symlinks=False):
            return False
        if entry.stat(follow_symlinks=False).st_uid != os.getuid():
            return False
        owner = _read_owner(Path(entry.path))
    except OSError:
        return False
    return owner is not None and owner.is_checkable() and not owner.is_running()


def remove_stale_spills(parent: Path) -> list[Path]:
    """Remove the spills in ``parent`` whose run ended without cleaning up; returns them.

    Only folders named ``fhir-adapter-spill-*`` that are real directories (not links), owned
    by this user and holding an owner marker are considered, and only when the marker names
    a process on this host and pid namespace that no longer runs (same pid but another start
    time counts as gone). Anything unclear stays.
    """
    try:
        entries = [e for e in os.scandir(parent) if e.name.startswith(PREFIX)]
    except OSError:
        return []
    removed = []
    for entry in entries:
        if _is_abandoned(entry):
            shutil.rmtree(entry.path, ignore_errors=True)  # fd-based: never follows links
            if not os.path.lexists(entry.path):
                removed.append(Path(entry.path))
    if removed:
        log.info("removed %d spill folder(s) left by runs that ended abruptly", len(removed))
    return removed


# --- signals ---------------------------------------------------------------------------------

_Handler = Callable[[int, FrameType | None], object] | int | signal.Handlers | None
_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


class _SignalGuard:
    """Removes every open spill when a signal ends the process.

    Installed from the main thread (the only one that may set handlers) while a spill is
    open, on top of whatever handler was there, and restored when the last spill closes
    unless someone installed another handler since. The previous handler decides: if it
    raises (Python's SIGINT handler raises KeyboardInterrupt), the spills go and the
    exception unwinds the stack; if it returns, the process carries on and so do its
    spills. In place of the default action (termination), ``SystemExit(128 + signal)`` is
    raised so context managers and ``finally`` blocks run; click lets SystemExit through,
    so the exit status is the shell's usual 143 for SIGTERM. An ignored signal stays ignored.
    """

    def __init__(self) -> None:
        self._open: dict[Path, Callable[[], object]] = {}  # spill folder → its remover
        self._previous: dict[int, _Handler] = {}
        self._installed: set[int] = set()

    def add(self, folder: Path, remove: Callable[[], object]) -> None:
        self._open[folder] = remove
        if threading.current_thread() is threading.main_thread():
            for signum in _SIGNALS:
                self._install(signum)

    def discard(self, folder: Path) -> None:
        self._open.pop(folder, None)
        if not self._open and threading.current_thread() is threading.main_thread():
            for signum in list(self._installed):
                if signal.getsignal(signum) is _on_signal:
                    signal.signal(signum, self._previous[signum])
                    self._installed.discard(signum)

    def _install(self, signum: int) -> None:
        if signum in self._installed:
            return  # still in the chain, under a handler installed after ours
        current = signal.getsignal(signum)
        if current is _on_signal:  # ours already, e.g. after a handler above us went away
            self._installed.add(signum)
            return
        if current is None or current == signal.SIG_IGN:
            return  # set outside Python (cannot chain to it), or deliberately ignored
        self._previous[signum] = current
        signal.signal(signum, _on_signal)
        self._installed.add(signum)

    def remove_open_spills(self) -> None:
        for remove in list(self._open.values()):
            remove()

    def chain(self, signum: int, frame: FrameType | None) -> None:
        previous = self._previous.get(signum, signal.SIG_DFL)
        try:
            if callable(previous):
                previous(signum, frame)
                return
            raise SystemExit(128 + signum)
        except BaseException:
            self.remove_open_spills()
            raise


_guard = _SignalGuard()


def _on_signal(signum: int, frame: FrameType | None) -> None:
    _guard.chain(signum, frame)
