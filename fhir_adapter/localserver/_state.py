"""The record of a server we started: one JSON file per port, and checks that a pid is ours.

A pid alone is not enough to stop a process safely (pids are reused), so the record also
holds the jar path and the kernel's start time of the process; ``is_our_process`` only
says yes when the live process is a ``java -jar <that jar>`` started at that time.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

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


def port_dir(state_dir: Path, port: int) -> Path:
    """The state directory of one port."""
    return state_dir / str(port)


def write_record(state_dir: Path, record: ServerRecord) -> Path:
    """Store ``record`` atomically; returns the file written."""
    target = port_dir(state_dir, record.port) / STATE_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    partial.write_text(json.dumps(asdict(record), indent=2))
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


def proc_start_ticks(pid: int) -> int | None:
    """Start time of ``pid`` in clock ticks since boot (Linux), None if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces or parentheses: split after its last ')'.
    fields = stat[stat.rfind(")") + 2 :].split()
    return int(fields[19])  # field 22 overall


def _cmdline(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def pid_alive(pid: int) -> bool:
    """True if a process with this pid exists (zombies count as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return state[state.rfind(")") + 2 :].split()[0] != "Z"


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
