"""The exception tree shared by every stage.

    FhirAdapterError
    ├── ConfigError                 bad flags, environment or local setup
    │   └── LocalServerError        the local HAPI server could not be built/started/stopped
    ├── MappingSpecError            a mapping file is invalid (file, line, key)
    ├── SourceDataError             a data row is invalid (file, row, column, rule)
    ├── FhirServerError             a FHIR server answered with an error (status, OperationOutcome)
    │   ├── TransientServerError    worth retrying (429, 500, 502, 503, 504, timeouts, network)
    │   └── TerminalServerError     retrying cannot help (4xx, unexpected answers)
    │       ├── NotFoundError               404: no such resource or endpoint
    │       ├── ResourceGoneError           410: the resource was deleted
    │       ├── ConflictError               409: version conflict or delete blocked by references
    │       ├── PreconditionFailedError     412: a conditional match found several resources
    │       ├── BadRequestError             400/422: the request or resource content was refused
    │       ├── AccessDeniedError           401/403: credentials missing, wrong or not allowed
    │       ├── UnsafeUrlError              a link or Location points outside the base URL
    │       ├── CertificateError            the server's TLS certificate is not trusted
    │       ├── UnsupportedServerError      the server is not FHIR R4 (4.0.x)
    │       └── ServerCapabilityError       it lacks what the command needs (transactions...)
    └── LedgerError                 the sync ledger is locked, corrupt or belongs to another run

``OutcomeIssue`` is one parsed OperationOutcome issue, as carried by ``FhirServerError.issues``.

Messages never contain cell values, names or identifiers that could be PHI: they say where
(file, row, column) and which rule, and what to do next.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


class FhirAdapterError(Exception):
    """Root of every error this package raises on purpose."""


class ConfigError(FhirAdapterError):
    """The configuration or the local environment is not usable."""


class LocalServerError(ConfigError):
    """The local HAPI FHIR server could not be built, started or stopped."""


class MappingSpecError(FhirAdapterError):
    """A mapping file is invalid; carries the file, line and key.

    ``others`` holds the further problems found in the same file, so that one run lists
    them all (``problems`` is this one followed by the others).
    """

    def __init__(
        self,
        message: str,
        *,
        file: str,
        line: int | None = None,
        key: str | None = None,
        others: Sequence[MappingSpecError] = (),
    ):
        self.file = file
        self.line = line
        self.key = key
        self.detail = message
        self.others = tuple(others)
        where = file + (f":{line}" if line is not None else "") + (f" [{key}]" if key else "")
        self.located = f"{where}: {message}"
        more = (
            f" (and {len(self.others)} more problem{'s' if len(self.others) > 1 else ''})"
            if self.others
            else ""
        )
        super().__init__(self.located + more)

    @property
    def problems(self) -> list[MappingSpecError]:
        return [self, *self.others]

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "key": self.key, "message": self.detail}


class SourceDataError(FhirAdapterError):
    """A data row breaks a rule; carries file, row, column and rule, never the value."""

    def __init__(
        self,
        message: str,
        *,
        file: str,
        row: int | None = None,
        column: str | None = None,
        rule: str = "invalid",
    ):
        self.file = file
        self.row = row
        self.column = column
        self.rule = rule
        self.detail = message
        where = (
            file
            + (f" row {row}" if row is not None else "")
            + (f" column '{column}'" if column else "")
        )
        super().__init__(f"{where}: {rule}: {message}")


@dataclass(frozen=True)
class OutcomeIssue:
    """One ``OperationOutcome.issue`` (https://hl7.org/fhir/R4/operationoutcome.html).

    ``diagnostics`` and ``details`` are server text that may echo submitted values: keep them
    out of logs and one-line messages unless the user asked for them.
    """

    severity: str
    code: str
    diagnostics: str | None = None
    details: str | None = None
    expression: tuple[str, ...] = ()
    location: tuple[str, ...] = ()

    @property
    def is_error(self) -> bool:
        """True for ``fatal`` and ``error`` issues (``warning``/``information`` are not)."""
        return self.severity in ("fatal", "error")


class FhirServerError(FhirAdapterError):
    """A FHIR server answered with an error, or could not be reached.

    Carries the HTTP ``status`` (None when no answer arrived), the ``method``, the URL
    ``path`` without its query string (queries can carry identifiers), the parsed
    OperationOutcome ``issues``, the HAPI message code (``"HAPI-0989"``) when one was found,
    and how many ``attempts`` were made. The message names the request, the status, the HAPI
    code and issue codes/locations, plus what to do next; never the issue diagnostics text.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        method: str | None = None,
        path: str | None = None,
        issues: Sequence[OutcomeIssue] = (),
        hapi_code: str | None = None,
        attempts: int = 1,
    ):
        self.detail = message
        self.status = status
        self.method = method
        self.path = path
        self.issues = tuple(issues)
        self.hapi_code = hapi_code
        self.attempts = attempts
        super().__init__(message)

    def __str__(self) -> str:
        parts = []
        if self.method and self.path:
            parts.append(f"{self.method} {self.path}")
        if self.status is not None:
            parts.append(f"answered {self.status}")
        if self.hapi_code:
            parts.append(f"[{self.hapi_code}]")
        head = " ".join(parts)
        text = f"{head}: {self.detail}" if head else self.detail
        where = [
            f"{i.severity}/{i.code}"
            + (
                f" at {', '.join(i.expression or i.location)}"
                if (i.expression or i.location)
                else ""
            )
            for i in self.issues
            if i.is_error
        ][:3]
        if where:
            text += f" (issues: {'; '.join(where)})"
        if self.attempts > 1:
            text += f" (after {self.attempts} attempts)"
        return text


class TransientServerError(FhirServerError):
    """An error that may go away on retry (429, 500, 502, 503, 504, timeouts, connection loss).

    ``retry_after`` is the server's ``Retry-After`` in seconds (uncapped), when it sent one.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, **context: Any):
        super().__init__(message, **context)
        self.retry_after = retry_after


class TerminalServerError(FhirServerError):
    """An error that retrying cannot fix (400, 401, 403, 404, 405, 409, 412, 422, ...)."""


class BadRequestError(TerminalServerError):
    """400 or 422: the server refused the request or resource content; fix the input."""


class AccessDeniedError(TerminalServerError):
    """401 or 403: the credentials are missing, wrong or lack permission."""


class NotFoundError(TerminalServerError):
    """404: the resource, type or endpoint does not exist on this server."""


class ConflictError(TerminalServerError):
    """409: a stale ``If-Match`` version, a delete blocked by references, or a racing write."""


class ResourceGoneError(TerminalServerError):
    """410: the resource existed and was deleted."""


class PreconditionFailedError(TerminalServerError):
    """412: a conditional create/update matched more than one resource."""


class UnsafeUrlError(TerminalServerError):
    """The server sent a link or Location outside the configured base URL, or a redirect.

    The client never follows such URLs: credentials would go to another origin.
    """


class CertificateError(TerminalServerError):
    """The server's TLS certificate failed verification: retrying cannot help, trusting the
    right certificate authority can (``--ca-bundle``)."""


class UnsupportedServerError(TerminalServerError):
    """The server's CapabilityStatement shows it is not a FHIR R4 (4.0.x) server."""


class ServerCapabilityError(TerminalServerError):
    """The server does not offer what the command needs (transactions, client-assigned ids or
    conditional update), as its CapabilityStatement says: a server problem, not local setup."""


class LedgerError(FhirAdapterError):
    """The sync ledger cannot be used (locked by another run, corrupt, wrong server/study)."""
