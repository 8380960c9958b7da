"""`fhir-adapter init`: draft a mapping file from an export's files alone."""

from __future__ import annotations

import os
from pathlib import Path

import click

from fhir_adapter.cli._errors import reports_errors
from fhir_adapter.errors import ConfigError


@click.command("init")
@click.option(
    "--data",
    "data_dir",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder holding the site export (.csv, .tsv, .txt, .xlsx files).",
)
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the draft here (default: print it). Put it where its code catalogue can be "
    "included from: a codes/ folder beside it is used first, e.g. --out mappings/x.yaml.",
)
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
@reports_errors
def init_command(data_dir: Path, out_path: Path | None, force: bool) -> None:
    """Draft a mapping file from the export files alone, for you to finish.

    \b
    Read from the files: delimiter, encoding (UTF-8, UTF-8 with BOM, else Windows-1252,
    said in a comment), decimal comma, date order, Excel sheets; which table holds the
    participants and which column is the subject id in each table; the column for each
    field from its header and cells; wide or long observations with analytes and units
    matched to the code catalogue; code maps listing the values found; a REDCap raw
    export with its data dictionary as one table per instrument.

    \b
    Left as TODO, with the choices in a comment: what only the study can say (key, title,
    arm names, statuses, brand names and other codes without a certain match, a date order
    no cell decides). validate refuses the draft while a TODO is left, then checks the data:
      fhir-adapter init --data examples/study_a --out mappings/draft_a.yaml
      fhir-adapter validate --mapping mappings/draft_a.yaml              # lists every TODO
      fhir-adapter validate --mapping mappings/draft_a.yaml --data examples/study_a

    No identifier, date, number or free text from a cell is written into the draft: only
    the values of code columns (few and short), in code maps.
    Exit codes: 0 drafted, 4 an export file is unreadable, 7 --out exists (use --force).
    """
    from fhir_adapter.drafting import draft_mapping

    if out_path is not None and out_path.exists() and not force:
        raise ConfigError(f"{out_path} exists: choose another --out, or add --force to replace it")
    draft = draft_mapping(data_dir, out_path)
    if out_path is None:
        click.echo(draft.text, nl=False)
    else:
        _write(out_path, draft.text)
    where = out_path if out_path is not None else "THE_DRAFT"
    click.echo(
        f"drafted {draft.tables} tables; {draft.todos} TODO values to fill in, then: "
        f"fhir-adapter validate --mapping {where} --data {data_dir}",
        err=True,
    )


def _write(path: Path, text: str) -> None:
    """Write whole or not at all: a temporary file beside the target, then a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


COMMANDS = [init_command]
