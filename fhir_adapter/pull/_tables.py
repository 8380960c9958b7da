"""The pulled NDJSON → one table per shipped view (SQL-on-FHIR v2, ``fhir_adapter.views``).

Every ``*.json`` ViewDefinition of the views folder runs over the whole NDJSON folder and
writes ``<view file stem>.<format>``; a view whose type the study has none of still writes its
table (a header, no rows), so a pulled folder always has the same tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fhir_adapter.errors import ConfigError
from fhir_adapter.views import load_view, run_view_to_file

TABLE_FORMATS = ("parquet", "csv")


@dataclass(frozen=True)
class TableResult:
    view: str  # the view file's stem: the table's name
    resource: str
    rows: int
    file: Path


def view_files(views_dir: Path) -> list[Path]:
    if not views_dir.is_dir():
        raise ConfigError(
            f"{views_dir}: no views folder; pass --views with the folder of "
            "ViewDefinitions (mappings/views in the source tree)"
        )
    files = sorted(views_dir.glob("*.json"))
    if not files:
        raise ConfigError(f"{views_dir}: no *.json ViewDefinitions in the views folder")
    return files


def write_tables(
    views_dir: Path,
    ndjson_dir: Path,
    out_dir: Path,
    table_format: str,
) -> list[TableResult]:
    """Run every view of ``views_dir`` over ``ndjson_dir`` into ``out_dir``."""
    if table_format not in TABLE_FORMATS:
        raise ValueError(f"table format must be one of {', '.join(TABLE_FORMATS)}")
    results = []
    for file in view_files(views_dir):
        view = load_view(file)
        result = run_view_to_file(view, ndjson_dir, out_dir / f"{file.stem}.{table_format}")
        results.append(TableResult(file.stem, view.resource, result.rows, result.output))
    return results


def shipped_views_dir() -> Path:
    """``mappings/views`` of the source tree this package runs from."""
    return Path(__file__).resolve().parents[2] / "mappings" / "views"
