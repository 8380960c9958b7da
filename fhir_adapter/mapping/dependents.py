"""Which of a participant's rows go with a rejected one, and why (``--on-bad-row row``).

A bad row is rejected alone unless other rows depend on it: an infusion names its cell
product, a product names its harvest, and a medication line that ends is read as "dose
changed" only if the line that carries the drug on is there. Keeping such a dependent without
what it depends on would write a dangling reference or a wrong clinical fact (a dose change
read as a stopped drug), so it is left out too, and the report says because of which row.
A reference to an id no row of the participant has at all is the referring row's own error.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from fhir_adapter.mapping.records import (
    LeftOut,
    MedicationRecord,
    Origin,
    ParticipantRecords,
    RowError,
)


class BadRowPolicy(StrEnum):
    """What a row error costs: the row (and its dependents), the participant, or the run."""

    ROW = "row"
    PARTICIPANT = "participant"
    STOP = "stop"


@dataclass
class RejectedRecords:
    """What could still be read from rows that broke a rule, per kind name: enough to find
    the rows that depend on them."""

    by_kind: dict[str, list[Any]] = field(default_factory=dict)

    def of(self, kind: str) -> list[Any]:
        return self.by_kind.get(kind, [])


@dataclass(frozen=True, slots=True)
class Reference:
    """A record's dependence on another kind's record: its ``id`` among the records of
    ``kind``. ``column`` is where the referring row names it, ``what`` what it is called in
    messages ("cell product")."""

    kind: str
    id: str
    column: str | None
    what: str


class Dependent(Protocol):
    """What a kind's compiled mapper says about dependence (``kinds.SectionMapper``)."""

    @property
    def kind(self) -> str: ...

    def key(self, record: Any) -> str | None: ...

    def references(self, record: Any) -> Iterable[Reference]: ...


def bad_rows(errors: Iterable[RowError]) -> set[tuple[str, int]]:
    return {(e.file, e.row) for e in errors if e.row is not None}


def drop_bad_rows(records: ParticipantRecords, bad: set[tuple[str, int]]) -> None:
    """Remove every record read from a bad row; a wide row with one bad value goes whole."""
    for kind, kept in records.by_kind.items():
        records.by_kind[kind] = [r for r in kept if (r.origin.file, r.origin.row) not in bad]


def settle_references(
    records: ParticipantRecords, rejected: RejectedRecords, kinds: Sequence[Dependent]
) -> tuple[list[RowError], list[LeftOut]]:
    """Drop records whose reference no longer resolves, until none is left.

    ``kinds`` are the compiled mappers in registry order: each says a record's own id
    (``key``) and what it refers to (``references``). A reference to a rejected (or already
    dropped) row makes the referring row a dependent; a reference to an id that no row has
    is the referring row's ``unknown-reference`` error.
    """
    errors: list[RowError] = []
    left: list[LeftOut] = []
    gone: dict[str, dict[str, Origin]] = {}
    for kind in kinds:
        for record in rejected.of(kind.kind):
            key = kind.key(record)
            if key:
                gone.setdefault(kind.kind, {})[key] = record.origin
    changed = True
    while changed:
        changed = False
        for kind in kinds:
            targets: dict[str, set[str | None]] = {}
            kept = []
            for record in records.of(kind.kind):
                dangling = None
                for ref in kind.references(record):
                    if ref.kind not in targets:
                        targets[ref.kind] = _keys(kinds, ref.kind, records.of(ref.kind))
                    if ref.id not in targets[ref.kind]:
                        dangling = ref
                        break
                if dangling is None:
                    kept.append(record)
                    continue
                changed = True
                key = kind.key(record)
                if key is not None:
                    gone.setdefault(kind.kind, {})[key] = record.origin
                _dangling(record.origin, dangling, gone.get(dangling.kind, {}), errors, left)
            if kind.kind in records.by_kind:
                records.by_kind[kind.kind] = kept
    return errors, left


def _keys(kinds: Sequence[Dependent], name: str, records: list[Any]) -> set[str | None]:
    """The own ids of ``records`` of kind ``name``."""
    kind = next((k for k in kinds if k.kind == name), None)
    return set() if kind is None else {kind.key(r) for r in records}


def _dangling(
    origin: Origin,
    ref: Reference,
    gone: dict[str, Origin],
    errors: list[RowError],
    left: list[LeftOut],
) -> None:
    cause = gone.get(ref.id)
    if cause is not None:
        left.append(
            LeftOut(origin.file, origin.row, f"it refers to a {ref.what} row left out", cause)
        )
    else:
        errors.append(
            RowError(
                origin.file,
                origin.row,
                ref.column,
                "unknown-reference",
                f"no such {ref.what} for this participant",
            )
        )


def link_dose_changes(
    lines: list[MedicationRecord], rejected: list[MedicationRecord]
) -> tuple[list[MedicationRecord], list[LeftOut]]:
    """Link a line that ends to the line carrying the same drug on at another dose.

    The convention of the exports (docs/mapping.md): a dose change ends the old line and
    starts a new line of the same drug on the same day or the next. Such an end is a dose
    change, not a stopped drug. Only full dates are compared; the first match is taken.

    A line that ends where a rejected row may carry it on cannot be told from a stopped drug:
    it is left out with that row (a drug or start the rejected row has unreadable may be
    anything).
    """
    starts: dict[str, list[tuple[dt.date, str]]] = {}
    for line in lines:
        day = _full_date(line.start)
        if day is not None:
            starts.setdefault(line.drug, []).append((day, line.line))
    out: list[MedicationRecord] = []
    left: list[LeftOut] = []
    for line in lines:
        end = _full_date(line.end) if line.end else None
        if end is not None:
            cause = next((r for r in rejected if _may_follow(r, line.drug, end)), None)
            if cause is not None:
                left.append(
                    LeftOut(
                        line.origin.file,
                        line.origin.row,
                        "a rejected medication row may carry this line on at another dose",
                        cause.origin,
                    )
                )
                continue
        follower = None
        if end is not None:
            follower = next(
                (
                    number
                    for day, number in sorted(starts.get(line.drug, []))
                    if number != line.line and 0 <= (day - end).days <= 1
                ),
                None,
            )
        out.append(dataclasses.replace(line, continued_by=follower) if follower else line)
    return out, left


def _may_follow(rejected: MedicationRecord, drug: str, end: dt.date) -> bool:
    """Whether a rejected line may start ``drug`` again on ``end`` or the day after; a drug
    or start that could not be read may be anything."""
    drug_read: str | None = rejected.drug
    start_read: str | None = rejected.start
    if drug_read is not None and drug_read != drug:
        return False
    if start_read is None:
        return True
    day = _full_date(start_read)
    return day is not None and 0 <= (day - end).days <= 1


def _full_date(text: str | None) -> dt.date | None:
    if text is None or len(text) != 10:
        return None
    return dt.date.fromisoformat(text)
