"""One view run: NDJSON input → rows → output file, with counts for the caller to report."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from fhir_adapter.views._definition import ViewDefinition
from fhir_adapter.views._errors import ViewEvaluationError
from fhir_adapter.views._input import read_ndjson
from fhir_adapter.views._output import write_rows
from fhir_adapter.views._runner import Row, rows_for


@dataclass(frozen=True)
class ViewRunResult:
    view: str
    resource: str
    resources_read: int  # resources of the view's type
    rows: int
    output: Path
    format: str

    def as_dict(self) -> dict[str, object]:
        return {
            "view": self.view,
            "resource": self.resource,
            "resources_read": self.resources_read,
            "rows": self.rows,
            "output": str(self.output),
            "format": self.format,
        }


def run_view_to_file(view: ViewDefinition, source: Path, out: Path) -> ViewRunResult:
    """Run ``view`` over the NDJSON in ``source`` and write the table to ``out``.

    Streams: one resource in memory at a time (plus one Parquet batch). An evaluation error
    names the input file and line; the output file is then not created.
    """
    counter = [0]

    def rows() -> Iterator[Row]:
        for item in read_ndjson(source, view.resource):
            counter[0] += 1
            try:
                yield from rows_for(view, item.resource)
            except ViewEvaluationError as error:
                raise error.at(item.location) from None

    written = write_rows(view, rows(), out)
    return ViewRunResult(
        view=view.file,
        resource=view.resource,
        resources_read=counter[0],
        rows=written.rows,
        output=written.path,
        format=written.format,
    )
