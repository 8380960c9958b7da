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
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from fhir_adapter.mapping.records import (
    LeftOut,
    MedicationRecord,
    Origin,
    ParticipantRecords,
    ProcedureRecord,
    ProductRecord,
    RowError,
)


class BadRowPolicy(StrEnum):
    """What a row error costs: the row (and its dependents), the participant, or the run."""

    ROW = "row"
    PARTICIPANT = "participant"
    STOP = "stop"


@dataclass
class RejectedRecords:
    """What could still be read from rows that broke a rule: enough to find dependents."""

    procedures: list[ProcedureRecord] = field(default_factory=list)
    products: list[ProductRecord] = field(default_factory=list)
    medications: list[MedicationRecord] = field(default_factory=list)


def bad_rows(errors: Iterable[RowError]) -> set[tuple[str, int]]:
    return {(e.file, e.row) for e in errors if e.row is not None}


def drop_bad_rows(records: ParticipantRecords, bad: set[tuple[str, int]]) -> None:
    """Remove every record read from a bad row; a wide row with one bad value goes whole."""

    def good(origin: Origin) -> bool:
        return (origin.file, origin.row) not in bad

    records.measurements = [m for m in records.measurements if good(m.origin)]
    records.procedures = [p for p in records.procedures if good(p.origin)]
    records.products = [p for p in records.products if good(p.origin)]
    records.medications = [m for m in records.medications if good(m.origin)]
    records.adverse_events = [a for a in records.adverse_events if good(a.origin)]
    if records.diagnosis is not None and not good(records.diagnosis.origin):
        records.diagnosis = None


def settle_references(
    records: ParticipantRecords,
    rejected: RejectedRecords,
    product_column: str | None,
    harvest_column: str | None,
) -> tuple[list[RowError], list[LeftOut]]:
    """Drop procedures and products whose reference no longer resolves, until none is left.

    A reference to a rejected (or already dropped) row makes the referring row a dependent;
    a reference to an id that no row has is the referring row's ``unknown-reference`` error.
    """
    errors: list[RowError] = []
    left: list[LeftOut] = []
    gone_products = {p.id: p.origin for p in rejected.products if p.id}
    gone_procedures = {p.id: p.origin for p in rejected.procedures if p.id}
    changed = True
    while changed:
        changed = False
        products = {p.id for p in records.products}
        kept_procedures = []
        for proc in records.procedures:
            if proc.product and proc.product not in products:
                changed = True
                gone_procedures[proc.id] = proc.origin
                _dangling(
                    proc.origin, proc.product, gone_products, product_column, "cell product",
                    errors, left,
                )  # fmt: skip
            else:
                kept_procedures.append(proc)
        records.procedures = kept_procedures
        procedures = {p.id for p in records.procedures}
        kept_products = []
        for product in records.products:
            if product.harvest and product.harvest not in procedures:
                changed = True
                gone_products[product.id] = product.origin
                _dangling(
                    product.origin, product.harvest, gone_procedures, harvest_column,
                    "harvest procedure", errors, left,
                )  # fmt: skip
            else:
                kept_products.append(product)
        records.products = kept_products
    return errors, left


def _dangling(
    origin: Origin,
    target: str,
    gone: dict[str, Origin],
    column: str | None,
    what: str,
    errors: list[RowError],
    left: list[LeftOut],
) -> None:
    cause = gone.get(target)
    if cause is not None:
        left.append(LeftOut(origin.file, origin.row, f"it refers to a {what} row left out", cause))
    else:
        errors.append(
            RowError(
                origin.file,
                origin.row,
                column,
                "unknown-reference",
                f"no such {what} for this participant",
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
