"""`fhir-adapter ehr-pull`: follow-up lab values of enrolled participants from a hospital's
FHIR server, as a long lab table a mapping reads.

Thin over ``fhir_adapter.ehr``: options in, one summary out (a table, or ``--json``), a
progress bar over the participants on stderr.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from fhir_adapter.cli._errors import EXIT_OK, EXIT_ROW_ERRORS, reports_errors
from fhir_adapter.cli._interrupts import stop_signals_interrupt
from fhir_adapter.cli._progress import count_progress, stdout
from fhir_adapter.cli._server_options import make_client, pop_server_settings, server_options
from fhir_adapter.ehr import (
    EhrPullOptions,
    LabTargetError,
    Visit,
    lab_targets,
    parse_visits,
    prepare_folder,
    pull_labs,
    read_mrns,
    write_outputs,
)
from fhir_adapter.mapping.loader import load_mapping

_SHOWN_PROBLEMS = 20


def _visits(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[Visit, ...]:
    if not value:
        return ()
    try:
        return parse_visits(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


def _units(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> dict[str, str]:
    units: dict[str, str] = {}
    for item in value:
        key, sep, unit = item.partition("=")
        if not sep or not key.strip() or not unit.strip():
            raise click.BadParameter(f"'{item}' is not ANALYTE=UCUM, e.g. hba1c=%")
        units[key.strip()] = unit.strip()
    return units


class _Progress:
    def __init__(self, advance: Any) -> None:
        self._advance = advance

    def participant_done(self, values: int) -> None:
        self._advance(1)


def _print(summary: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(summary, indent=2, sort_keys=True))
        return
    people, values = summary["participants"], summary["values"]
    table = Table(title="ehr-pull")
    table.add_column("analyte")
    table.add_column("unit")
    table.add_column("values", justify="right")
    for key, unit in summary["analytes"].items():
        table.add_row(key, escape(unit), f"{values['per_analyte'].get(key, 0):,}")
    stdout.print(table)
    stdout.print(
        f"from {summary['server']}, {summary['from']} to {summary['to']}; "
        f"participants: {people['listed']} listed, {people['found']} found, "
        f"{people['skipped']} skipped; values: {values['written']:,} written "
        f"({values['converted']:,} converted, {values['outside_windows']:,} outside every "
        f"visit window), {values['not_final']:,} not final, {values['duplicates']:,} "
        "same-day duplicates",
        highlight=False,
    )
    problems = summary["problems"]
    for problem in problems[:_SHOWN_PROBLEMS]:
        where = f"row {problem['row']}" if problem["row"] else "file"
        analyte = f" [{problem['analyte']}]" if problem.get("analyte") else ""
        text = f"{where}{analyte}: {problem['rule']}: {problem['message']}"
        stdout.print(f"[yellow]{escape(text)}[/yellow]")
    if len(problems) > _SHOWN_PROBLEMS:
        stdout.print(f"... {len(problems) - _SHOWN_PROBLEMS} more in problems.csv", highlight=False)
    names = ", ".join(Path(f).name for f in summary["files"])
    stdout.print(f"wrote {names} in {summary['out']}", highlight=False)


@click.command("ehr-pull")
@server_options
@click.option(
    "--mrns",
    "mrns",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV of the enrolled participants: subject,mrn[,mrn_system][,anchor_date]. "
    "Only these are ever looked up.",
)
@click.option(
    "--mrn-system",
    metavar="URI",
    help="Identifier system of the MRNs, for rows without mrn_system.",
)
@click.option(
    "--from",
    "start",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="First day of the range (YYYY-MM-DD), on the Observation's date.",
)
@click.option(
    "--to",
    "end",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Last day of the range (YYYY-MM-DD), included.",
)
@click.option(
    "--mapping",
    "mapping",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The study's mapping: its laboratory analytes, their units and codes.",
)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for ehr_labs.csv, mapping-snippet.yaml, problems.csv and summary.json "
    "(created owner-only: it holds patient data).",
)
@click.option(
    "--visits",
    "visits",
    callback=_visits,
    metavar="NAME:DAY[±WINDOW],...",
    help="Protocol visits as days after each participant's anchor date, e.g. "
    "'M12:365±30,M24:730±30' ('+-' works for '±'); needs the anchor column in --mrns.",
)
@click.option(
    "--anchor-column",
    default="anchor_date",
    show_default=True,
    help="Column of --mrns holding each participant's anchor date (with --visits).",
)
@click.option(
    "--unit",
    "units",
    multiple=True,
    callback=_units,
    metavar="ANALYTE=UCUM",
    help="Unit for an analyte the mapping gives no single unit for, e.g. hba1c=%.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--no-progress", is_flag=True, help="No progress display.")
@reports_errors
def ehr_pull_command(
    mrns: Path,
    mrn_system: str | None,
    start: dt.datetime,
    end: dt.datetime,
    mapping: Path,
    out: Path,
    visits: tuple[Visit, ...],
    anchor_column: str,
    units: dict[str, str],
    as_json: bool,
    no_progress: bool,
    **server: Any,
) -> None:
    """Read follow-up lab values (HbA1c, C-peptide, fasting glucose: the mapping's
    laboratory analytes) of the enrolled participants from a hospital's FHIR server into a
    lab table in the mapping's units, with the mapping section that reads it.

    \b
    Example:
      fhir-adapter ehr-pull --server https://ehr.example.org/fhir --auth smart ... \\
          --mrns mrns.csv --mrn-system urn:oid:1.2.3 --from 2024-01-01 --to 2024-12-31 \\
          --mapping mappings/study_a.yaml --out out/ehr-a --visits 'M24:730±30'

    Read-only, and only for the participants in --mrns: a Patient by MRN, then that
    Patient's Observations. Exit codes: 0 done; 1 done, but participants or values were
    left out (problems.csv); 2 bad command line; 3 mapping invalid; 4 --mrns unreadable;
    5 server unreachable or refusing; 7 --out unusable.
    """
    settings = pop_server_settings(server)
    loaded = load_mapping(mapping)
    try:
        targets = lab_targets(loaded.spec, units)
        options = EhrPullOptions(start.date(), end.date(), visits)
    except (LabTargetError, ValueError) as error:
        raise click.UsageError(str(error)) from None
    enrolled, problems = read_mrns(mrns, mrn_system, anchor_column if visits else None)
    folder = prepare_folder(out)
    listed = len(enrolled) + len(problems)
    shown = not as_json and not no_progress
    with (
        make_client(**settings) as client,
        stop_signals_interrupt(),
        count_progress("participants", len(enrolled), shown) as advance,
    ):
        result = pull_labs(
            client, enrolled, targets, options, listed=listed, progress=_Progress(advance)
        )
    result = dataclasses.replace(
        result, problems=sorted(problems + result.problems, key=lambda p: p.order)
    )
    summary = write_outputs(folder, result, loaded.name)
    _print(summary, as_json)
    raise SystemExit(EXIT_ROW_ERRORS if result.problems else EXIT_OK)


COMMANDS = [ehr_pull_command]
