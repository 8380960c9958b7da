"""Check resources against the required profiles with the server's ``$validate``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from fhir_adapter.client import FhirClient, OutcomeIssue
from fhir_adapter.profiles._server import RequiredProfiles
from fhir_adapter.sync.redact import redact_diagnostics

# HAPI locates issues inside the $validate Parameters ("Parameters.parameter[0].resource/
# *Observation/obs-1*/.category[0]"): keep the path within the resource.
_WRAPPED = re.compile(r"^Parameters\.parameter\[\d+\]\.resource/\*([A-Za-z]+)/[^*]*\*/\.?")
_LINE_COL = re.compile(r"^Line\[\d+\] Col\[\d+\]$")


@dataclass(frozen=True)
class ProfileFinding:
    """One error or fatal issue of one resource against one required profile.

    ``message`` is the server's diagnostics, redacted (validators quote the values they
    refuse); ``element`` and ``profile`` say what to fix."""

    resource: str  # Type/id
    profile: str
    element: str
    message: str

    def __str__(self) -> str:
        where = f"{self.resource} {self.element}" if self.element else self.resource
        return f"{where} does not conform to {self.profile}: {self.message}"


def _element(issue: OutcomeIssue) -> str:
    for location in (*(issue.expression or ()), *(issue.location or ())):
        if _LINE_COL.match(location):
            continue
        match = _WRAPPED.match(location)
        if not match:
            return location
        rest = location[match.end() :]
        return f"{match.group(1)}.{rest}" if rest else match.group(1)
    return ""


class ProfileCheck:
    """Validates resources of the profiled types against each required profile of their
    type, ``concurrency`` requests at a time; resources of other types are not checked.

    Use as a context manager (it owns a thread pool). Only ``fatal`` and ``error`` issues
    make a finding: warnings (a missing narrative, an unknown code system) do not refuse.
    """

    def __init__(self, client: FhirClient, required: RequiredProfiles, concurrency: int = 4):
        self.client = client
        self.required = required
        self._pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="prf")

    def __enter__(self) -> ProfileCheck:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def findings(self, resources: Sequence[dict[str, Any]]) -> list[ProfileFinding]:
        """What in ``resources`` breaks a required profile (empty: all conform)."""
        work = [
            (resource, url)
            for resource in resources
            for url in self.required.for_type(str(resource.get("resourceType")))
        ]
        results = self._pool.map(lambda item: self.client.validate(*item), work)
        found = []
        for (resource, url), result in zip(work, results, strict=True):
            for issue in result.errors:
                found.append(
                    ProfileFinding(
                        f"{resource['resourceType']}/{resource['id']}",
                        url,
                        _element(issue),
                        redact_diagnostics(issue.diagnostics or issue.code or ""),
                    )
                )
        return found
