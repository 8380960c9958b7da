"""Procedure tables that hold more than procedures: a cell product on some rows, or one column
that is a body site on some rows and a route on others.

What the rows show is drafted (the product's id, dose, unit, viability; which procedure kind
carries the product); what selects rows or reads another row is the study's to confirm, so
``where``, the harvest and collection lookups and a mixed column's split are TODO, each with
a comment giving the expression the rows suggest and the cookbook section
(docs/mapping.md, 'Cookbook').
"""

from __future__ import annotations

import re
from collections.abc import Callable

from fhir_adapter.drafting.fields import Reference, Table, pick, reference, words_of
from fhir_adapter.drafting.units import unit_reference
from fhir_adapter.drafting.yamltext import TODO, Block
from fhir_adapter.mapping.spec import CodeCatalogue

NUMBERS = ("number", "count")
COOKBOOK = "docs/mapping.md, "
_PLAIN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def name(column: str) -> str:
    """A column as FHIRPath names it: backticks around anything but a plain name."""
    return column if _PLAIN_NAME.match(column) else f"`{column}`"


def _cell(table: Table, row_values: dict[str, object], column: str) -> str:
    return str(row_values.get(column, "")).strip()


def kinds_where(table: Table, kind: str, test: Callable[[dict[str, object]], bool]) -> list[str]:
    """The procedure kinds of the rows that pass ``test``, in first-seen order."""
    found: dict[str, None] = {}
    for row in table.sample:
        if test(row.values):
            found.setdefault(_cell(table, row.values, kind), None)
    return [k for k in found if k]


def product_column(table: Table) -> str | None:
    """A column naming products, filled on some rows only, each value once: the products
    are on the procedure rows."""
    for column in table.header:
        profile = table.columns[column]
        if column == table.subject or "product" not in words_of(column):
            continue
        if profile.blanks and profile.filled and profile.distinct == profile.filled:
            return column
    return None


def mixed_route_site(
    table: Table, column: str, kind: str | None, is_route: Callable[[str], bool]
) -> tuple[str, str]:
    """Comments for ``route`` and ``body_site`` when one column holds both."""
    kinds = kinds_where(table, kind, lambda v: is_route(_cell(table, v, column))) if kind else []
    condition = (
        f"{name(kind)} = '{kinds[0]}'" if kind and len(kinds) == 1 else "<the rows with a route>"
    )
    where = f"{COOKBOOK}'Expressions: a value computed from the row'"
    route = (
        f"'{column}' holds a route on some rows and a body site on others: read it where it "
        f'is a route, e.g. {{expression: "iif({condition}, {name(column)}, {{}})", '
        f"required: false, map: {{...}}}} ({where})"
    )
    site = (
        f"the body site from '{column}' on the other rows, or a constant for the route's "
        f"target, as an expression likewise ({where})"
    )
    return route, site


def products(
    table: Table,
    product: str,
    procedure: dict[str, str | None],
    codes: CodeCatalogue,
    cell_types: list[str],
) -> Block:
    """A products section reading the procedure table: ``procedure`` gives its id, kind and
    date columns as drafted."""
    kind, ident, date = procedure.get("kind"), procedure.get("id"), procedure.get("date")
    with_product = (
        kinds_where(table, kind, lambda v: bool(_cell(table, v, product))) if kind else []
    )
    without = kinds_where(table, kind, lambda v: not _cell(table, v, product)) if kind else []
    block = Block()
    block.add("table", table.name)
    block.add("subject", table.subject or TODO)
    if kind and len(with_product) == 1:
        example = f"\"{name(kind)} = '{with_product[0]}'\""
    else:
        example = f'"{name(product)}.exists()"'
    block.add(
        "where",
        TODO,
        f"'{product}' is filled on some rows only: the rows that are a product, e.g. "
        f"{example} ({COOKBOOK}'where: a section reads only some rows of its table')",
    )
    block.add("id", product)
    lookups = f"{COOKBOOK}'Lookups: a value from another row'"
    if kind and len(without) == 1:
        match = f"{{expression: \"'{without[0]}'\"}}, on: {kind}"
    else:
        match = "{expression: \"'<the harvest kind>'\"}, on: <kind column>"
    for key, column in (("harvest", ident), ("collected", date)):
        block.add(
            key,
            TODO,
            f"on the harvest row: {{lookup: {{table: {table.name}, match: {match}, "
            f"column: {column or '<its column>'}}}}} ({lookups})",
        )
    cell = pick(table, ("celltype", "cell", "type"), ("code",))
    if cell is None:
        block.add(
            "cell_type",
            TODO,
            f"no column: a constant, {{value: <one of {_or_catalogue(cell_types)}>}}",
        )
    else:
        block.add("cell_type", cell.name, "map it to codes.cell_types")
    dose = pick(table, ("dose",), NUMBERS, avoid=("unit",))
    _set(block, "dose", reference(dose, blank_ok=True))
    unit = pick(table, ("unit", "units", "uom"), ("code",))
    if unit is not None:
        _set(block, "dose_unit", unit_reference(unit, codes))
    else:
        block.add("dose_unit", TODO, "UCUM unit of the dose column, e.g. 10*6/kg")
    viability = pick(table, ("viability", "viable"), NUMBERS)
    if viability is not None:
        _set(block, "viability", reference(viability, blank_ok=True))
    return block


def _or_catalogue(keys: list[str]) -> str:
    return ", ".join(keys) or "codes.cell_types"


def _set(block: Block, key: str, ref: Reference) -> None:
    block.add(key, ref.value, ref.comment)
