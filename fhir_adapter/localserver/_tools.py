"""Find Java 17+ and Maven, and say how to install them when they are missing."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable

from fhir_adapter.errors import LocalServerError

MIN_JAVA = 17
_INSTALL_HINT = (
    "Install it, e.g. on Debian/Ubuntu: 'sudo apt-get install openjdk-17-jdk-headless maven' "
    "(macOS: 'brew install openjdk@17 maven'), then make sure it is on PATH."
)

Which = Callable[[str], str | None]
VersionProbe = Callable[[str], str]


def _java_version_output(java: str) -> str:
    done = subprocess.run(
        [java, "-version"], capture_output=True, text=True, timeout=60, check=False
    )
    return done.stderr + done.stdout  # java -version prints on stderr


def parse_java_major(version_output: str) -> int | None:
    """Major version from ``java -version`` output ("1.8.0_392" → 8, "17.0.15" → 17)."""
    match = re.search(r'version "(\d+)(?:\.(\d+))?', version_output)
    if not match:
        return None
    major = int(match.group(1))
    if major == 1 and match.group(2):  # legacy "1.x" numbering
        return int(match.group(2))
    return major


def find_java(which: Which = shutil.which, probe: VersionProbe = _java_version_output) -> str:
    """Path of a ``java`` of at least version 17, or LocalServerError saying how to get one."""
    java = which("java")
    if java is None:
        raise LocalServerError(
            f"Java {MIN_JAVA}+ is needed to run the HAPI server but 'java' "
            f"was not found. {_INSTALL_HINT}"
        )
    major = parse_java_major(probe(java))
    if major is None or major < MIN_JAVA:
        found = "an unknown version" if major is None else f"Java {major}"
        raise LocalServerError(
            f"Java {MIN_JAVA}+ is needed to run the HAPI server, found "
            f"{found} at {java}. {_INSTALL_HINT}"
        )
    return java


def find_maven(which: Which = shutil.which) -> str:
    """Path of ``mvn``, or LocalServerError saying how to get it."""
    mvn = which("mvn")
    if mvn is None:
        raise LocalServerError(
            "Maven ('mvn') is needed to build the HAPI server the first time "
            f"but was not found. {_INSTALL_HINT}"
        )
    return mvn
