"""Every construct a mapping file may write is applied, or refused here at load time.

A key the engine would not honour is worse than a missing key: the file validates, the data
map, and the output is silently wrong (a ``map:`` on ``times_per_day`` was once ignored, and
every dose went out as a daily total). So each Column key is checked against the field's
declared reading (``spec.reads``): ``format`` only on dates, ``required: false`` only where the
resource can do without the element, map targets and constants that convert, and keys that
only mean something together (``decimals`` with ``convert_to``; a dose's basis).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from fhir_adapter.mapping.expressions import ExpressionError, compile_expression
from fhir_adapter.mapping.fields import Options
from fhir_adapter.mapping.frequency import parse_frequency
from fhir_adapter.mapping.lookup import lookup_problems
from fhir_adapter.mapping.spec import Column, FieldReads, MappingSpec, column_fields
from fhir_adapter.mapping.values import (
    ISO_DATE_FORMATS,
    parse_count,
    parse_date,
    parse_decimal,
    parse_year,
)

Problem = tuple[str, Sequence[Any]]

# How a map target (written in the mapping file, so in the file's own forms) must read.
_TARGET_FORMS: dict[str, tuple[Callable[[str], object], str]] = {
    "number": (parse_decimal, "a number written with '.'"),
    "count": (parse_count, "a whole number, 1 or more"),
    "date": (lambda text: parse_date(text, ISO_DATE_FORMATS), "a date written YYYY-MM-DD"),
    "year": (parse_year, "a four-digit year"),
    "frequency": (
        parse_frequency,
        "frequency text such as 2x/day, BID, q8h or once daily (docs/mapping.md lists the forms)",
    ),
}


def _converts(convert: Callable[[str], object], text: str) -> bool:
    try:
        convert(text)
    except (ValueError, ArithmeticError):
        return False
    return True


def _cell_reader(declared: FieldReads, column: Column, options: Options) -> Callable[[str], Any]:
    """How a constant is read: like a cell of the section's table."""
    if declared.kind == "date":
        if column.format == "year":
            return parse_year
        return lambda text: parse_date(text, options.date_formats)
    if declared.kind == "number":
        return lambda text: parse_decimal(text, options.decimal)
    if declared.kind == "count":
        return lambda text: parse_count(text, options.decimal)
    if declared.kind == "frequency":
        return parse_frequency
    return str


def column_problems(
    name: str, column: Column, declared: FieldReads, options: Options | None, loc: list[Any]
) -> Iterator[Problem]:
    """What in one Column the engine would not apply as written."""
    if column.expression is not None:
        try:
            compile_expression(column.expression)
        except ExpressionError as error:
            yield f"{error} (in the expression of '{name}')", [*loc, "expression"]
    if column.format is not None and declared.kind != "date":
        yield (
            f"'format' applies only to date fields; '{name}' reads {declared.kind}",
            [*loc, "format"],
        )
    if column.value is not None and "required" in column.model_fields_set:
        yield "'required' has no effect with a constant 'value'; remove it", [*loc, "required"]
    elif column.default is not None and "required" in column.model_fields_set:
        yield (
            "'required' has no effect with 'default' (a blank cell takes the default); remove it",
            [*loc, "required"],
        )
    elif not column.required and not declared.blank:
        yield (
            f"'{name}' cannot be left blank: every resource of this section needs it. Remove "
            "'required: false' (a blank cell is then a row error), or give a constant with "
            "'value:' when the export has no such column",
            [*loc, "required"],
        )
    form = "year" if declared.kind == "date" and column.format == "year" else declared.kind
    if column.map is not None and form in _TARGET_FORMS:
        convert, wanted = _TARGET_FORMS[form]
        for local, target in column.map.items():
            if not _converts(convert, target):
                yield (
                    f"maps '{local}' to '{target}', which is not {wanted} ('{name}' reads "
                    f"{declared.kind}; map targets are written as in this file)",
                    [*loc, "map", local],
                )
    if column.value is not None and column.default is not None:
        yield "'default' has no effect with a constant 'value'; remove it", [*loc, "default"]
    for key in ("value", "default"):
        constant = getattr(column, key)
        if constant is None:
            continue
        if column.map is not None:
            if constant not in column.map:
                yield f"the constant '{constant}' is not a key of this field's map", [*loc, key]
        elif options is not None and not _converts(
            _cell_reader(declared, column, options), constant
        ):
            yield (
                f"the constant '{constant}' cannot be read as {declared.kind} with this "
                "table's read options (decimal separator, date formats)",
                [*loc, key],
            )


def construct_problems(spec: MappingSpec) -> Iterator[Problem]:
    for loc, section in spec.sections():
        table = spec.tables.get(section.table)
        options = None if table is None else Options.resolve(table, spec.source)
        if section.where is not None:
            try:
                compile_expression(section.where)
            except ExpressionError as error:
                yield f"{error} (in 'where')", [*loc, "where"]
        for name, column, declared in column_fields(section):
            if column is not None:
                yield from column_problems(name, column, declared, options, [*loc, name])
            if column is not None and column.lookup is not None:
                yield from lookup_problems(column.lookup, spec, [*loc, name, "lookup"])
    for index, observed in enumerate(spec.observations):
        if observed.layout != "wide":
            continue
        for v_index, value in enumerate(observed.values):
            if value.decimals is not None and value.convert_to in (None, value.unit):
                yield (
                    "'decimals' rounds a conversion and applies only with a 'convert_to' "
                    "other than 'unit'; remove it (values are kept as reported)",
                    ["observations", index, "values", v_index, "decimals"],
                )
    yield from _dose_basis(spec)


def _dose_basis(spec: MappingSpec) -> Iterator[Problem]:
    """A dose is per administration (with frequency or times_per_day) or a declared daily
    total, exactly one of the three, never a daily total by default: that default once
    halved every dose of a text-frequency export.
    """
    medications = spec.medications
    if medications is None:
        return
    schedules = [
        name for name in ("frequency", "times_per_day") if getattr(medications, name) is not None
    ]
    if not schedules and medications.daily_total is not True:
        yield (
            "say what the dose column holds: 'frequency' (how often, as text such as 2x/day; "
            "the dose is per administration), 'times_per_day' (a whole number per day; the "
            "dose is per administration) or 'daily_total: true' (the dose is the total per day)",
            ["medications", "daily_total" if medications.daily_total is False else "dose"],
        )
    if len(schedules) == 2:
        yield (
            "'frequency' and 'times_per_day' both say how often the dose is taken; keep one "
            "('frequency' reads text such as 2x/day, BID, q8h)",
            ["medications", "times_per_day"],
        )
    elif schedules and medications.daily_total:
        yield (
            f"'daily_total: true' contradicts '{schedules[0]}' (a dose per administration); "
            "keep one",
            ["medications", "daily_total"],
        )
