"""The exception tree shared by every stage.

    FhirAdapterError
    ├── ConfigError                 bad flags, environment or local setup
    │   └── LocalServerError        the local HAPI server could not be built/started/stopped
    ├── MappingSpecError            a mapping file is invalid (file, line, key)
    ├── SourceDataError             a data row is invalid (file, row, column, rule)
    ├── FhirServerError             a FHIR server answered with an error (status, OperationOutcome)
    │   ├── TransientServerError    worth retrying (429, 5xx, timeouts)
    │   └── TerminalServerError     retrying cannot help (4xx)
    └── LedgerError                 the sync ledger is locked, corrupt or belongs to another run

Messages never contain cell values, names or identifiers that could be PHI: they say where
(file, row, column) and which rule, and what to do next.
"""

from __future__ import annotations


class FhirAdapterError(Exception):
    """Root of every error this package raises on purpose."""


class ConfigError(FhirAdapterError):
    """The configuration or the local environment is not usable."""


class LocalServerError(ConfigError):
    """The local HAPI FHIR server could not be built, started or stopped."""


class MappingSpecError(FhirAdapterError):
    """A mapping file is invalid; carries the file, line and key."""

    def __init__(self, message: str, *, file: str, line: int | None = None, key: str | None = None):
        self.file = file
        self.line = line
        self.key = key
        where = file + (f":{line}" if line is not None else "") + (f" [{key}]" if key else "")
        super().__init__(f"{where}: {message}")


class SourceDataError(FhirAdapterError):
    """A data row breaks a rule; carries file, row, column and rule, never the value."""

    def __init__(
        self, message: str, *, file: str, row: int | None = None, column: str | None = None,
        rule: str = "invalid",
    ):
        self.file = file
        self.row = row
        self.column = column
        self.rule = rule
        self.detail = message
        where = file + (f" row {row}" if row is not None else "") + (
            f" column '{column}'" if column else "")
        super().__init__(f"{where}: {rule}: {message}")


class FhirServerError(FhirAdapterError):
    """A FHIR server answered with an error."""


class TransientServerError(FhirServerError):
    """An error that may go away on retry (429, 502, 503, 504, timeouts, connection loss)."""


class TerminalServerError(FhirServerError):
    """An error that retrying cannot fix (400, 401, 403, 404, 405, 409, 412, 422)."""


class LedgerError(FhirAdapterError):
    """The sync ledger cannot be used (locked by another run, corrupt, wrong server/study)."""
