"""`fhir-adapter sync` and `fhir-adapter verify`: keep a FHIR server in step with the source."""

from __future__ import annotations

import datetime as dt
import json
import shlex
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from fhir_adapter.cli._bad_rows import bad_row_options, policy
from fhir_adapter.cli._deid_options import deid_options, study_run
from fhir_adapter.cli._errors import EXIT_DIFFERENCE, EXIT_OK, EXIT_ROW_ERRORS, reports_errors
from fhir_adapter.cli._interrupts import stop_signals_interrupt
from fhir_adapter.cli._profile_options import prepare_profiles, profile_options
from fhir_adapter.cli._progress import row_progress, stderr, stdout
from fhir_adapter.cli._server_options import make_client, pop_server_settings, server_options
from fhir_adapter.cli.mapping import print_report
from fhir_adapter.deid import DeidentifiedStudy
from fhir_adapter.mapping.loader import load_mapping
from fhir_adapter.pipeline import StudyRun
from fhir_adapter.profiles import ProfileCheck
from fhir_adapter.sync import (
    Ledger,
    RemovalPolicy,
    SyncEngine,
    SyncInterruptedError,
    SyncOptions,
    SyncReport,
    WriteMode,
    default_ledger_path,
)
from fhir_adapter.sync.ledger import RunRecord
from fhir_adapter.sync.report import OUTCOMES
from fhir_adapter.verify import VerifyReport, verify_study

LEDGER_DIR = Path(".fhir-adapter") / "ledgers"
REJECTS_DIR = Path(".fhir-adapter") / "rejects"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


_ALWAYS_SHOWN = ("created", "updated", "unchanged", "failed")


def _mapping_options(func: Any) -> Any:
    func = click.option(
        "--data",
        "data_dir",
        required=True,
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        help="Folder holding the site export files.",
    )(func)
    return click.option(
        "--mapping",
        "mapping_path",
        required=True,
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="Mapping file (YAML).",
    )(func)


def _ledger_option(func: Any) -> Any:
    return click.option(
        "--ledger",
        "ledger_path",
        type=click.Path(dir_okay=False, path_type=Path),
        help=f"Ledger file (default: {LEDGER_DIR}/<study>@<host>-<port>-<hash>.sqlite). One per "
        "server and study; losing it costs only extra writes, never duplicates.",
    )(func)


def _open_ledger(path: Path | None, server_url: str, study_key: str) -> Ledger:
    path = path or default_ledger_path(LEDGER_DIR, server_url, study_key)
    return Ledger(path, server_url=server_url, study_key=study_key)


def print_sync(report: SyncReport, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
        return
    verb = "plan (dry run: nothing written)" if report.dry_run else "sync"
    table = Table(title=escape(f"{verb} → {report.server} [{report.write_mode}]"))
    table.add_column("resource type", overflow="fold")
    # Outcomes that never happened are left out, so the table fits 80 columns.
    shown = [o for o in OUTCOMES if o in _ALWAYS_SHOWN or report.total(o)]
    for outcome in shown:
        table.add_column(outcome, justify="right")
    for kind, counts in sorted(report.counts.items()):
        table.add_row(kind, *(f"{counts[o]:,}" if counts[o] else "·" for o in shown))
    table.add_row("[bold]total[/bold]", *(f"[bold]{report.total(o):,}[/bold]" for o in shown))
    stdout.print(table)
    stdout.print(
        f"participants: {report.participants_synced} synced, "
        f"{report.participants_unchanged} unchanged, {report.participants_failed} "
        f"failed, {report.participants_removed} removed from the source"
    )
    if report.dry_run:
        for planned in report.planned[:50]:
            actions = ", ".join(f"{n} to {a}" for a, n in sorted(planned.actions.items()))
            who = f"{planned.subject} ({planned.label})" if planned.subject else planned.label
            stdout.print(f"  {who}: {actions}", highlight=False)
        if len(report.planned) > 50:
            stdout.print(f"  ... and {len(report.planned) - 50} more participants (see --json)")
    for failure in report.failures[:30]:
        stderr.print(f"[red]refused[/red] {failure}", highlight=False)
    for note in report.notes:
        stderr.print(f"note: {note}", highlight=False)


@click.command("sync")
@_mapping_options
@server_options
@_ledger_option
@click.option(
    "--write-mode",
    type=click.Choice([m.value for m in WriteMode]),
    default="auto",
    show_default=True,
    help="client-ids: PUT Type/id with deterministic ids; conditional: PUT by business "
    "identifier (for servers that forbid client ids); auto: from the server's "
    "CapabilityStatement.",
)
@click.option(
    "--on-removed",
    type=click.Choice([p.value for p in RemovalPolicy]),
    default="keep",
    show_default=True,
    help="What to do on the server with rows or participants no longer in the source.",
)
@click.option("--dry-run", is_flag=True, help="Print the plan; write nothing.")
@bad_row_options(
    f"{REJECTS_DIR}/<study>/ (none with --dry-run or --deidentify)",
    strict_help="Stop at the first bad row or the first participant the server refuses.",
    extra_help=" Nothing of a participant with a bad row is removed from the server.",
)
@click.option(
    "--take-over",
    is_flag=True,
    help="Let this mapping own a study that another mapping file synced to this "
    "server (e.g. the site changed its export); without it, that is refused.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@deid_options
@profile_options
@reports_errors
def sync_command(
    mapping_path: Path,
    data_dir: Path,
    ledger_path: Path | None,
    write_mode: str,
    on_removed: str,
    dry_run: bool,
    on_bad_row: str,
    strict: bool,
    rejects_dir: Path | None,
    take_over: bool,
    as_json: bool,
    deid_profile: str | None,
    deid_key_file: Path | None,
    profile_dir: Path | None,
    required_profiles: tuple[str, ...],
    **server: Any,
) -> None:
    """Send the mapped study to a FHIR server: idempotent, incremental, one transaction per
    participant, resumable after a crash.

    Only what changed since the last confirmed sync is sent. Exit codes: 0 in sync,
    1 some rows rejected or participants refused, 3 invalid mapping, 4 bad source file,
    5 server unreachable or refusing, 6 ledger in use or unreadable, 130/143 interrupted by
    Ctrl-C/SIGTERM (what the server confirmed is recorded; run again to resume).
    """
    settings = pop_server_settings(server)
    if dry_run and profile_dir:
        raise click.UsageError(
            "--profile-dir stores profiles on the server and --dry-run writes nothing: load "
            "them first (validate --server ... --profile-dir DIR), then --require-profile"
        )
    loaded = load_mapping(mapping_path)
    if rejects_dir is None and not dry_run and deid_profile is None:
        rejects_dir = REJECTS_DIR / loaded.spec.study.key
    mapping = study_run(
        loaded,
        data_dir,
        deid_profile,
        deid_key_file,
        on_bad_row=policy(on_bad_row, strict),
        rejects_dir=rejects_dir,
        check_schedule=False,  # visits against the schedule: map and validate report them
    )
    # A de-identified push has its own ledger: its resources and ids are not the source's.
    study_key = loaded.spec.study.key
    if isinstance(mapping, DeidentifiedStudy):
        study_key += f"-deid-{mapping.deidentifier.key_fingerprint[:8]}"
    options = SyncOptions(
        write_mode=WriteMode(write_mode),
        removal=RemovalPolicy(on_removed),
        concurrency=settings["concurrency"],
        dry_run=dry_run,
        strict=strict,
    )
    with make_client(**settings) as client, ExitStack() as profile_check:
        client.capabilities()  # reach the server before creating a ledger for it
        profiles = prepare_profiles(client, profile_dir, required_profiles, quiet=as_json)
        gate = (
            profile_check.enter_context(
                ProfileCheck(client, profiles, settings["concurrency"])
            ).findings
            if profiles
            else None
        )
        with _open_ledger(ledger_path, settings["server_url"], study_key) as ledger:
            previous = ledger.claim_mapping(loaded.name, take_over=take_over, record=not dry_run)
            if previous and not as_json:
                stderr.print(
                    f"note: {loaded.name} takes this study over from {previous}", highlight=False
                )
            engine = SyncEngine(client, ledger, options, gate=gate)
            started = _now()
            try:
                with (
                    stop_signals_interrupt(),
                    row_progress("syncing", enabled=not as_json, unit="participants") as advance,
                ):
                    report = engine.run(mapping, on_participant=lambda: advance(1))
            except SyncInterruptedError as stop:
                print_sync(stop.report, as_json)
                stderr.print(f"[yellow]{stop}[/yellow]", highlight=False)
                raise SystemExit(128 + stop.signum) from None
            except KeyboardInterrupt as again:
                stderr.print(
                    "[yellow]interrupted again: the transactions in flight were "
                    "abandoned, everything confirmed before is in the ledger; run the "
                    "same command again to resume[/yellow]",
                    highlight=False,
                )
                raise SystemExit(128 + getattr(again, "signum", 2)) from None
            if not dry_run:
                ledger.record_run(
                    RunRecord(
                        "sync",
                        started,
                        _now(),
                        loaded.name,
                        loaded.digest,
                        str(data_dir),
                        report.ok,
                        f"{report.participants_synced} synced, "
                        f"{report.participants_failed} failed; {report.written} written",
                    )
                )
    if not as_json and (mapping.report.errors or mapping.report.rows_left_out):
        print_report(mapping.report, as_json=False, rejects_dir=rejects_dir)
    print_sync(report, as_json)
    raise SystemExit(EXIT_OK if report.ok else EXIT_ROW_ERRORS)


def print_verify(report: VerifyReport, as_json: bool, repair: str | None = None) -> None:
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
        return
    table = Table(title=f"verify ← {report.server}")
    for column in ("resource type", "mapped", "matching", "on server"):
        table.add_column(column, justify="left" if column == "resource type" else "right")
    for kind in sorted(report.checked):
        held = report.on_server.get(kind)
        table.add_row(
            kind,
            f"{report.checked[kind]:,}",
            f"{report.matching[kind]:,}",
            "n/a" if held is None else f"{held:,}",
        )
    stdout.print(table)
    for difference in report.differences[:50]:
        stderr.print(f"[red]difference[/red] {difference}", highlight=False)
    if len(report.differences) > 50:
        stderr.print(f"... and {len(report.differences) - 50} more (see --json)")
    if report.ok:
        stdout.print("server matches the source")
        return
    stdout.print(
        f"{len(report.differences)} difference(s). Values that could identify someone "
        "are shown as <masked>.",
        highlight=False,
    )
    if repair:
        stdout.print(f"To repair: {repair}", highlight=False, soft_wrap=True)


@click.command("verify")
@_mapping_options
@server_options
@_ledger_option
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@reports_errors
def verify_command(
    mapping_path: Path, data_dir: Path, ledger_path: Path | None, as_json: bool, **server: Any
) -> None:
    """Read the study back from the server and compare it with the mapped source: every
    resource present with the same content, no extra resources of the study.

    Exit codes: 0 identical, 8 differences found (listed with their source rows).
    """
    settings = pop_server_settings(server)
    loaded = load_mapping(mapping_path)
    mapping = StudyRun(loaded, data_dir)
    path = ledger_path or default_ledger_path(
        LEDGER_DIR, settings["server_url"], loaded.spec.study.key
    )
    with (
        make_client(**settings) as client,
        row_progress("reading the study back", enabled=not as_json, unit="") as _,
    ):
        if path.exists():
            with Ledger(
                path, server_url=settings["server_url"], study_key=loaded.spec.study.key
            ) as ledger:
                started = _now()
                report = verify_study(mapping, client, ledger)
                ledger.record_run(
                    RunRecord(
                        "verify",
                        started,
                        _now(),
                        loaded.name,
                        loaded.digest,
                        str(data_dir),
                        report.ok,
                        f"{sum(report.matching.values())} matching, "
                        f"{len(report.differences)} difference(s)",
                    )
                )
        else:
            report = verify_study(mapping, client, None)
    repair = (
        f"fhir-adapter sync --mapping {shlex.quote(str(mapping_path))} --data "
        f"{shlex.quote(str(data_dir))} --server {shlex.quote(settings['server_url'])}"
        + (f" --ledger {shlex.quote(str(path))}" if ledger_path else "")
        + " (it re-sends what is missing or different; extra copies must be removed on "
        "the server)"
    )
    print_verify(report, as_json, repair)
    raise SystemExit(EXIT_OK if report.ok else EXIT_DIFFERENCE)


COMMANDS = [sync_command, verify_command]
