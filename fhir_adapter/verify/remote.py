"""``validate --server``: run every mapped resource through the server's ``$validate``."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from fhir_adapter.client import FhirClient, ValidationResult
from fhir_adapter.mapping.records import Origin
from fhir_adapter.pipeline import StudyRun
from fhir_adapter.profiles import RequiredProfiles
from fhir_adapter.sync.redact import redact_diagnostics


@dataclass(frozen=True)
class ValidationFinding:
    severity: str
    resource: str  # Type/id
    where: str  # source file and row
    location: str
    message: str
    profile: str | None = None  # the required profile it was validated against, if any


@dataclass
class ValidationReport:
    server: str
    resources: int = 0
    by_severity: Counter[str] = field(default_factory=Counter)
    findings: list[ValidationFinding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.by_severity["error"] == 0 and self.by_severity["fatal"] == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "ok": self.ok,
            "resources": self.resources,
            "by_severity": dict(sorted(self.by_severity.items())),
            "findings": [f.__dict__ for f in self.findings],
        }


def validate_on_server(
    mapping: StudyRun,
    client: FhirClient,
    *,
    concurrency: int = 4,
    keep: Callable[[str], bool] = lambda severity: severity in ("fatal", "error", "warning"),
    on_resource: Callable[[], None] | None = None,
    profiles: RequiredProfiles | None = None,
) -> ValidationReport:
    """Issues by severity for every resource; findings kept for severities ``keep`` accepts.

    A resource of a type ``profiles`` names is validated against each of its required
    profiles (which include the base resource's rules); others against the base alone."""
    report = ValidationReport(str(client.base))
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        batch: list[tuple[dict[str, Any], Origin | None, str | None]] = []

        def flush() -> None:
            results = pool.map(lambda item: client.validate(item[0], item[2]), batch)
            for (resource, origin, profile), result in zip(batch, results, strict=True):
                _record(report, resource, origin, result, keep, profile)
            batch.clear()

        for resource, origin in mapping.all_resources():
            required = profiles.for_type(resource["resourceType"]) if profiles else ()
            for profile in required or (None,):
                batch.append((resource, origin, profile))
            report.resources += 1
            if on_resource:
                on_resource()
            if len(batch) >= 64:
                flush()
        flush()
    return report


def _record(
    report: ValidationReport,
    resource: dict[str, Any],
    origin: Origin | None,
    result: ValidationResult,
    keep: Callable[[str], bool],
    profile: str | None,
) -> None:
    where = f"{origin.file} row {origin.row}" if origin else "study (mapping file)"
    for issue in result.issues:
        report.by_severity[issue.severity] += 1
        if keep(issue.severity):
            report.findings.append(
                ValidationFinding(
                    issue.severity,
                    f"{resource['resourceType']}/{resource['id']}",
                    where,
                    ", ".join(_element(p) for p in (issue.expression or issue.location)),
                    _shown(issue.diagnostics, resource),
                    profile,
                )
            )


# HAPI locates issues inside the $validate Parameters: "Parameters.parameter[0].resource/
# *Observation/obs-1*/.code" means Observation.code.
_WRAPPED = re.compile(r"^Parameters\.parameter\[\d+\]\.resource/\*([A-Za-z]+)/[^*]*\*/\.?")


def _element(location: str) -> str:
    """The FHIRPath of an issue within the resource, without HAPI's Parameters wrapper."""
    match = _WRAPPED.match(location)
    if not match:
        return location
    rest = location[match.end() :]
    return f"{match.group(1)}.{rest}" if rest else match.group(1)


def _shown(diagnostics: str | None, resource: dict[str, Any]) -> str:
    """Redacted diagnostics, keeping the code system URIs our own resources use (public
    terminology names such as http://loinc.org, not patient data)."""
    systems = sorted(_systems(resource), key=len, reverse=True)
    text = diagnostics or ""
    for number, system in enumerate(systems):
        text = text.replace(system, f"CODESYSTEM{number}X")
    text = redact_diagnostics(text)
    for number, system in enumerate(systems):
        text = text.replace(f"CODESYSTEM{number}X", system)
    return text


def _systems(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = (
            {node["system"]}
            if isinstance(node.get("system"), str) and node.get("code") is not None
            else set()
        )
        for value in node.values():
            found |= _systems(value)
        return found
    if isinstance(node, list):
        return set().union(*(_systems(item) for item in node)) if node else set()
    return set()
