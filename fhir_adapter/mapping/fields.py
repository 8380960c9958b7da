"""Compiled field readers: one small callable per mapped column, built once per mapping.

A reader takes a row's values and returns the typed field, ``None`` for an optional blank,
or raises ``FieldProblem`` naming the column and the rule broken.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fhir_adapter.mapping.expressions import EvaluationError, compile_expression, single_value
from fhir_adapter.mapping.frequency import parse_frequency
from fhir_adapter.mapping.spec import Column, FieldReads, ReadKind, ReadOptions, TableSpec
from fhir_adapter.mapping.values import (
    ISO_DATE_FORMATS,
    parse_count,
    parse_date,
    parse_decimal,
    parse_result,
    parse_year,
)
from fhir_adapter.sources.row import BadCell

DEFAULT_OPTIONS = ReadOptions(
    delimiter=",",
    encoding="utf-8",
    decimal=".",
    date_formats=["%Y-%m-%d"],
    missing=[""],
    comparators=[],
)


class FieldProblem(Exception):
    def __init__(self, column: str | None, rule: str, message: str):
        super().__init__(message)
        self.column = column
        self.rule = rule
        self.message = message


@dataclass(frozen=True)
class Options:
    """Read options of one table, resolved: table > mapping 'source' > built-in defaults."""

    delimiter: str
    encoding: str
    decimal: str
    date_formats: tuple[str, ...]
    missing: frozenset[str]
    comparators: tuple[str, ...]

    @classmethod
    def resolve(cls, table: TableSpec, source: ReadOptions) -> Options:
        def pick(name: str) -> Any:
            for layer in (table, source, DEFAULT_OPTIONS):
                value = getattr(layer, name)
                if value is not None:
                    return value
            raise AssertionError(name)  # pragma: no cover - defaults are complete

        return cls(
            pick("delimiter"),
            pick("encoding"),
            pick("decimal"),
            tuple(pick("date_formats")),
            frozenset(pick("missing")),
            tuple(pick("comparators")),
        )


Reader = Callable[[dict[str, object]], Any]


def _source(
    column: Column, options: Options, field: str | None, row_options: Options | None
) -> Reader:
    """Where a field's cell comes from: the row's column, its expression's one value, or
    the cell a lookup finds (``options`` are then the found row's table's)."""
    if column.lookup is not None:
        from fhir_adapter.mapping.lookup import lookup_source  # it builds on this module

        return lookup_source(column.lookup, row_options or options, options, field)
    if column.expression is not None:
        expression = compile_expression(column.expression)
        missing = options.missing

        def evaluate(values: dict[str, object]) -> object:
            try:
                return single_value(expression.evaluate(values, missing))
            except EvaluationError as error:
                raise FieldProblem(None, "expression", f"{_named(field)}{error}") from None

        return evaluate
    name = column.column
    return lambda values: values.get(name)  # type: ignore[arg-type]


def _named(field: str | None) -> str:
    return f"field '{field}': " if field else ""


def _raw(
    column: Column, options: Options, field: str | None = None, row_options: Options | None = None
) -> Reader:
    """The cell (or constant) after blank handling; raises for a blank required cell."""
    if column.value is not None:
        constant = column.value
        return lambda values: constant
    source = _source(column, options, field, row_options)
    name = column.column
    # A blank from an expression has no column to name: the message names the field.
    blank = (
        "a value is required"
        if name
        else f"{_named(field)}the {'lookup' if column.lookup else 'expression'} gave no value"
    )
    missing = options.missing
    required = column.required
    default = column.default  # the study's value where the site records none

    def read(values: dict[str, object]) -> object:
        cell = source(values)
        if isinstance(cell, BadCell):  # the source could not read it exactly
            raise FieldProblem(name, cell.rule, cell.message)
        if isinstance(cell, str):
            cell = cell.strip()
            # Only spaces is never a value, whatever 'missing' lists: FHIR has no empty value.
            if not cell or cell in missing:
                cell = None
        if cell is None:
            if default is not None:
                return default
            if required:
                raise FieldProblem(name, "required", blank)
            return None
        return cell

    return read


def _reader(
    column: Column,
    options: Options,
    convert: Callable[[object], Any],
    canonical: Callable[[str], Any],
    rule: str,
    field: str | None = None,
    row_options: Options | None = None,
) -> Reader:
    """Blank handling, then the code map when there is one, then the conversion.

    A cell goes through ``convert`` (the table's own forms: its decimal separator and date
    formats). A map target goes through ``canonical`` instead: it is written in the mapping
    file, so it uses the file's forms ('.' decimals, YYYY-MM-DD); the loader has already
    checked that every target converts (``mapping/constructs.py``).
    """
    raw = _raw(column, options, field, row_options)
    name = column.column
    table = column.map

    def read(values: dict[str, object]) -> Any:
        cell = raw(values)
        if cell is None:
            return None
        try:
            if table is None:
                return convert(cell)
            target = table.get(str(cell))
            if target is None:
                raise FieldProblem(
                    name,
                    "code",
                    f"{_named(None if name else field)}" + unmapped_code_message(str(cell), table),
                )
            return canonical(target)
        except (ValueError, ArithmeticError) as exc:
            raise FieldProblem(name, rule, f"{_named(None if name else field)}{exc}") from None

    return read


_SHOWN_CODE_LENGTH = 24
_SHOWN_KEYS = 12


def unmapped_code_message(code: str, table: dict[str, str]) -> str:
    """The row error for a cell its column's code map lacks. A column with a code map holds
    codes, which are not PHI, so a short one is shown with the codes the map knows, to make
    the fix obvious; a long cell (likely not a code: a shifted column) is only measured."""
    known = sorted(table)
    listed = ", ".join(known[:_SHOWN_KEYS]) + (", ..." if len(known) > _SHOWN_KEYS else "")
    if len(code) <= _SHOWN_CODE_LENGTH and code.isprintable():
        shown = f"'{code}' is not in the column's code map"
    else:
        shown = f"a value of {len(code)} characters is not in the column's code map"
    return f"{shown} (it maps: {listed}); add it under 'map:' or correct the cell"


def _same(text: str) -> str:
    return text


def text(
    column: Column, options: Options, field: str | None = None, row: Options | None = None
) -> Reader:
    """Cell text, through the column's code map when it has one."""
    return _reader(column, options, str, _same, "text", field, row)


def date(
    column: Column, options: Options, field: str | None = None, row: Options | None = None
) -> Reader:
    if column.format == "year":
        return _reader(column, options, parse_year, parse_year, "date", field, row)
    formats = options.date_formats
    return _reader(
        column,
        options,
        lambda cell: parse_date(cell, formats),
        lambda target: parse_date(target, ISO_DATE_FORMATS),
        "date",
        field,
        row,
    )


def number(
    column: Column, options: Options, field: str | None = None, row: Options | None = None
) -> Reader:
    decimal = options.decimal
    return _reader(
        column,
        options,
        lambda cell: parse_decimal(cell, decimal),
        parse_decimal,
        "number",
        field,
        row,
    )


def count(
    column: Column, options: Options, field: str | None = None, row: Options | None = None
) -> Reader:
    """A whole number of at least 1, such as administrations per day."""
    decimal = options.decimal
    return _reader(
        column, options, lambda cell: parse_count(cell, decimal), parse_count, "number", field, row
    )


def frequency(
    column: Column, options: Options, field: str | None = None, row: Options | None = None
) -> Reader:
    """Frequency text ('2x/day', 'BID', 'q8h') as a schedule, in the cell or as a map target."""
    return _reader(
        column,
        options,
        lambda cell: parse_frequency(str(cell)),
        parse_frequency,
        "frequency",
        field,
        row,
    )


READERS: dict[ReadKind, Callable[[Column, Options, str | None, Options | None], Reader]] = {
    "text": text,
    "date": date,
    "number": number,
    "count": count,
    "frequency": frequency,
}


def reader(
    column: Column,
    declared: FieldReads,
    options: Options,
    field: str | None = None,
    row_options: Options | None = None,
) -> Reader:
    """The reader a field's declaration calls for (``spec.reads``); ``field`` names the field
    in problems that have no column to name (an expression's). For a lookup, ``options`` are
    the read options of the table the cell is found in, ``row_options`` those of the row's."""
    return READERS[declared.kind](column, options, field, row_options)


def result(column_name: str, options: Options) -> Reader:
    """A laboratory result: an optional comparator ('<0.10') and a decimal; blank is None."""
    decimal, comparators = options.decimal, options.comparators
    return _reader(
        Column(column=column_name, required=False),
        options,
        lambda cell: parse_result(cell, decimal, comparators),
        _same,
        "number",
    )
