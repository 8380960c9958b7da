"""Pick the column for a mapping field by its header words and kind, and write its reference.

A field is filled from a column only when the header says what it is (``sex``, ``Gender``,
``ConsentDate``) and the cells are of the kind the field reads; an exact header word beats a
word inside a longer header (``Route`` beats ``MedGroup`` for the arm).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field

from fhir_adapter.drafting.codes import Targets
from fhir_adapter.drafting.columns import ColumnProfile, code_values
from fhir_adapter.drafting.sniff import ExportFile
from fhir_adapter.drafting.yamltext import TODO, Block, Flow, Value
from fhir_adapter.sources import SourceRow

MAX_INLINE_MAP = 3  # longer maps, or maps with a TODO, are written one entry a line


@dataclass
class Table:
    """One export table as the draft sees it: its file, its columns, and its subject column."""

    export: ExportFile
    header: list[str]
    columns: dict[str, ColumnProfile]
    rows: int
    truncated: bool
    subject: str | None = None
    used: set[str] = field(default_factory=set)  # columns a section already reads
    sample: Sequence[SourceRow] = ()  # the rows read, to relate columns (test → unit)

    @property
    def name(self) -> str:
        return self.export.table


def words_of(name: str) -> list[str]:
    """Header words: split at separators and lower→upper case changes ('ConsentDate')."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w]


def _score(name: str, words: Sequence[str]) -> tuple[int, int] | None:
    squeezed = "".join(words_of(name))
    tokens = words_of(name)
    for index, word in enumerate(words):
        if squeezed == word:
            return (3, -index)
    for index, word in enumerate(words):
        if word in tokens:
            return (2, -index)
    for index, word in enumerate(words):
        # A longer word inside a header word ('enrol' in 'enrolment'); short ones only whole.
        if len(word) >= 4 and any(t.startswith(word) for t in tokens):
            return (1, -index)
    return None


def pick(
    table: Table,
    words: Sequence[str],
    kinds: Collection[str],
    *,
    avoid: Iterable[str] = (),
) -> ColumnProfile | None:
    """The best column for a field, not already used, or None; ``avoid``: words that rule a
    header out (an end *reason* is not an end date)."""
    best: tuple[tuple[int, int], ColumnProfile] | None = None
    banned = set(avoid)
    for name in table.header:
        column = table.columns[name]
        if name in table.used or name == table.subject or column.kind not in kinds:
            continue
        if banned & set(words_of(name)):
            continue
        score = _score(name, words)
        if score is not None and (best is None or score > best[0]):
            best = (score, column)
    if best is None:
        return None
    table.used.add(best[1].name)
    return best[1]


@dataclass(frozen=True)
class Reference:
    """A field's value in the draft and the comment beside it."""

    value: Value
    comment: str | None = None


def code_map(column: ColumnProfile, targets: Targets) -> tuple[Value, str]:
    """The map of a code column: every distinct value found, the target filled where it is
    certain (``codes``), TODO elsewhere; the comment lists the choices."""
    values = code_values(column)
    choices = ", ".join(targets.names[:14]) + (" ..." if len(targets.names) > 14 else "")
    if not values:
        return TODO, (
            f"{column.distinct} distinct values, too many to list: map each to one of {choices}"
        )
    pairs = {value: targets.match(value) or TODO for value in values}
    open_ = sum(1 for v in pairs.values() if v == TODO)
    comment = f"to: {choices}" if open_ else None
    if open_ or len(pairs) > MAX_INLINE_MAP:
        block = Block()
        for value, target in pairs.items():
            block.add(value, target)
        return block, comment or ""
    return Flow(dict(pairs)), comment or ""


def reference(
    column: ColumnProfile | None,
    *,
    blank_ok: bool,
    targets: Targets | None = None,
    year: bool = False,
    what: str = "",
) -> Reference:
    """The column reference of a field: a bare name when nothing else is needed."""
    if column is None:
        return Reference(TODO, f"no column found{': ' + what if what else ''}")
    notes: list[str] = []
    items: dict[str, Value] = {"column": column.name}
    if year or column.kind == "year":
        items["format"] = "year"
    if column.blanks:
        if blank_ok:
            items["required"] = False
        else:
            notes.append(f"{column.blanks} blank cells: those rows will be row errors")
    map_comment = ""
    if targets is not None:
        mapped, map_comment = code_map(column, targets)
        items["map"] = mapped
    if len(items) == 1:
        return Reference(column.name, "; ".join(notes) or None)
    if any(isinstance(v, Block) for v in items.values()) or map_comment:
        block = Block()
        for key, value in items.items():
            block.add(key, value, map_comment if key == "map" and map_comment else None)
        return Reference(block, "; ".join(notes) or None)
    return Reference(Flow(items), "; ".join(notes) or None)  # type: ignore[arg-type]
