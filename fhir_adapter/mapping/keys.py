"""A record's own key (``procedures.id``, ``products.id``, ``medications.line``,
``adverse_events.id``): one column, several columns, or the row's position.

The key becomes part of the record's natural key and so of its deterministic id
(``fhir.ids``). A single column reads exactly as it always has, so existing ids never change.
"""

from __future__ import annotations

from collections.abc import Iterator

from fhir_adapter.fhir.ids import natural_key
from fhir_adapter.mapping import fields as F
from fhir_adapter.mapping.selection import row_values
from fhir_adapter.mapping.spec import Column, RowNumber

OwnKeyValue = str | list[str] | RowNumber


def key_reader(key: OwnKeyValue, options: F.Options) -> F.Reader:
    """The reader of a section's own key; a blank column (or part) is a ``required`` error."""
    if isinstance(key, RowNumber):
        return lambda values: str(row_values(values).position + 1)
    if isinstance(key, str):
        return F.text(Column(column=key), options)
    parts = [F.text(Column(column=column), options) for column in key]
    return lambda values: natural_key(*(part(values) for part in parts))


def key_columns(key: object) -> Iterator[str]:
    """The columns a key reads (none for a row number)."""
    if isinstance(key, str):
        yield key
    elif isinstance(key, list):
        yield from key
