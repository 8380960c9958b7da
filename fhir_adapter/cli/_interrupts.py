"""Turn SIGTERM (and SIGHUP) into an interrupt the library can finish cleanly, like Ctrl-C.

Python raises ``KeyboardInterrupt`` for SIGINT only; a service manager or ``kill`` sends
SIGTERM, whose default kills the process mid-write. While a long command runs, both become
``Terminated`` (a ``KeyboardInterrupt`` carrying the signal number), so the sync records what
the server confirmed and the command exits 128 + signal number, as shells expect.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


class Terminated(KeyboardInterrupt):
    """The process was asked to stop by ``signum``."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise(signum: int, frame: FrameType | None) -> None:
    raise Terminated(signum)


@contextmanager
def stop_signals_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise ``Terminated`` (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.getsignal(signum) for signum in _SIGNALS}
    for signum, handler in previous.items():
        if handler not in (signal.SIG_IGN, None):
            signal.signal(signum, _raise)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            if handler is not None and signal.getsignal(signum) is _raise:
                signal.signal(signum, handler)
