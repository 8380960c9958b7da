"""Whether the process that wrote a record is still running: pid plus kernel start time.

A pid alone proves nothing (pids are reused), so a record names its process by pid, the
start time the kernel gives it (``/proc/<pid>/stat`` field 22, ticks since boot) and the
boot it belongs to. Used to stop only our own server JVM and to remove only the spills of
runs that are gone. Without ``/proc`` (not Linux) a live pid is trusted: the safe answer
when in doubt is "still running".
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path


def proc_start_ticks(pid: int) -> int | None:
    """Start time of ``pid`` in clock ticks since boot (Linux), None if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces or parentheses: split after its last ')'.
    fields = stat[stat.rfind(")") + 2 :].split()
    return int(fields[19])  # field 22 overall


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


def _boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None


def _pid_scope() -> str:
    """Where a pid means something: this host and pid namespace (containers have their own)."""
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = ""
    return f"{socket.gethostname()}/{namespace}"


@dataclass(frozen=True)
class ProcessIdentity:
    """One process for the life of the machine, as stored in a small JSON marker."""

    pid: int
    start_ticks: int | None
    boot_id: str | None
    scope: str  # host and pid namespace: outside it the pid cannot be checked

    @classmethod
    def current(cls) -> ProcessIdentity:
        pid = os.getpid()
        return cls(pid, proc_start_ticks(pid), _boot_id(), _pid_scope())

    @classmethod
    def from_dict(cls, data: object) -> ProcessIdentity | None:
        """Parse a stored identity; None for anything malformed."""
        if not isinstance(data, dict):
            return None
        pid, ticks, boot, scope = (data.get(k) for k in ("pid", "start_ticks", "boot_id", "scope"))
        if (
            not isinstance(pid, int)
            or isinstance(pid, bool)
            or pid <= 0
            or not (ticks is None or isinstance(ticks, int))
            or not (boot is None or isinstance(boot, str))
            or not isinstance(scope, str)
        ):
            return None
        return cls(pid, ticks, boot, scope)

    def to_dict(self) -> dict[str, object]:
        return {
            "pid": self.pid,
            "start_ticks": self.start_ticks,
            "boot_id": self.boot_id,
            "scope": self.scope,
        }

    def is_checkable(self) -> bool:
        """False when the process lives on another host or pid namespace: leave it alone."""
        return self.scope == _pid_scope()

    def is_running(self) -> bool:
        """True unless the process is provably gone (machine rebooted, pid free or reused)."""
        if self.boot_id is not None and (boot := _boot_id()) is not None and boot != self.boot_id:
            return False
        if not pid_alive(self.pid):
            return False
        if self.start_ticks is None:
            return True
        ticks = proc_start_ticks(self.pid)
        return ticks is None or ticks == self.start_ticks
