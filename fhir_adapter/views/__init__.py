"""SQL-on-FHIR v2 views: run a ViewDefinition over FHIR resources and write the table.

What it does: load and validate a ViewDefinition (``load_view``), evaluate it over resources
with FHIRPath from fhirpathpy (``run_view``; NDJSON folders streamed line by line with
``read_ndjson``), and write the rows as CSV, Parquet or NDJSON (``write_rows``), the format
chosen by the output file's extension. ``run_view_to_file`` does all three. Specification:
https://sql-on-fhir.org/ig/ ; the official test suite runs in tests/unit/views/.

What it must not do: talk to a FHIR server (``pull`` fetches, then runs views here), change
the resources it reads, or put resource content in errors and logs (errors name the view
file, the JSON path in it and the input file and line, never a value).

Modules: ``_definition`` (ViewDefinition → typed objects) → ``_fhirpath`` (the only module
that touches fhirpathpy) → ``_runner`` (rows) ; ``_input`` (NDJSON) ; ``_output`` (writers).
"""

from fhir_adapter.views._definition import Column, Select, ViewDefinition, load_view, parse_view
from fhir_adapter.views._errors import ViewDefinitionError, ViewEvaluationError
from fhir_adapter.views._input import InputResource, read_ndjson
from fhir_adapter.views._job import ViewRunResult, run_view_to_file
from fhir_adapter.views._output import FORMATS, WriteResult, output_format, write_rows
from fhir_adapter.views._runner import Row, rows_for, run_view

__all__ = [
    "FORMATS",
    "Column",
    "InputResource",
    "Row",
    "Select",
    "ViewDefinition",
    "ViewDefinitionError",
    "ViewEvaluationError",
    "ViewRunResult",
    "WriteResult",
    "load_view",
    "output_format",
    "parse_view",
    "read_ndjson",
    "rows_for",
    "run_view",
    "run_view_to_file",
    "write_rows",
]
