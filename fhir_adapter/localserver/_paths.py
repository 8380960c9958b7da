"""Where the server sources, the jar cache and the per-port state live."""

from __future__ import annotations

from pathlib import Path

from fhir_adapter.errors import LocalServerError

JAR_NAME = "fhir-adapter-hapi-server.jar"


def default_cache_dir() -> Path:
    """Built jars, one directory per source hash; safe to delete (it is rebuilt)."""
    return Path.home() / ".cache" / "fhir-adapter" / "server"


def default_state_dir() -> Path:
    """Pid and log files of running servers, one directory per port."""
    return Path.home() / ".local" / "state" / "fhir-adapter" / "server"


def find_server_dir(server_dir: Path | None = None) -> Path:
    """The Maven project of the server: given, or ``server/`` next to the package in a checkout."""
    candidate = server_dir or Path(__file__).resolve().parents[2] / "server"
    if not (candidate / "pom.xml").is_file():
        raise LocalServerError(
            f"HAPI server sources not found at {candidate} (no pom.xml). The local server is "
            "built from a source checkout of fhir-adapter: run from the checkout or pass the "
            "path of its server/ directory."
        )
    return candidate
