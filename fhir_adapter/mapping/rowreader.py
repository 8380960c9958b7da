"""What every kind's row mapper shares: reading one row's fields, row-level date rules, the
duplicate rule, and the compile-time tools that turn a section into readers.

Kinds (``fhir_adapter.kinds``) build their row mappers from these; nothing here names a kind.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fhir_adapter.mapping import fields as F
from fhir_adapter.mapping.codesets import checked, code_sets
from fhir_adapter.mapping.keys import OwnKeyValue, key_reader
from fhir_adapter.mapping.records import Origin, RowError
from fhir_adapter.mapping.selection import SectionRows
from fhir_adapter.mapping.spec import Column, MappingSpec, field_reads
from fhir_adapter.mapping.units import UnitError, check_ucum
from fhir_adapter.mapping.values import before
from fhir_adapter.sources.row import SourceRow

Rows = Mapping[str, Sequence[SourceRow]]


class RowReader:
    """Collects problems while reading one row's fields; ``birth`` dates the participant."""

    __slots__ = ("row", "errors", "failed", "birth", "cutoff")

    def __init__(
        self,
        row: SourceRow,
        errors: list[RowError],
        birth: str | None = None,
        cutoff: str | None = None,
    ):
        self.row, self.errors, self.failed, self.birth = row, errors, False, birth
        self.cutoff = cutoff  # the study's data cut-off: no event is dated after it

    def get(self, reader: Callable[[dict[str, object]], Any] | None) -> Any:
        if reader is None:
            return None
        try:
            return reader(self.row.values)
        except F.FieldProblem as problem:
            self.fail(problem.column, problem.rule, problem.message)
            return None

    def fail(self, column: str | None, rule: str, message: str) -> None:
        self.failed = True
        self.errors.append(RowError(self.row.file, self.row.number, column, rule, message))

    def after_birth(self, date: str | None, column: Column | None) -> None:
        """An event dated before the participant was born (``before-birth``), or after the
        study's data cut-off (``after-cutoff``: the export says its data were frozen then),
        is a row error."""
        if date is None:
            return
        if self.birth is not None and before(date, self.birth):
            self.fail(
                column.column if column else None,
                "before-birth",
                "the date is before the participant's birth date",
            )
        elif self.cutoff is not None and before(self.cutoff, date):
            self.fail(
                column.column if column else None,
                "after-cutoff",
                "the date is after the study's data cut-off (study.data_cutoff)",
            )

    def in_order(self, start: str | None, end: str | None, columns: tuple[Column, Column]) -> None:
        """An end before its start is a row error (``end-before-start``) on the end's column."""
        if start is not None and end is not None and before(end, start):
            start_column, end_column = columns
            where = f" in column '{start_column.column}'" if start_column.column else ""
            self.fail(
                end_column.column,
                "end-before-start",
                f"the end date is before the start date{where}",
            )

    @property
    def origin(self) -> Origin:
        return Origin(self.row.file, self.row.number)


class SectionTools:
    """Compile-time tools for one mapping: field readers by declaration, own-key readers and
    row selectors, with the read options of each table resolved once."""

    def __init__(self, spec: MappingSpec):
        self.spec = spec
        self.options = {
            name: F.Options.resolve(table, spec.source) for name, table in spec.tables.items()
        }
        self._places = {id(section): ".".join(map(str, loc)) for loc, section in spec.sections()}
        self._coded = code_sets(spec)

    def read(self, section: Any, name: str) -> F.Reader | None:
        """The reader of Column field ``name`` (chosen by its ``reads`` declaration), or None
        when the mapping leaves the field out. A field whose values must be codes of a set
        (``mapping.codesets``) and has no map is checked against it."""
        column = getattr(section, name)
        declared = field_reads(type(section), name)
        assert declared is not None, name
        if column is None:
            return None
        table = column.lookup.table if column.lookup else section.table
        reader = F.reader(column, declared, self.options[table], name, self.options[section.table])
        codes = self._coded.get((type(section).__name__, name))
        if codes is not None and column.map is None:
            reader = checked(reader, column, name, codes)
        return reader

    def fields(self, section: Any, *names: str) -> tuple[F.Reader | None, ...]:
        return tuple(self.read(section, name) for name in names)

    def own_id(self, section: Any, key: OwnKeyValue) -> F.Reader:
        return key_reader(key, self.options[section.table])

    def rows(self, section: Any) -> SectionRows:
        """The selector of a section's rows (its table's rows its ``where`` keeps)."""
        return SectionRows(section, self.options[section.table], self._places[id(section)])


def map_each_row(
    rows: Sequence[SourceRow],
    make: Callable[[RowReader], Any],
    errors: list[RowError],
    birth: str | None,
    cutoff: str | None = None,
) -> tuple[list[Any], list[Any]]:
    """One record per row: those of rows without an error, and those of rows with one (kept
    so that what depends on them can be found, ``mapping.dependents``)."""
    good: list[Any] = []
    rejected: list[Any] = []
    for row in rows:
        r = RowReader(row, errors, birth, cutoff)
        record = make(r)
        if record is None:
            continue
        (rejected if r.failed else good).append(record)
    return good, rejected


def no_duplicates(
    records: Sequence[Any], key: Callable[[Any], Any], what: str, errors: list[RowError]
) -> None:
    """Every row of a group sharing one key is an error: which of them is right cannot be
    told, so none is kept in place of the others."""
    groups: dict[Any, list[Any]] = {}
    for record in records:
        groups.setdefault(key(record), []).append(record)
    reported: set[tuple[str, int]] = set()  # a wide row has several values: one error
    for group in groups.values():
        if len(group) < 2:
            continue
        rows = ", ".join(str(r.origin.row) for r in group)
        for record in group:
            if (record.origin.file, record.origin.row) in reported:
                continue
            reported.add((record.origin.file, record.origin.row))
            errors.append(
                RowError(
                    record.origin.file,
                    record.origin.row,
                    None,
                    "duplicate",
                    f"rows {rows} have the same {what}; which one is right cannot be told",
                )
            )


@functools.lru_cache(maxsize=256)
def is_ucum(code: str) -> bool:
    try:
        check_ucum(code)
    except UnitError:
        return False
    return True
