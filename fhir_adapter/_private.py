"""Owner-only folders and files: the one place every file holding PHI is created.

Used for the ledger, ``map`` output and the local server's state and log (HAPI logs match
URLs carrying business identifiers): 0600 files in 0700 folders. Existing folders and files
are tightened too, not only new ones, since earlier versions wrote them world-readable.
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
