"""The two medication fields an export most often leaves to the study: the frequency text and
the key of a line when no column numbers the lines.

A frequency map is the whole table (docs/mapping.md, "Medication frequency"), so when one
text found is not a form the parser reads, the map lists every text found: the ones it reads
map to themselves, the others are TODO. A line key is the study's choice; the comment
suggests the drug and start columns, and says whether they tell this export's lines apart.
"""

from __future__ import annotations

from fhir_adapter.drafting.columns import ColumnProfile, code_values
from fhir_adapter.drafting.fields import Reference, Table
from fhir_adapter.drafting.yamltext import TODO, Block, Scalar, Value
from fhir_adapter.mapping.frequency import FrequencyError, parse_frequency

COOKBOOK_KEYS = "docs/mapping.md, 'Keys: what tells a participant's records apart'"


def _reads(text: str) -> bool:
    try:
        parse_frequency(text)
    except FrequencyError:
        return False
    return True


def frequency_reference(column: ColumnProfile) -> Reference:
    """``frequency``: the bare column when the parser reads every text found, else a map."""
    values = code_values(column)
    if not values:
        return Reference(
            TODO,
            f"'{column.name}': too many distinct texts to list ({column.distinct}); a column "
            "of accepted forms (docs/mapping.md, 'Medication frequency'), or one with a map",
        )
    unread = [v for v in values if not _reads(v)]
    items: dict[str, Value] = {"column": column.name}
    if column.blanks:
        items["required"] = False
    if not unread:
        if len(items) == 1:
            return Reference(column.name, "every text found is a form the adapter reads")
        block = Block()
        for key, value in items.items():
            block.add(key, value)
        return Reference(block, "every text found is a form the adapter reads")
    mapped = Block()
    for value in values:
        mapped.add(value, TODO if value in unread else value)
    block = Block()
    for key, value in items.items():
        block.add(key, value)
    block.add(
        "map",
        mapped,
        "the map is the whole table: each TODO text as an accepted form such as 2x/day, BID, "
        "q8h, once daily (docs/mapping.md, 'Medication frequency')",
    )
    return Reference(block, None)


def column_of(value: Value) -> str | None:
    """The column a drafted field reads (None: a TODO, a constant, an expression)."""
    if isinstance(value, str) and value != TODO:
        return value
    if isinstance(value, Block):
        return next((e.value for e in value.entries if e.key == "column"), None)  # type: ignore[return-value]
    items = getattr(value, "items", None)
    if isinstance(items, dict):
        found: Scalar | None = items.get("column")
        return found if isinstance(found, str) else None
    return None


def line_note(table: Table, block: Block) -> str:
    """Why ``line`` is TODO and what to write, from the drug and start columns drafted."""
    columns = {e.key: column_of(e.value) for e in block.entries}
    drug, start = columns.get("drug"), columns.get("start")
    base = "no column numbers the lines"
    if not (drug and start and table.subject):
        return f"{base}: a list of columns that tell a participant's lines apart ({COOKBOOK_KEYS})"
    keys = [
        tuple(str(row.values.get(c, "")).strip() for c in (table.subject, drug, start))
        for row in table.sample
    ]
    unique = len(set(keys)) == len(keys) and all(all(k) for k in keys)
    told = "tells every line of this export apart" if unique else "repeats in this export"
    return (
        f"{base}: e.g. [{drug}, {start}] ({told}), a composite key that survives a re-sorted "
        f"export; {{row_number: true}} does not ({COOKBOOK_KEYS})"
    )
