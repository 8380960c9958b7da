"""`fhir-adapter report`: a study's trial report (HTML with figures) from its FHIR resources.

Thin over ``fhir_adapter.report``. The resources come from one of three places, and all go
the same way from there (NDJSON → views → tables → analysis → figures → HTML):
``--input`` a folder that ``pull`` or ``map`` wrote (or a folder of NDJSON files);
``--server``/``--study``: pulled first into an owner-only temporary folder;
``--mapping``/``--data``: mapped first into an owner-only temporary folder.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import click

from fhir_adapter.cli._errors import EXIT_OK, EXIT_ROW_ERRORS, reports_errors
from fhir_adapter.cli._server_options import make_client, pop_server_settings, server_options
from fhir_adapter.cli.mapping import run_mapping
from fhir_adapter.mapping.loader import load_mapping
from fhir_adapter.pipeline import StudyRun
from fhir_adapter.pipeline.output import OutputWriter
from fhir_adapter.pull import NoProgress, PullOptions, StudyRef, pull_study, shipped_views_dir
from fhir_adapter.report import AnalysisOptions
from fhir_adapter.report._write import ReportResult, write_report


def _study(ctx: click.Context, param: click.Parameter, value: str | None) -> StudyRef | None:
    if value is None:
        return None
    try:
        return StudyRef.parse(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


def _ndjson_of(folder: Path) -> Path:
    """A pull or map output folder holds its resources in ndjson/; else the folder itself."""
    return folder / "ndjson" if (folder / "ndjson").is_dir() else folder


def _one_source(server: str | None, input_dir: Path | None, mapping: Path | None) -> None:
    given = [
        name
        for name, value in (("--server", server), ("--input", input_dir), ("--mapping", mapping))
        if value is not None
    ]
    if len(given) != 1:
        raise click.UsageError(
            "give exactly one source: --server URL --study ID, --input DIR, or "
            f"--mapping FILE --data DIR (given: {', '.join(given) or 'none'})"
        )


@click.command("report")
@server_options(required=False)
@click.option(
    "--study",
    callback=_study,
    metavar="ID|SYSTEM|VALUE",
    help="With --server: the ResearchStudy's id, or its identifier as system|value.",
)
@click.option(
    "--input",
    "input_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A folder that `pull` or `map` wrote (its ndjson/ is read), or a folder of NDJSON.",
)
@click.option(
    "--mapping",
    "mapping_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Map this mapping over --data first (into a temporary owner-only folder).",
)
@click.option(
    "--data",
    "data_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="With --mapping: the folder of the site export files.",
)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The HTML file to write; the figures (PNG and SVG) go to OUT_files/ beside it.",
)
@click.option(
    "--views",
    "views_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder of the ViewDefinitions (default: mappings/views).",
)
@click.option("--baseline-visit", help="Visit code of baseline (default: the earliest visit).")
@click.option(
    "--response-visit",
    help="Visit code at which response is compared (default: nearest 6 months after baseline).",
)
@click.option(
    "--synthetic/--not-synthetic",
    default=None,
    help="Label the report SYNTHETIC DATA, or not (default: when the study's title or "
    "description says 'synthetic').",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@reports_errors
def report_command(
    study: StudyRef | None,
    input_dir: Path | None,
    mapping_path: Path | None,
    data_dir: Path | None,
    out: Path,
    views_dir: Path | None,
    baseline_visit: str | None,
    response_visit: str | None,
    synthetic: bool | None,
    as_json: bool,
    **server: Any,
) -> None:
    """Write a study's trial report: HbA1c and C-peptide over time by arm, change from
    baseline, response by subgroup and arm, medication changes, adverse events and visit
    completeness, each figure with its method.

    \b
    Examples:
      fhir-adapter report --input out/pulled-a --out out/report-a.html
      fhir-adapter report --mapping mappings/study_a.yaml --data examples/study_a \\
          --out out/report-a.html
      fhir-adapter report --server http://127.0.0.1:8080/fhir \\
          --study 'urn:fhir-adapter:example:study|STUDY-A' --out out/report-a.html

    Exit codes: 0 written, 1 written but the mapping rejected rows (left out of the
    report), 2 bad command line, 3 invalid mapping or view, 4 unreadable source or NDJSON,
    5 server unreachable or no such study, 7 no views folder or an unusable study (no
    results with a visit).
    """
    settings = pop_server_settings(server)
    _one_source(settings["server_url"], input_dir, mapping_path)
    if (study is None) != (settings["server_url"] is None):
        raise click.UsageError("--server and --study go together")
    if (data_dir is None) != (mapping_path is None):
        raise click.UsageError("--mapping and --data go together")
    views = views_dir or shipped_views_dir()
    options = AnalysisOptions(baseline_visit, response_visit, synthetic)
    rejected = 0
    if input_dir is not None:
        result = write_report(_ndjson_of(input_dir), views, out, options)
    else:
        with tempfile.TemporaryDirectory(prefix="fhir-adapter-report-") as tmp:  # 0700
            folder = Path(tmp)
            if mapping_path is not None and data_dir is not None:
                rejected = _map(mapping_path, data_dir, folder / "mapped")
                ndjson = folder / "mapped" / "ndjson"
            else:
                assert study is not None
                with make_client(**settings) as client:
                    pull_study(
                        client,
                        study,
                        PullOptions(out=folder / "pulled", views_dir=views),
                        NoProgress(),
                    )
                ndjson = folder / "pulled" / "ndjson"
            notes = (
                [f"the mapping rejected {rejected} row(s); they are not in this report"]
                if rejected
                else []
            )
            result = write_report(ndjson, views, out, options, notes)
    _print(result, as_json, rejected)
    raise SystemExit(EXIT_ROW_ERRORS if rejected else EXIT_OK)


def _map(mapping_path: Path, data_dir: Path, out: Path) -> int:
    """Map the source to NDJSON in ``out``; the number of rows rejected."""
    writer = OutputWriter(out, ("ndjson",), index=False)
    try:
        mapping = StudyRun(load_mapping(mapping_path), data_dir)
        run_mapping(mapping, writer, progress=False)
    except BaseException:
        writer.abort()
        raise
    writer.commit(json.dumps(mapping.report.as_dict()))
    return mapping.report.rows_rejected + mapping.report.rows_left_out


def _print(result: ReportResult, as_json: bool, rejected: int) -> None:
    if as_json:
        click.echo(json.dumps({**result.as_dict(), "rows_rejected": rejected}, indent=2))
        return
    arms = ", ".join(f"{arm} {n}" for arm, n in result.analysis.arm_sizes.items())
    label = " [SYNTHETIC DATA]" if result.analysis.synthetic else ""
    click.echo(f"{result.analysis.participants} participants ({arms}){label}")
    click.echo(f"wrote {result.html} and {len(result.figures)} figures in {result.folder}/")
    if rejected:
        click.echo(
            f"warning: the mapping rejected {rejected} row(s); see `fhir-adapter validate`",
            err=True,
        )


COMMANDS = [report_command]
