"""OperationOutcome bodies parsed into typed issues (https://hl7.org/fhir/R4/operationoutcome.html)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fhir_adapter.errors import OutcomeIssue

# HAPI prefixes its messages with a stable code, e.g. "HAPI-0989: Trying to update ...".
_HAPI_CODE = re.compile(r"\bHAPI-\d{4}\b")


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(item for item in value if isinstance(item, str))
    return ()


def parse_issues(body: Any) -> tuple[OutcomeIssue, ...]:
    """The issues of an OperationOutcome; () for anything that is not one."""
    if not isinstance(body, dict) or body.get("resourceType") != "OperationOutcome":
        return ()
    issues = []
    for raw in body.get("issue") or ():
        if not isinstance(raw, dict):
            continue
        details = raw.get("details")
        details_text = details.get("text") if isinstance(details, dict) else None
        diagnostics = raw.get("diagnostics")
        issues.append(
            OutcomeIssue(
                severity=str(raw.get("severity", "error")),
                code=str(raw.get("code", "unknown")),
                diagnostics=diagnostics if isinstance(diagnostics, str) else None,
                details=details_text if isinstance(details_text, str) else None,
                expression=_strings(raw.get("expression")),
                location=_strings(raw.get("location")),
            )
        )
    return tuple(issues)


def hapi_code(issues: Sequence[OutcomeIssue]) -> str | None:
    """The first HAPI message code (``"HAPI-0960"``) found in the issues' text, if any."""
    for issue in issues:
        for text in (issue.diagnostics, issue.details):
            match = _HAPI_CODE.search(text or "")
            if match:
                return match.group(0)
    return None


@dataclass(frozen=True)
class ValidationResult:
    """What ``$validate`` said about one resource.

    ``valid`` is True when no issue is ``fatal`` or ``error``; warnings and information do not
    make a resource invalid. ``status`` is the HTTP status (HAPI answers 200 whatever the result;
    other servers use 400/412/422).
    """

    status: int
    issues: tuple[OutcomeIssue, ...]

    @property
    def valid(self) -> bool:
        return not any(issue.is_error for issue in self.issues)

    @property
    def errors(self) -> tuple[OutcomeIssue, ...]:
        return tuple(issue for issue in self.issues if issue.is_error)

    @property
    def warnings(self) -> tuple[OutcomeIssue, ...]:
        return tuple(issue for issue in self.issues if issue.severity == "warning")
