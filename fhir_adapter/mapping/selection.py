"""Which of a participant's rows are a section's: its table's rows where ``where`` is true.

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
from fhir_adapter.mapping.spec import _Section
from fhir_adapter.sources.row import SourceRow


class SectionRows:
    """Selects a section's rows among a participant's rows (compiled once per mapping)."""

    def __init__(self, section: _Section, options: Options, name: str):
        self.table = section.table
        self.name = name  # the section's key path in the mapping, for messages
        self._where = None if section.where is None else compile_expression(section.where)
        self._missing = options.missing

    def select(
        self, rows: Mapping[str, Sequence[SourceRow]], errors: list[RowError]
    ) -> Sequence[SourceRow]:
        """The section's rows, in file order; problems go to ``errors``."""
        table_rows = rows.get(self.table, ())
        if self._where is None:
            return table_rows
        return [row for row in table_rows if self._keeps(row, errors)]

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
