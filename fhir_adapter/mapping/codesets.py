"""The values each coded field may produce, checked on every row a code map does not cover.

A code map's targets and a constant are checked when the mapping is loaded (``checks``). A
cell read without a map, or an expression's result, is only known row by row: written as it
is, a site's 'X' would become ``Patient.gender = X`` (invalid FHIR that a server may drop or
refuse) and an unknown drug key would fail inside the builder. So such a reader is wrapped
here and an unknown value is a ``code`` row error.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from fhir_adapter.mapping import fields as F
from fhir_adapter.mapping.spec import Column, MappingSpec

SEX = {"male", "female", "other", "unknown"}  # R4 administrative-gender
SUBJECT_STATUS = {
    "candidate",
    "eligible",
    "follow-up",
    "ineligible",
    "not-registered",
    "off-study",
    "on-study",
    "on-study-intervention",
    "on-study-observation",
    "pending-on-study",
    "potential-candidate",
    "screening",
    "withdrawn",
}  # R4 research-subject-status (CODES.md §9)
SEVERITY = {"mild", "moderate", "severe"}
SERIOUSNESS = {"serious", "non-serious"}
AE_OUTCOME = {"resolved", "recovering", "ongoing", "resolvedWithSequelae", "fatal", "unknown"}


@dataclass(frozen=True)
class CodeSet:
    allowed: Collection[str]
    what: str


def code_sets(spec: MappingSpec) -> dict[tuple[str, str], CodeSet]:
    """(section model name, field) → the values the field may produce."""
    codes = spec.codes
    return {
        ("Participants", "sex"): CodeSet(SEX, "administrative gender"),
        ("Participants", "status"): CodeSet(SUBJECT_STATUS, "ResearchSubject status"),
        ("Participants", "end_reason"): CodeSet(
            codes.end_reasons, "end reason (codes.end_reasons)"
        ),
        ("LongObservations", "analyte"): CodeSet(codes.analytes, "analyte (codes.analytes)"),
        ("Procedures", "kind"): CodeSet(codes.procedures, "procedure (codes.procedures)"),
        ("Procedures", "route"): CodeSet(codes.routes, "route (codes.routes)"),
        ("Procedures", "body_site"): CodeSet(codes.body_sites, "body site (codes.body_sites)"),
        ("Products", "cell_type"): CodeSet(codes.cell_types, "cell type (codes.cell_types)"),
        ("Medications", "drug"): CodeSet(codes.drugs, "drug (codes.drugs)"),
        ("AdverseEvents", "severity"): CodeSet(SEVERITY, "severity"),
        ("AdverseEvents", "serious"): CodeSet(SERIOUSNESS, "seriousness"),
        ("AdverseEvents", "outcome"): CodeSet(AE_OUTCOME, "outcome"),
    }


def checked(reader: F.Reader, column: Column, field: str, codes: CodeSet) -> F.Reader:
    """``reader`` refusing a value outside ``codes`` (a row error ``code``). Only needed
    where no map stands between the cell and the value: map targets are checked at load."""
    allowed = frozenset(codes.allowed)
    listed = ", ".join(sorted(allowed)[:12]) + (", ..." if len(allowed) > 12 else "")
    name = column.column
    where = "" if name else f"field '{field}': "

    def read(values: dict[str, object]) -> Any:
        value = reader(values)
        if value is not None and value not in allowed:
            shown = (
                f"'{value}'"
                if isinstance(value, str) and len(value) <= 24 and value.isprintable()
                else "the value"
            )
            raise F.FieldProblem(
                name,
                "code",
                f"{where}{shown} is not a known {codes.what} ({listed}); map the export's "
                "codes to these with 'map:'",
            )
        return value

    return read
