"""The last lines of a log file, for error messages."""

from __future__ import annotations

from collections import deque
from pathlib import Path


def tail(path: Path, lines: int = 30) -> str:
    """Last ``lines`` lines of ``path`` ('' if it cannot be read)."""
    try:
        with path.open(errors="replace") as handle:
            return "".join(deque(handle, maxlen=lines)).rstrip()
    except OSError:
        return ""
