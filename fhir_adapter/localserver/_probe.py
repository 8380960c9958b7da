"""Readiness and version probes: GET <base>/metadata must return a CapabilityStatement."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from fhir_adapter.errors import LocalServerError

_HEADERS = {"Accept": "application/fhir+json"}


def capability_statement(base_url: str, *, timeout: float = 5.0) -> dict[str, object] | None:
    """The server's CapabilityStatement as JSON, or None if it does not (yet) answer with one."""
    try:
        response = httpx.get(f"{base_url}/metadata", headers=_HEADERS, timeout=timeout)
        body = response.json() if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None
    if isinstance(body, dict) and body.get("resourceType") == "CapabilityStatement":
        return body
    return None


def software_version(statement: dict[str, object] | None) -> str | None:
    """``software.version`` of a CapabilityStatement (the HAPI version), if present."""
    software = statement.get("software") if statement else None
    version = software.get("version") if isinstance(software, dict) else None
    return version if isinstance(version, str) else None


def wait_until_ready(
    base_url: str,
    *,
    timeout: float,
    still_running: Callable[[], bool],
    describe_failure: Callable[[str], str],
    interval: float = 1.0,
) -> dict[str, object]:
    """Poll until the server answers; fail fast when the process dies.

    ``describe_failure(reason)`` turns a reason into the error message (adds the log tail).
    """
    deadline = time.monotonic() + timeout
    while True:
        if not still_running():
            reason = "the HAPI server process exited while starting"
            raise LocalServerError(describe_failure(reason))
        statement = capability_statement(base_url, timeout=10.0)  # first answer is slow
        if statement is not None:
            return statement
        if time.monotonic() >= deadline:
            raise LocalServerError(
                describe_failure(
                    f"the HAPI server did not answer {base_url}/metadata within {timeout:.0f} s "
                    "(raise --timeout on slow machines)"
                )
            )
        time.sleep(interval)
