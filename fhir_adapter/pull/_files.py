"""Owner-only files written whole or not at all.

Everything a pull writes holds patient data, so folders are created 0700 and files 0600 (as
``map`` output is, see docs/security.md). A file is written under a temporary name in its
own folder and renamed into place when complete: a crash never leaves a half file under the
final name, so a resumed pull cannot mistake a partial download for a finished one.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from fhir_adapter.fhir.serialize import canonical_json


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) owner-only; an existing folder keeps its mode."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[IO[bytes]]:
    """A 0600 binary handle on a temporary file that becomes ``path`` when the block ends
    without an error (and is removed when it raises)."""
    private_dir(path.parent)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes(path: Path, data: bytes) -> None:
    with atomic_file(path) as handle:
        handle.write(data)


def write_json(path: Path, value: Any) -> None:
    write_bytes(path, (json.dumps(value, indent=2, sort_keys=True) + "\n").encode())


def write_ndjson(path: Path, resources: Iterable[dict[str, Any]]) -> int:
    """Write one resource per line (canonical JSON); how many were written."""
    count = 0
    with atomic_file(path) as handle:
        for resource in resources:
            handle.write(canonical_json(resource).encode() + b"\n")
            count += 1
    return count


def replace_dir(staged: Path, target: Path) -> None:
    """Put the finished folder ``staged`` in the place of ``target`` (removing the old one)."""
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
    elif target.exists() or target.is_symlink():
        target.unlink()
    staged.replace(target)
