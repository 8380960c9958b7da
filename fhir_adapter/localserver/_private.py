"""Owner-only folders and files for the server's state and log.

HAPI logs request URLs, and a conditional write's match URL carries a business identifier
(``Patient?identifier=...|A-001``), so the log is as private as the data: 0600 in 0700
folders. Existing folders and files are tightened too, not only new ones: logs written
before this rule were world-readable, and the 0700 state folder now hides them all.
"""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) and make it owner-only; returns it."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    os.chmod(path, PRIVATE_DIR_MODE)
    return path


def private_opener(path: str | os.PathLike[str], flags: int) -> int:
    """An ``open(..., opener=)`` that creates files 0600 and tightens existing ones."""
    fd = os.open(path, flags, PRIVATE_FILE_MODE)
    try:
        os.fchmod(fd, PRIVATE_FILE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd
