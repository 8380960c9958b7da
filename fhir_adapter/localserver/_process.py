"""Spawn the server JVM and end it again.

Two ways to start: *attached* (tests): the JVM gets a Linux parent-death signal, so it
dies with the Python process even on SIGKILL or a crashed test run; *detached* (the CLI):
the JVM runs in its own session and outlives the command that started it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from fhir_adapter._private import private_dir, private_opener
from fhir_adapter._process_identity import pid_alive

_PR_SET_PDEATHSIG = 1
DEFAULT_JAVA_OPTIONS: tuple[str, ...] = (
    "-Xmx2g",  # in-memory H2 lives on the heap; 2 GB holds many thousands of resources
    "-XX:+UseSerialGC",  # fewer GC threads: the machines we target have two cores
    "-Djava.awt.headless=true",
)


def _die_with_parent(parent_pid: int) -> Callable[[], None]:
    """A preexec_fn asking the kernel to SIGKILL the child when its parent dies.

    SIGKILL, not SIGTERM: the JVM defers SIGTERM until Spring has finished starting
    (up to a minute or more), and a server whose owner is gone has nothing to save.
    """

    def set_pdeathsig() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # not Linux: finalizers must do the job
            return
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os._exit(1)

    return set_pdeathsig


def java_command(
    java: str, jar: Path, port: int, java_options: Sequence[str], app_args: Sequence[str] = ()
) -> list[str]:
    """The argv that runs the server jar on ``port`` (loopback only); ``app_args`` are
    Spring properties (``--name=value``, never secrets: ``ps`` shows them)."""
    return [
        java,
        *java_options,
        "-jar",
        str(jar),
        f"--server.port={port}",
        "--server.address=127.0.0.1",
        *app_args,
    ]


def spawn(
    argv: Sequence[str],
    *,
    log_path: Path,
    env: Mapping[str, str],
    detach: bool,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` with output appended to ``log_path``; see the module doc for ``detach``."""
    private_dir(log_path.parent)
    with open(log_path, "ab", opener=private_opener) as log:
        if detach:
            return subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(env),
                start_new_session=True,
                close_fds=True,
            )
        return subprocess.Popen(  # noqa: PLW1509 - preexec_fn only calls prctl, async-safe
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env),
            preexec_fn=_die_with_parent(os.getpid()),
            close_fds=True,
        )


def terminate(pid: int, *, grace_seconds: float = 20.0, poll: float = 0.2) -> None:
    """SIGTERM ``pid``, then SIGKILL if it is still alive after ``grace_seconds``.

    The caller must have checked that ``pid`` is ours.
    """
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline:
        _reap(pid)
        if not pid_alive(pid):
            return
        time.sleep(poll)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    for _ in range(50):
        _reap(pid)
        if not pid_alive(pid):
            return
        time.sleep(poll)


def _reap(pid: int) -> None:
    """Collect the exit status if ``pid`` is our child, so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)
