"""Checks of REDCap tables against their data dictionaries, once the data folder is known.

The dictionary sits in the data folder beside the export, so these run when a mapping is
applied to data (``loader.check_against_data``), before any data row is read: a missing
dictionary, an unknown instrument or checkbox field, a column the instrument does not have,
and a subject other than the record id (the only field on every row of a REDCap export)
are each reported with the mapping's line, like every other mapping problem.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from fhir_adapter.errors import SourceDataError
from fhir_adapter.mapping.spec import Column, MappingSpec, ObservedValue
from fhir_adapter.sources.redcap import RedcapTable

Problem = tuple[str, Sequence[Any]]


def mapped_columns(spec: MappingSpec, table: str) -> Iterator[tuple[str, list[Any]]]:
    """Every column the mapping reads from ``table``, with its key path in the file."""
    for loc, section in spec.sections():
        if section.table != table:
            continue
        yield section.subject, [*loc, "subject"]
        for name, value in section:
            if isinstance(value, Column) and value.column:
                yield value.column, [*loc, name, "column"]
            elif name in {"id", "line", "value"} and isinstance(value, str):
                yield value, [*loc, name]
            elif name == "values":
                for index, observed in enumerate(value):
                    assert isinstance(observed, ObservedValue)
                    yield observed.column, [*loc, "values", index, "column"]


def redcap_problems(spec: MappingSpec, data_dir: Path) -> Iterator[Problem]:
    for name, table in spec.tables.items():
        if table.redcap is None:
            continue
        loc: list[Any] = ["tables", name, "redcap"]
        try:
            source = RedcapTable.open(data_dir, table.redcap.selection())
        except SourceDataError as error:
            if error.rule not in {"missing-file", "outside-data-dir"}:
                raise  # a dictionary that is there but unreadable: its own file and row
            yield (
                f"data dictionary '{table.redcap.dictionary}': {error.detail}",
                [*loc, "dictionary"],
            )
            continue
        selection = list(source.selection_problems())
        for message, key in selection:
            yield message, [*loc, key]
        if selection:
            continue
        for column, where in mapped_columns(spec, name):
            if where[-1] == "subject":
                if column != source.record_id:
                    yield (
                        f"the subject of a REDCap table is the record id field "
                        f"'{source.record_id}' (the first field of the data dictionary)",
                        where,
                    )
                continue
            problem = source.column_problem(column)
            if problem:
                yield problem, where
