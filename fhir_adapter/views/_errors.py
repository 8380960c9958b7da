"""Errors of the view runner.

    MappingSpecError                (fhir_adapter.errors; CLI exit code 3)
    └── ViewDefinitionError         a ViewDefinition is invalid (file, JSON path)
        └── ViewEvaluationError     a valid view cannot be evaluated on a resource (file, line)

A ViewDefinition is a declarative mapping (FHIR → table), so its errors are mapping-file
errors to the CLI. Unreadable input (a missing folder, a line that is not JSON) is a
``SourceDataError`` (exit code 4), raised by ``_input``.

Messages name the view file, the JSON path inside it (``select[0].column[2].path``) and, for
evaluation errors, the NDJSON file and line; never a value from a resource (it may be PHI).
"""

from __future__ import annotations

from fhir_adapter.errors import MappingSpecError


class ViewDefinitionError(MappingSpecError):
    """A ViewDefinition is invalid; ``key`` is the JSON path of the offending element."""

    def __init__(self, message: str, *, file: str, key: str | None = None):
        super().__init__(message, file=file, key=key)


class ViewEvaluationError(ViewDefinitionError):
    """A view failed on one resource: a column got several values, a ``where`` was not boolean.

    ``location`` names the input (``Observation.ndjson:12``) when the runner knows it.
    """

    def __init__(
        self, message: str, *, file: str, key: str | None = None, location: str | None = None
    ):
        self.location = location
        self.bare_message = message
        text = f"{message} (input {location})" if location else message
        super().__init__(text, file=file, key=key)

    def at(self, location: str) -> ViewEvaluationError:
        """The same error, located at an input file and line."""
        return ViewEvaluationError(
            self.bare_message, file=self.file, key=self.key, location=location
        )
