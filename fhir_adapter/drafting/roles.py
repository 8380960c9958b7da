"""Which table holds the participants, which column is the subject in each table, which table
feeds which section, and which columns point at another table's ids.

The participants table is found by its data, not its name: a column with one row per value
(no blanks, no repeats) whose values hold every other table's subject column.
"""

from __future__ import annotations

from dataclasses import dataclass

from fhir_adapter.drafting.analytes import find_rule
from fhir_adapter.drafting.fields import Table, words_of


@dataclass(frozen=True)
class Participants:
    table: Table
    subject: str


def _holds(ids: frozenset[str], values: frozenset[str]) -> bool:
    return bool(values) and values <= ids


def find_participants(tables: list[Table]) -> Participants | None:
    """The (table, column) whose unique values contain a column of the most other tables,
    and set every table's ``subject``; None when no column is unique."""
    best: tuple[int, int, Table, str] | None = None
    for order, table in enumerate(tables):
        for name in table.header:
            column = table.columns[name]
            if not column.unique:
                continue
            held = sum(
                1
                for other in tables
                if other is not table
                and any(
                    _holds(column.distinct_values, c.distinct_values)
                    for c in other.columns.values()
                )
            )
            score = (held, -order)
            if best is None or score > best[:2]:
                best = (held, -order, table, name)
    if best is None:
        return None
    _, _, table, name = best
    table.subject = name
    ids = table.columns[name].distinct_values
    for other in tables:
        if other is table:
            continue
        fits = [c for c in other.header if _holds(ids, other.columns[c].distinct_values)]
        # The participants' own column name first, then the header order.
        fits.sort(key=lambda c: (c != name, other.header.index(c)))
        other.subject = fits[0] if fits else None
    return Participants(table, name)


def references(source: Table, target: Table, target_id: str) -> str | None:
    """A column of ``source`` (not its subject) whose values are all ids of ``target``."""
    ids = target.columns[target_id].distinct_values
    for name in source.header:
        if name == source.subject or (source is target and name == target_id):
            continue
        if _holds(ids, source.columns[name].distinct_values):
            return name
    return None


SECTION_WORDS: dict[str, tuple[str, ...]] = {
    "observations": ("visit", "visits", "lab", "labs", "observation", "vital", "measurement"),
    "procedures": ("procedure", "procedures", "proc", "intervention", "surgery"),
    "products": ("product", "products", "cell", "batch"),
    "medications": ("medication", "medications", "med", "meds", "drug", "drugs", "conmed"),
    "adverse_events": ("adverse", "ae", "aes", "event", "events", "sae", "safety"),
}


def section_of(table: Table) -> str | None:
    """The record section a table's name points at; for an unnamed one, observations when a
    numeric column names an analyte."""
    tokens = words_of(table.name)
    for section, words in SECTION_WORDS.items():
        if any(t in words or (len(w) >= 4 and t.startswith(w)) for t in tokens for w in words):
            return section
    numeric = [c for c in table.columns.values() if c.kind in ("number", "count")]
    if any(find_rule(c.name) for c in numeric):
        return "observations"
    return None
