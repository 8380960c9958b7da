"""`fhir-adapter map` and `fhir-adapter validate`: site exports → FHIR R4 files / checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from fhir_adapter.cli._bad_rows import bad_row_lines, bad_row_options, policy, schedule_lines
from fhir_adapter.cli._deid_options import deid_options, study_run
from fhir_adapter.cli._errors import EXIT_MAPPING, EXIT_OK, EXIT_ROW_ERRORS, reports_errors
from fhir_adapter.cli._profile_options import prepare_profiles, profile_options
from fhir_adapter.cli._progress import row_progress, stderr, stdout
from fhir_adapter.cli._server_options import make_client, pop_server_settings, server_options
from fhir_adapter.errors import MappingSpecError
from fhir_adapter.fhir.keys import ResourceKey
from fhir_adapter.mapping.loader import load_mapping
from fhir_adapter.pipeline import MapReport, StudyRun
from fhir_adapter.pipeline.output import FORMATS, OutputWriter

_MAX_LISTED_ERRORS = 30

mapping_option = click.option(
    "--mapping",
    "mapping_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Mapping file (YAML) describing the export shape, e.g. mappings/study_a.yaml.",
)
data_option = click.option(
    "--data",
    "data_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder holding the site export files the mapping names.",
)
json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print a machine-readable JSON summary on stdout."
)


def print_report(report: MapReport, as_json: bool, rejects_dir: Path | None = None) -> None:
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
        return
    table = Table(title=f"{report.mapping} (mapping version {report.mapping_version})")
    table.add_column("resource type")
    table.add_column("count", justify="right")
    for kind, count in sorted(report.resources.items()):
        table.add_row(kind, f"{count:,}")
    table.add_row("[bold]total[/bold]", f"[bold]{sum(report.resources.values()):,}[/bold]")
    stdout.print(table)
    stdout.print(
        f"rows read {report.rows_read:,}; rows rejected {report.rows_rejected:,}; "
        f"participants mapped {report.participants_mapped:,}, "
        f"rejected {report.participants_rejected:,}"
    )
    for warning in report.warnings:
        stderr.print(f"[yellow]warning[/yellow] {escape(warning)}", highlight=False)
    for line in bad_row_lines(report, rejects_dir):
        stderr.print(escape(line), highlight=False)
    for line in schedule_lines(report):
        stderr.print(escape(line), highlight=False)
    for error in report.errors[:_MAX_LISTED_ERRORS]:
        stderr.print(f"[red]row error[/red] {error}", highlight=False, markup=True)
    if len(report.errors) > _MAX_LISTED_ERRORS:
        stderr.print(f"... and {len(report.errors) - _MAX_LISTED_ERRORS} more (see --json)")
    for problem in report.model_problems[:_MAX_LISTED_ERRORS]:
        stderr.print(f"[red]model problem[/red] {problem}", highlight=False)


def run_mapping(mapping: StudyRun, writer: OutputWriter | None, progress: bool) -> None:
    study = mapping.study_resources()
    if writer:
        writer.write_study(study)
    with row_progress("mapping", enabled=progress) as advance:
        for participant in mapping.participants(on_rows=advance):
            if writer:
                first = participant.origins.get(ResourceKey("Patient", participant.key))
                writer.write_participant(
                    participant.key,
                    participant.resources,
                    f"{first.file} row {first.row}" if first else "",
                )


@click.command("map")
@mapping_option
@click.option(
    "--data",
    "data_dir",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder holding the site export files the mapping names.",
)
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder: bundles/ (one transaction Bundle per participant plus "
    "study.json), ndjson/ (one file per resource type), index.csv (participant source key → "
    "bundle file) and summary.json. Created owner-only: it holds patient data.",
)
@click.option(
    "--format",
    "formats",
    type=click.Choice([*FORMATS, "both"]),
    default="both",
    show_default=True,
    help="What to write.",
)
@bad_row_options("OUT/rejects (none with --deidentify)")
@click.option(
    "--check-models",
    is_flag=True,
    help="Also validate every resource with the fhir.resources models (slower).",
)
@json_option
@click.option("--no-progress", is_flag=True, help="No progress display.")
@deid_options
@reports_errors
def map_command(
    mapping_path: Path,
    data_dir: Path,
    out_dir: Path,
    formats: str,
    on_bad_row: str,
    strict: bool,
    rejects_dir: Path | None,
    check_models: bool,
    as_json: bool,
    no_progress: bool,
    deid_profile: str | None,
    deid_key_file: Path | None,
) -> None:
    """Map a site export to FHIR R4 files, participant by participant.

    A bad row is left out with the rows that depend on it (--on-bad-row) and listed
    (file, row, column, rule, never the value); the rows not mapped go to OUT/rejects/.
    Exit codes: 0 all mapped, 1 some rows rejected, 3 invalid mapping file, 4 bad row
    under --on-bad-row stop, or an unreadable source file.
    """
    loaded = load_mapping(mapping_path)
    # De-identified output gets no index: it would be the table that re-identifies it.
    writer = OutputWriter(
        out_dir, FORMATS if formats == "both" else (formats,), index=deid_profile is None
    )
    try:
        mapping = study_run(
            loaded,
            data_dir,
            deid_profile,
            deid_key_file,
            on_bad_row=policy(on_bad_row, strict),
            # Rejects hold source cells: never inside a de-identified result.
            rejects_dir=rejects_dir or (None if deid_profile else writer.staging_dir / "rejects"),
            check_models=check_models,
        )
        run_mapping(mapping, writer, progress=not no_progress and not as_json)
    except BaseException:
        writer.abort()
        raise
    writer.commit(json.dumps(mapping.report.as_dict(), indent=2))
    shown_rejects = rejects_dir or (None if deid_profile else out_dir / "rejects")
    print_report(mapping.report, as_json, shown_rejects)
    if not as_json:
        wrote = ", ".join(f"{name}/" for name in writer.formats)
        index = "" if deid_profile else ", index.csv (participant → bundle)"
        shown = f" (de-identified: {deid_profile})" if deid_profile else ""
        stdout.print(f"wrote {out_dir}{shown}: {wrote}{index}, summary.json", highlight=False)
    raise SystemExit(EXIT_OK if mapping.report.ok else EXIT_ROW_ERRORS)


@click.command("validate")
@mapping_option
@data_option
@bad_row_options("none (validate writes no file unless asked)")
@click.option(
    "--check-models",
    is_flag=True,
    help="Also validate every resource with the fhir.resources models.",
)
@server_options(required=False)
@profile_options
@json_option
@reports_errors
def validate_command(
    mapping_path: Path,
    data_dir: Path | None,
    on_bad_row: str,
    strict: bool,
    rejects_dir: Path | None,
    check_models: bool,
    as_json: bool,
    profile_dir: Path | None,
    required_profiles: tuple[str, ...],
    **server: Any,
) -> None:
    """Check a mapping file, and with --data the export it describes, writing nothing.

    With --server, every mapped resource also goes through the server's $validate and the
    issues are reported by severity with their source rows; --require-profile validates
    the resources of a profile's type against it (--profile-dir first stores the profiles
    on the server: the only thing validate writes).
    Exit codes: 0 valid, 1 some rows rejected or $validate found errors, 3 invalid mapping
    file, 4 bad row under --on-bad-row stop or unreadable source file, 5 server unreachable.
    """
    settings = pop_server_settings(server)
    if (profile_dir or required_profiles) and not settings["server_url"]:
        raise click.UsageError("--profile-dir and --require-profile need --server")
    try:
        loaded = load_mapping(mapping_path)
    except MappingSpecError as error:
        if not as_json:
            raise
        click.echo(
            json.dumps(
                {
                    "mapping": mapping_path.name,
                    "valid": False,
                    "problems": [p.as_dict() for p in error.problems],
                },
                indent=2,
            )
        )
        raise SystemExit(EXIT_MAPPING) from None
    if data_dir is None:
        if settings["server_url"]:
            raise click.UsageError("--server needs --data: it validates the mapped resources")
        if as_json:
            click.echo(json.dumps({"mapping": loaded.name, "valid": True}))
        else:
            stdout.print(f"{loaded.path}: valid mapping (version {loaded.spec.mapping_version})")
        raise SystemExit(EXIT_OK)
    mapping = StudyRun(
        loaded,
        data_dir,
        on_bad_row=policy(on_bad_row, strict),
        rejects_dir=rejects_dir,
        check_models=check_models,
    )
    if not settings["server_url"]:
        run_mapping(mapping, None, progress=not as_json)
        print_report(mapping.report, as_json, rejects_dir)
        raise SystemExit(EXIT_OK if mapping.report.ok else EXIT_ROW_ERRORS)
    from fhir_adapter.verify import validate_on_server

    with make_client(**settings) as client:
        profiles = prepare_profiles(client, profile_dir, required_profiles, quiet=as_json)
        with row_progress(
            "validating on the server", enabled=not as_json, unit="resources"
        ) as advance:
            result = validate_on_server(
                mapping,
                client,
                concurrency=settings["concurrency"],
                on_resource=lambda: advance(1),
                profiles=profiles,
            )
    if as_json:
        click.echo(
            json.dumps(
                {"mapping": mapping.report.as_dict(), "validation": result.as_dict()}, indent=2
            )
        )
    else:
        print_report(mapping.report, as_json=False, rejects_dir=rejects_dir)
        counts = ", ".join(f"{n} {sev}" for sev, n in sorted(result.by_severity.items()))
        stdout.print(
            f"$validate on {result.server}: {result.resources:,} resources; "
            f"issues: {counts or 'none'}"
        )
        print_findings(result.findings)
    ok = mapping.report.ok and result.ok
    raise SystemExit(EXIT_OK if ok else EXIT_ROW_ERRORS)


_SEVERITY_ORDER = {"fatal": 0, "error": 1, "warning": 2, "information": 3}
_COLOURS = {"fatal": "red", "error": "red", "warning": "yellow", "information": "blue"}


def print_findings(findings: list[Any], groups: int = 15, rows: int = 3) -> None:
    """$validate findings grouped by severity and message, errors first, with counts and
    the first source rows of each group; the full list is in --json."""
    grouped: dict[tuple[str, str], list[Any]] = {}
    for finding in findings:
        against = f"(profile {finding.profile}) " if finding.profile else ""
        grouped.setdefault((finding.severity, against + finding.message), []).append(finding)
    ordered = sorted(
        grouped.items(),
        key=lambda item: (_SEVERITY_ORDER.get(item[0][0], 9), -len(item[1]), item[0][1]),
    )
    for (severity, message), members in ordered[:groups]:
        where = "; ".join(
            f"{m.where} ({m.location})" if m.location else m.where for m in members[:rows]
        )
        more = f" and {len(members) - rows} more" if len(members) > rows else ""
        colour = _COLOURS.get(severity, "white")
        stderr.print(
            f"[{colour}]{severity}[/{colour}] ×{len(members):,} {escape(message)}\n"
            f"    at {escape(where)}{more}",
            highlight=False,
        )
    if len(ordered) > groups:
        stderr.print(f"... and {len(ordered) - groups} more kinds of finding (see --json)")


@click.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of the mapping-file format (for editors and CI checks)."""
    from fhir_adapter.mapping.schema import mapping_json_schema

    click.echo(mapping_json_schema(), nl=False)


COMMANDS = [map_command, validate_command, schema_command]
