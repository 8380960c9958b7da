"""`fhir-adapter view run` and `view check`: SQL-on-FHIR v2 ViewDefinitions over NDJSON.

A ViewDefinition is a declarative mapping from FHIR to a table, so an invalid view (or one
that does not fit the data, e.g. a column that gets several values) exits with code 3, the
code for an invalid mapping file; unreadable input exits 4; a bad --out extension exits 2.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from fhir_adapter.cli._errors import reports_errors
from fhir_adapter.views import FORMATS, load_view, output_format, run_view_to_file

view_argument = click.argument(
    "view_path",
    metavar="VIEW.json",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)


def _check_out(ctx: click.Context, param: click.Parameter, value: Path) -> Path:
    try:
        output_format(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    return value


@click.group("view")
def view() -> None:
    """Run SQL-on-FHIR v2 ViewDefinitions (e.g. mappings/views/*.json) over NDJSON files."""


@view.command("run")
@view_argument
@click.option(
    "--input",
    "input_path",
    required=True,
    type=click.Path(exists=True, path_type=Path),
    help="Folder of .ndjson files (one FHIR resource per line), e.g. OUT/ndjson "
    "from `fhir-adapter map`; or one .ndjson file.",
)
@click.option(
    "--out",
    "out_path",
    required=True,
    callback=_check_out,
    type=click.Path(dir_okay=False, path_type=Path),
    help=f"Output file; its extension picks the format ({', '.join(FORMATS)}).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@reports_errors
def run_command(view_path: Path, input_path: Path, out_path: Path, as_json: bool) -> None:
    """Run the view VIEW.json over NDJSON resources and write one table.

    \b
    Example:
      fhir-adapter map --mapping mappings/study_a.yaml --data examples/study_a --out out/a
      fhir-adapter view run mappings/views/observations.json --input out/a/ndjson \\
          --out out/a/observations.csv

    CSV cells that a spreadsheet would run as a formula (=, +, -, @, tab, CR) get a leading
    ' (see docs/views.md); NDJSON and Parquet hold the values unchanged.
    """
    definition = load_view(view_path)
    result = run_view_to_file(definition, input_path, out_path)
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
        return
    click.echo(
        f"{result.resources_read:,} {result.resource} resources → {result.rows:,} rows → "
        f"{result.output} ({result.format})"
    )


@view.command("check")
@view_argument
@reports_errors
def check_command(view_path: Path) -> None:
    """Validate VIEW.json (structure, FHIRPath syntax, constants) and list its columns."""
    definition = load_view(view_path)
    click.echo(f"{view_path}: valid view of {definition.resource}")
    for column in definition.columns:
        kind = column.type or "(untyped)"
        suffix = " (collection)" if column.collection else ""
        click.echo(f"  {column.name}: {kind}{suffix}")


COMMANDS = [view]
