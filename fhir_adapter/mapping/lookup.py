"""Lookups: a field read from another row of the same participant (``lookup:`` on a Column).

The export of a lab system keeps a product's collection date on the harvest row, not on the
infusion row the product comes from: ``{lookup: {table: procedures, match: {expression:
"'HARVEST'"}, on: Kind, column: Date}}`` reads it there. Only the participant's own rows are
searched, so a lookup never reads another person's data. Exactly one row must match: none or
several is a row error (rule ``lookup``), never a guess. A blank ``match`` is a blank field.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from typing import Any

from fhir_adapter.mapping.expressions import (
    EvaluationError,
    ExpressionError,
    as_fhirpath,
    compile_expression,
    single_value,
)
from fhir_adapter.mapping.fields import FieldProblem, Options, Reader
from fhir_adapter.mapping.selection import row_values
from fhir_adapter.mapping.spec import Lookup, MappingSpec, MatchExpression


def lookup_source(
    lookup: Lookup, row_options: Options, found_options: Options, field: str | None
) -> Reader:
    """The cell of the one matching row (None for a blank match); raises ``FieldProblem``."""
    named = f"field '{field}': " if field else ""
    match = lookup.match
    column = match if isinstance(match, str) else None
    expression = None if isinstance(match, str) else compile_expression(match.expression)
    table, on = lookup.table, lookup.on

    def key(values: dict[str, object]) -> str | None:
        if expression is None:
            return _text(values.get(column), row_options.missing)  # type: ignore[arg-type]
        try:
            return _text(single_value(expression.evaluate(values, row_options.missing)), ())
        except EvaluationError as error:
            raise FieldProblem(None, "expression", f"{named}{error} (lookup match)") from None

    def read(values: dict[str, object]) -> object:
        wanted = key(values)
        if wanted is None:
            return None
        rows = row_values(values).tables.get(table, ())
        found = [r for r in rows if _text(r.values.get(on), found_options.missing) == wanted]
        if len(found) != 1:
            how = "no row" if not found else f"{len(found)} rows"
            raise FieldProblem(
                column,
                "lookup",
                f"{named}{how} of this participant in table '{table}' match on '{on}'; "
                "a lookup needs exactly one",
            )
        return found[0].values.get(lookup.column)

    return read


def _text(value: object, missing: Collection[str]) -> str | None:
    """The text a key compares as; None when blank."""
    value = as_fhirpath(value, missing)
    return None if value is None else str(value)


def lookup_columns(lookup: Lookup, table: str) -> Iterator[tuple[str, str]]:
    """(table, column) for every column a lookup reads: in this row's table and in the other."""
    if isinstance(lookup.match, str):
        yield table, lookup.match
    else:
        yield from ((table, c) for c in compile_expression(lookup.match.expression).columns)
    yield lookup.table, lookup.on
    yield lookup.table, lookup.column


def lookup_problems(lookup: Lookup, spec: MappingSpec, loc: Sequence[Any]) -> Iterator[Any]:
    """Why a lookup cannot work as written (checked at load)."""
    read = {section.table for _, section in spec.sections()}
    if lookup.table not in read:
        yield (
            f"lookup table '{lookup.table}' is not read by any section, so which column names "
            "the participant in it is unknown; look up in a table a section reads",
            [*loc, "table"],
        )
    if isinstance(lookup.match, MatchExpression):
        try:
            compile_expression(lookup.match.expression)
        except ExpressionError as error:
            yield f"{error} (in the lookup's match)", [*loc, "match", "expression"]
