"""Build the server jar with Maven once per source version and cache it.

The cache key is a hash of ``pom.xml`` and everything under ``src/``, so editing the
server rebuilds it and nothing else does. Builds run in a private copy of the sources
(the checkout is never written to) under a file lock, and the jar is moved into place
only after Maven succeeded, so a cached jar is always complete.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from fhir_adapter.errors import LocalServerError
from fhir_adapter.localserver._logtail import tail
from fhir_adapter.localserver._paths import JAR_NAME, default_cache_dir, find_server_dir
from fhir_adapter.localserver._tools import find_maven

Progress = Callable[[str], None]
BUILD_TIMEOUT_SECONDS = 60 * 60  # a cold ~/.m2 downloads a few hundred MB
_HASH_DIR = re.compile(r"[0-9a-f]{16}")


def _source_files(server_dir: Path) -> list[Path]:
    files = [server_dir / "pom.xml"]
    src = server_dir / "src"
    if src.is_dir():
        files += sorted(p for p in src.rglob("*") if p.is_file())
    return files


def source_hash(server_dir: Path) -> str:
    """A short, stable hash of the server's pom.xml and sources (not of build output)."""
    digest = hashlib.sha256()
    for path in _source_files(server_dir):
        digest.update(path.relative_to(server_dir).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def cached_jar_path(server_dir: Path, cache_dir: Path) -> Path:
    """Where the jar for the current sources lives (it may not exist yet)."""
    return cache_dir / source_hash(server_dir) / JAR_NAME


def _jars_in_use() -> set[str]:
    """Arguments of all running processes that name one of our jars (Linux /proc)."""
    used: set[str] = set()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        used.update(a.decode(errors="replace") for a in args if a.endswith(JAR_NAME.encode()))
    return used


@contextmanager
def _locked(lock_file: Path) -> Iterator[None]:
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # another build of the same sources waits here
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_jar(
    *,
    server_dir: Path | None = None,
    cache_dir: Path | None = None,
    rebuild: bool = False,
    progress: Progress | None = None,
    maven: str | None = None,
) -> Path:
    """Return the path of a built server jar, building it with Maven if not cached.

    Raises LocalServerError if Maven is missing or the build fails (with the log tail).
    """
    server_dir = find_server_dir(server_dir)
    cache_dir = cache_dir or default_cache_dir()
    jar = cached_jar_path(server_dir, cache_dir)
    if jar.is_file() and not rebuild:
        return jar
    mvn = maven or find_maven()
    with _locked(jar.parent / ".build.lock"):
        if jar.is_file() and not rebuild:  # built by someone else while we waited
            return jar
        if progress:
            progress("Building the HAPI FHIR server with Maven (first time: a few minutes)")
        _build(server_dir, jar, mvn)
    prune_cache(cache_dir, keep=jar.parent)
    return jar


def prune_cache(cache_dir: Path, *, keep: Path) -> list[Path]:
    """Delete jars of other source versions (300 MB each); returns the directories removed.

    Directories with a build in progress, or whose jar a running process uses (Spring Boot
    opens nested jars lazily, so a running server needs its jar), are left alone.
    """
    in_use = _jars_in_use()
    removed = []
    for entry in cache_dir.iterdir():
        if (
            entry == keep
            or not entry.is_dir()
            or not _HASH_DIR.fullmatch(entry.name)
            or any(entry.glob("build-*"))
            or str(entry / JAR_NAME) in in_use
        ):
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
    return removed


def _build(server_dir: Path, jar: Path, mvn: str) -> None:
    log_path = jar.parent / "build.log"
    with tempfile.TemporaryDirectory(prefix="build-", dir=jar.parent) as work:
        project = Path(work) / "server"
        project.mkdir()
        shutil.copy2(server_dir / "pom.xml", project / "pom.xml")
        shutil.copytree(server_dir / "src", project / "src")
        with log_path.open("w") as log:
            try:
                done = subprocess.run(
                    [mvn, "-B", "-q", "package", "-DskipTests"],
                    cwd=project,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    timeout=BUILD_TIMEOUT_SECONDS,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                raise LocalServerError(
                    f"Maven build of the HAPI server took over {BUILD_TIMEOUT_SECONDS} s; "
                    f"see {log_path}"
                ) from None
        built = project / "target" / JAR_NAME
        if done.returncode != 0 or not built.is_file():
            raise LocalServerError(
                f"Maven build of the HAPI server failed (exit {done.returncode}); full log: "
                f"{log_path}\n{tail(log_path)}"
            )
        partial = jar.with_suffix(".partial")
        shutil.move(str(built), partial)
        os.replace(partial, jar)  # atomic: a jar in the cache is always complete
