"""Rows from resources: the SQL-on-FHIR v2 processing algorithm.

Follows "Processing Algorithm" of https://sql-on-fhir.org/ig/StructureDefinition-ViewDefinition.html:
a resource of another type gives no row; every ``where`` must be true; then each selection
structure yields partial rows (its columns, its nested selects, its ``unionAll`` branches),
combined by Cartesian product, for each item of its ``forEach``/``forEachOrNull``/``repeat``
focus. ``%rowIndex`` is the item's 0-based index at its own nesting level.

Rows are dicts keyed by column name in the view's column order. Values are plain: str, bool,
int, Decimal, None, a list for ``collection`` columns, a dict for complex FHIR types.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from fhir_adapter.views._definition import Column, Select, ViewDefinition
from fhir_adapter.views._errors import ViewEvaluationError

Row = dict[str, Any]


def run_view(view: ViewDefinition, resources: Iterable[Mapping[str, Any]]) -> Iterator[Row]:
    """All rows of ``view`` over ``resources`` (any types; others are skipped), in input order."""
    for resource in resources:
        yield from rows_for(view, resource)


def rows_for(view: ViewDefinition, resource: Mapping[str, Any]) -> Iterator[Row]:
    """The rows one resource contributes to ``view`` (none when its type or ``where`` differ)."""
    if resource.get("resourceType") != view.resource:
        return
    variables = {**view.constants, "resource": resource, "rootResource": resource, "rowIndex": 0}
    for index, where in enumerate(view.where):
        result = where.values(resource, variables)
        if not result:
            return
        if len(result) != 1 or not isinstance(result[0], bool):
            raise ViewEvaluationError(
                f"where[{index}] must give true, false or nothing, not "
                f"{'several values' if len(result) > 1 else 'a ' + type(result[0]).__name__}",
                file=view.file,
                key=f"where[{index}].path",
            )
        if result[0] is False:
            return
    names = view.column_names
    for row in _process(view.root, resource, variables, view):
        yield {name: row.get(name) for name in names}


def _foci(select: Select, node: Any, variables: Mapping[str, Any]) -> list[Any] | None:
    """The items ``select`` iterates over, or None when it does not iterate."""
    if select.repeat:
        found: list[Any] = []

        def walk(current: Any) -> None:
            for path in select.repeat:
                for child in path.nodes(current, variables):
                    found.append(child)
                    walk(child)

        walk(node)
        return found
    if select.for_each is not None:
        return select.for_each.nodes(node, variables)
    if select.for_each_or_null is not None:
        return select.for_each_or_null.nodes(node, variables)
    return None


def _process(
    select: Select, node: Any, variables: dict[str, Any], view: ViewDefinition
) -> Iterator[Row]:
    foci = _foci(select, node, variables)
    if foci is None:
        yield from _rows_at(select, node, variables, view)
        return
    if not foci and select.for_each_or_null is not None:
        yield {
            c.name: (0 if c.path.expression.strip() == "%rowIndex" else None)
            for c in select.output_columns()
        }
        return
    for index, focus in enumerate(foci):
        yield from _rows_at(select, focus, {**variables, "rowIndex": index}, view)


def _rows_at(
    select: Select, focus: Any, variables: dict[str, Any], view: ViewDefinition
) -> Iterator[Row]:
    parts: list[list[Row]] = [
        [{c.name: _column_value(c, focus, variables, view)}] for c in select.columns
    ]
    for child in select.selects:
        parts.append(list(_process(child, focus, variables, view)))
    if select.union_all:
        parts.append(
            [row for branch in select.union_all for row in _process(branch, focus, variables, view)]
        )
    for combination in itertools.product(*parts):
        row: Row = {}
        for partial in combination:
            row.update(partial)
        yield row


def _column_value(
    column: Column, focus: Any, variables: Mapping[str, Any], view: ViewDefinition
) -> Any:
    values = column.path.values(focus, variables)
    if column.collection:
        return values
    if not values:
        return None
    if len(values) > 1:
        raise ViewEvaluationError(
            f"column '{column.name}' got {len(values)} values; set \"collection\": true or "
            "narrow the path (first(), where(...))",
            file=view.file,
            key=f"{column.key}.path",
        )
    return values[0]
