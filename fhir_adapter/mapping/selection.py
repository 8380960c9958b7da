"""Which of a participant's rows are a section's: its table's rows where ``where`` is true.

Readers that need more than the row (a ``row_number`` key, a lookup in another table) get
its values as ``RowValues``: the row's cells plus its position among the section's rows and
the participant's rows of every table.

A row the filter leaves out is not the section's row (no record, no error): two sections can
read one table, each its own rows. A filter that fails on a row, or gives anything but
true, false or nothing, is a row error (rule ``where``): a row is never dropped because an
expression broke.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from fhir_adapter.mapping.expressions import EvaluationError, compile_expression
from fhir_adapter.mapping.fields import Options
from fhir_adapter.mapping.records import RowError
from fhir_adapter.mapping.spec import Column, RowNumber, _Section
from fhir_adapter.sources.row import SourceRow


class RowValues(dict[str, object]):
    """A row's cells, with where the row stands (for the readers that need it)."""

    __slots__ = ("position", "tables")

    def __init__(
        self, values: Mapping[str, object], position: int, tables: Mapping[str, Sequence[SourceRow]]
    ):
        super().__init__(values)
        self.position = position  # 0-based, among the section's rows of this participant
        self.tables = tables  # the participant's rows, per table name


def row_values(values: Mapping[str, object]) -> RowValues:
    """The values a reader was given, as ``RowValues`` (``SectionRows`` made sure of it)."""
    assert isinstance(values, RowValues), "the section's rows were selected without context"
    return values


def needs_context(section: _Section) -> bool:
    """Whether a section's readers need ``RowValues`` (a row_number key or a lookup)."""
    return any(
        isinstance(value, RowNumber)
        or (isinstance(value, Column) and getattr(value, "lookup", None) is not None)
        for _, value in section
    )


class SectionRows:
    """Selects a section's rows among a participant's rows (compiled once per mapping)."""

    def __init__(self, section: _Section, options: Options, name: str):
        self.table = section.table
        self.name = name  # the section's key path in the mapping, for messages
        self._where = None if section.where is None else compile_expression(section.where)
        self._missing = options.missing
        self._context = needs_context(section)

    def select(
        self, rows: Mapping[str, Sequence[SourceRow]], errors: list[RowError]
    ) -> Sequence[SourceRow]:
        """The section's rows, in file order; problems go to ``errors``."""
        table_rows = rows.get(self.table, ())
        if self._where is not None:
            table_rows = [row for row in table_rows if self._keeps(row, errors)]
        if not self._context:
            return table_rows
        return [
            SourceRow(row.file, row.number, RowValues(row.values, position, rows))
            for position, row in enumerate(table_rows)
        ]

    def _keeps(self, row: SourceRow, errors: list[RowError]) -> bool:
        assert self._where is not None
        try:
            result = self._where.evaluate(row.values, self._missing)
        except EvaluationError as error:
            self._fail(row, errors, str(error))
            return False
        if not result:
            return False
        if len(result) == 1 and isinstance(result[0], bool):
            return result[0]
        self._fail(row, errors, "the expression gave something other than true or false")
        return False

    def _fail(self, row: SourceRow, errors: list[RowError], problem: str) -> None:
        errors.append(
            RowError(row.file, row.number, None, "where", f"'where' of {self.name}: {problem}")
        )
