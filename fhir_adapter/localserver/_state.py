"""The record of a server we started: one JSON file per port, and checks that a pid is ours.

A pid alone is not enough to stop a process safely (pids are reused), so the record also
holds the jar path and the kernel's start time of the process; ``is_our_process`` only
says yes when the live process is a ``java -jar <that jar>`` started at that time.

The state directory and each port's directory are owner-only (0700), records and logs 0600:
the server log holds request URLs, and match URLs carry business identifiers.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from dataclasses import asdict, dataclass
from pathlib import Path

from fhir_adapter._private import PRIVATE_FILE_MODE, private_dir, private_opener
from fhir_adapter._process_identity import pid_alive, proc_start_ticks

STATE_FILE = "server.json"
LOG_FILE = "server.log"


@dataclass(frozen=True)
class ServerRecord:
    """What we know about a server we started on ``port``."""

    pid: int
    port: int
    url: str
    jar: str
    log: str
    started_at: float  # epoch seconds
    proc_start_ticks: int | None  # /proc/<pid>/stat field 22; None where /proc is absent
    database: str  # redacted JDBC URL
    secure: bool = False  # SMART Backend Services authorization server and protected /fhir


def port_dir(state_dir: Path, port: int) -> Path:
    """The state directory of one port."""
    return state_dir / str(port)


def private_port_dir(state_dir: Path, port: int) -> Path:
    """``port_dir``, created or tightened to owner-only with ``state_dir`` and its files."""
    private_dir(state_dir)
    directory = private_dir(port_dir(state_dir, port))
    for name in (STATE_FILE, LOG_FILE):
        with contextlib.suppress(FileNotFoundError):
            if stat.S_ISREG((directory / name).lstat().st_mode):
                os.chmod(directory / name, PRIVATE_FILE_MODE)
    return directory


def write_record(state_dir: Path, record: ServerRecord) -> Path:
    """Store ``record`` atomically and owner-only; returns the file written."""
    target = private_port_dir(state_dir, record.port) / STATE_FILE
    partial = target.with_suffix(".partial")
    with open(partial, "w", opener=private_opener) as handle:
        handle.write(json.dumps(asdict(record), indent=2))
    os.replace(partial, target)
    return target


def read_record(state_dir: Path, port: int) -> ServerRecord | None:
    """The stored record for ``port``, or None if absent or unreadable."""
    path = port_dir(state_dir, port) / STATE_FILE
    try:
        return ServerRecord(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def remove_record(state_dir: Path, port: int) -> None:
    """Forget the server on ``port`` (the log file is kept for inspection)."""
    (port_dir(state_dir, port) / STATE_FILE).unlink(missing_ok=True)


def _cmdline(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def is_our_process(record: ServerRecord) -> bool:
    """True only if ``record.pid`` is alive and still the java process we started."""
    if not pid_alive(record.pid):
        return False
    argv = _cmdline(record.pid)
    if argv is None:  # no /proc (not Linux): the pid is alive, trust the record
        return True
    if not argv or not Path(argv[0]).name.startswith("java") or record.jar not in argv:
        return False
    if record.proc_start_ticks is not None:
        return proc_start_ticks(record.pid) == record.proc_start_ticks
    return True
