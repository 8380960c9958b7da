"""Exit codes and the translation of library errors into one-line CLI errors."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click

from fhir_adapter.deid import DeidentificationError
from fhir_adapter.errors import (
    ConfigError,
    FhirAdapterError,
    FhirServerError,
    LedgerError,
    MappingSpecError,
    SourceDataError,
)

# Documented in README.md ("Exit codes"); keep the two in step.
EXIT_OK = 0
EXIT_ROW_ERRORS = 1  # finished, but some rows/participants were rejected
EXIT_USAGE = 2  # bad command line (click's own code)
EXIT_MAPPING = 3  # the mapping file is invalid
EXIT_DATA = 4  # strict mode stopped at a bad row, or a source file is unreadable
EXIT_SERVER = 5  # the FHIR server refused or could not be reached
EXIT_LEDGER = 6  # the sync ledger is locked or unusable
EXIT_CONFIG = 7  # local setup (Java, Maven, ports, files) is not usable
EXIT_DIFFERENCE = 8  # verify found differences between source and server
EXIT_BUG = 70  # an unexpected error: a bug to report (sysexits' EX_SOFTWARE)
EXIT_SIGINT = 130  # interrupted by Ctrl-C (128 + SIGINT), as shells report it

_EXIT_FOR: tuple[tuple[type[FhirAdapterError], int], ...] = (
    (DeidentificationError, EXIT_MAPPING),  # the profile does not cover an element: fix it
    (MappingSpecError, EXIT_MAPPING),
    (SourceDataError, EXIT_DATA),
    (FhirServerError, EXIT_SERVER),
    (LedgerError, EXIT_LEDGER),
    (ConfigError, EXIT_CONFIG),
)

F = TypeVar("F", bound=Callable[..., Any])


def exit_code_for(error: FhirAdapterError) -> int:
    """The exit code of a library error by its class. Every error raised on purpose has a
    class of the tree (``errors``); a bare ``FhirAdapterError`` says nothing about what failed,
    so it is reported as a bug rather than blamed on local setup."""
    for kind, code in _EXIT_FOR:
        if isinstance(error, kind):
            return code
    return EXIT_BUG


def echo_error(error: FhirAdapterError) -> None:
    """'error: <message>' on stderr; every problem of a mapping file on a line of its own."""
    if isinstance(error, MappingSpecError) and error.others:
        for problem in error.problems:
            click.echo(f"error: {problem.located}", err=True)
        click.echo(f"{len(error.problems)} problems in the mapping file", err=True)
        return
    click.echo(f"error: {error}", err=True)


def reports_errors(func: F) -> F:
    """Turn a library error into 'error: <message>' on stderr and its exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except FhirAdapterError as error:
            echo_error(error)
            raise SystemExit(exit_code_for(error)) from None

    return wrapper  # type: ignore[return-value]


class ErrorReportingGroup(click.Group):
    """The root group: no traceback ever reaches the user.

    Library errors become "error: <message>" with their exit code; an operating-system error
    (a file that cannot be read or written) names the file and exits 7; Ctrl-C exits 130;
    anything else is a bug, reported in one line with exit 70, and shown in full with ``-v``.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            raise SystemExit(EXIT_SIGINT) from None
        except FhirAdapterError as error:
            echo_error(error)
            raise SystemExit(exit_code_for(error)) from None
        except OSError as error:
            if ctx.params.get("verbose"):
                raise
            where = f": {error.filename}" if error.filename else ""
            click.echo(f"error: {error.strerror or type(error).__name__}{where}", err=True)
            raise SystemExit(EXIT_CONFIG) from None
        except Exception as error:
            if ctx.params.get("verbose"):
                raise
            click.echo(
                f"internal error ({type(error).__name__}): this is a bug in "
                "fhir-adapter. Run the command again with -v to see the traceback, and "
                "report it (the traceback names code, not your data)",
                err=True,
            )
            raise SystemExit(EXIT_BUG) from None
