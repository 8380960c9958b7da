"""`fhir-adapter pull`: read one study back from a FHIR server into NDJSON and tables.

Thin over ``fhir_adapter.pull``: options in, one summary out (a table, or ``--json``). The
progress display (counts per resource type, elapsed time) is drawn here on stderr.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from fhir_adapter.cli._errors import EXIT_OK, reports_errors
from fhir_adapter.cli._interrupts import stop_signals_interrupt
from fhir_adapter.cli._progress import stderr, stdout
from fhir_adapter.cli._server_options import make_client, pop_server_settings, server_options
from fhir_adapter.pull import (
    METHODS,
    TABLE_FORMATS,
    NoProgress,
    PullOptions,
    PullProgress,
    PullResult,
    StudyRef,
    pull_study,
    shipped_views_dir,
)


class _Display:
    """One line per resource type with its count, under a line naming the stage with the
    total so far; each with the elapsed time."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._stage = progress.add_task("pull", total=None)
        self._tasks: dict[str, TaskID] = {}
        self._lock = threading.Lock()

    def stage(self, text: str) -> None:
        self._progress.update(self._stage, description=escape(text))

    def fetched(self, resource_type: str, count: int) -> None:
        with self._lock:
            task = self._tasks.get(resource_type)
            if task is None:
                task = self._progress.add_task(f"  {resource_type}", total=None)
                self._tasks[resource_type] = task
        self._progress.advance(task, count)
        self._progress.advance(self._stage, count)  # the stage line counts all resources


@contextlib.contextmanager
def _display(enabled: bool) -> Iterator[PullProgress]:
    if not enabled or not sys.stderr.isatty():
        yield NoProgress()
        return
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed:,}"),
        TimeElapsedColumn(),
        console=stderr,
        transient=True,
    ) as progress:
        yield _Display(progress)


def _study(ctx: click.Context, param: click.Parameter, value: str) -> StudyRef:
    try:
        return StudyRef.parse(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


def print_pull(result: PullResult, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
        return
    table = Table(title=escape(f"pull ← {result.server} [{result.method}]"))
    table.add_column("resource type")
    table.add_column("resources", justify="right")
    for kind, count in result.counts.items():
        table.add_row(kind, f"{count:,}")
    table.add_row("[bold]total[/bold]", f"[bold]{sum(result.counts.values()):,}[/bold]")
    stdout.print(table)
    tables = ", ".join(f"{t.view} {t.rows:,}" for t in result.tables)
    stdout.print(f"tables (rows): {tables}", highlight=False)
    stdout.print(
        f"wrote {result.out}/ndjson and {result.out}/tables in "
        f"{result.elapsed:.1f} s"
        + (f"; {result.resumed_steps} steps resumed" if result.resumed_steps else ""),
        highlight=False,
    )
    if result.missing_products:
        stdout.print(
            f"[yellow]{result.missing_products} cell product reference(s) point to "
            "products the server does not hold[/yellow]"
        )


@click.command("pull")
@server_options
@click.option(
    "--study",
    "study",
    required=True,
    callback=_study,
    metavar="ID|SYSTEM|VALUE",
    help="The ResearchStudy: its id on the server, or its identifier as system|value.",
)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for ndjson/, tables/ and summary.json (created owner-only).",
)
@click.option(
    "--format",
    "table_format",
    type=click.Choice(TABLE_FORMATS),
    default="parquet",
    show_default=True,
    help="Format of the tables.",
)
@click.option(
    "--method",
    type=click.Choice(METHODS),
    default="auto",
    show_default=True,
    help="search; export (Bulk Data $export, if the server offers it); auto: "
    "export for studies of 1,000 participants or more when offered.",
)
@click.option(
    "--views",
    "views_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder of ViewDefinitions to run (default: mappings/views).",
)
@click.option(
    "--restart",
    is_flag=True,
    help="Discard an unfinished pull's progress in --out (or another study's pull) "
    "and start again.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--no-progress", is_flag=True, help="No progress display.")
@reports_errors
def pull_command(
    study: StudyRef,
    out: Path,
    table_format: str,
    method: str,
    views_dir: Path | None,
    restart: bool,
    as_json: bool,
    no_progress: bool,
    **server: Any,
) -> None:
    """Read one study back from a FHIR server: NDJSON per resource type and one table per
    view (participants, patients, observations, procedures, medications, adverse events,
    visits, products, conditions).

    \b
    Example:
      fhir-adapter pull --server http://127.0.0.1:8080/fhir \\
          --study 'urn:fhir-adapter:example:study|STUDY-A' --out out/pulled-a

    Read-only: nothing is written to the server. An interrupted pull goes on where it stopped
    when run again with the same --out. Exit codes: 0 done, 2 bad command line, 5 server
    unreachable or refusing, or no such study, 7 --out unusable, 130/143 interrupted.
    """
    settings = pop_server_settings(server)
    options = PullOptions(
        out=out,
        table_format=table_format,
        method=method,
        views_dir=views_dir or shipped_views_dir(),
        restart=restart,
    )
    with make_client(**settings) as client:
        try:
            with stop_signals_interrupt(), _display(not as_json and not no_progress) as shown:
                result = pull_study(client, study, options, shown)
        except KeyboardInterrupt as stop:
            click.echo(
                f"interrupted: finished steps are kept in {out}/.pull; run the same "
                "command again to go on",
                err=True,
            )
            raise SystemExit(128 + getattr(stop, "signum", 2)) from None
    print_pull(result, as_json)
    raise SystemExit(EXIT_OK)


COMMANDS = [pull_command]
