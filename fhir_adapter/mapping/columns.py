"""Which columns a mapping reads, per table: each file's header is checked against them.

A column an expression names counts like one named directly, so a misspelt name in an
expression stops the read (``missing-column``) instead of reading as blank on every row.
Only these columns are kept from each row.
"""

from __future__ import annotations

from collections.abc import Iterable

from fhir_adapter.mapping.expressions import compile_expression
from fhir_adapter.mapping.keys import key_columns
from fhir_adapter.mapping.lookup import lookup_columns
from fhir_adapter.mapping.spec import Column, MappingSpec, ObservedValue


def column_reads(column: Column, table: str) -> Iterable[tuple[str, str]]:
    """(table, column) for every column one Column field of a section on ``table`` reads."""
    if column.column is not None:
        yield table, column.column
    if column.expression is not None:
        yield from ((table, c) for c in compile_expression(column.expression).columns)
    if column.lookup is not None:
        yield from lookup_columns(column.lookup, table)


def columns_by_table(spec: MappingSpec) -> dict[str, list[str]]:
    """Every column the mapping reads, per table, in the order the mapping names them."""
    found: dict[str, list[str]] = {}

    def add(table: str, columns: Iterable[str | None]) -> None:
        listed = found.setdefault(table, [])
        for column in columns:
            if column and column not in listed:
                listed.append(column)

    for _, section in spec.sections():
        add(section.table, [section.subject])
        if section.where is not None:
            add(section.table, compile_expression(section.where).columns)
        for name, value in section:
            if isinstance(value, Column):
                for table, column in column_reads(value, section.table):
                    add(table, [column])
            elif name in {"id", "line"}:
                add(section.table, key_columns(value))
            elif name == "value" and isinstance(value, str):
                add(section.table, [value])
            elif name == "values":
                for observed in value:
                    assert isinstance(observed, ObservedValue)
                    add(section.table, [observed.column])
    return found
