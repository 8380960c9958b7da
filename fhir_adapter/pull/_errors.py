"""Errors of a pull, placed in the package's one exception tree (``fhir_adapter.errors``).

    FhirServerError
    └── TerminalServerError
        ├── NotFoundError
        │   └── StudyNotFoundError      no ResearchStudy with that id or identifier (exit 5)
        ├── AmbiguousStudyError         the identifier matches several ResearchStudies (exit 5)
        └── ExportFailedError           the server's $export job failed or expired (exit 5)
    ConfigError
    └── PullFolderError                 --out holds another pull or files a pull did not write
                                        (exit 7)

Messages never carry the study's identifier value or any resource content.
"""

from __future__ import annotations

from fhir_adapter.errors import ConfigError, NotFoundError, TerminalServerError


class StudyNotFoundError(NotFoundError):
    """The server holds no ResearchStudy with the given id or identifier."""


class AmbiguousStudyError(TerminalServerError):
    """The identifier matches more than one ResearchStudy: pull by id instead."""


class ExportFailedError(TerminalServerError):
    """The server's bulk ``$export`` job ended in an error, or its status URL expired."""


class PullFolderError(ConfigError):
    """The output folder cannot take this pull: it holds another study's or server's pull,
    files no pull wrote, or a progress file that cannot be read."""
