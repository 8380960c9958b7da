"""Domain records: what one participant's rows say, checked and typed, before any FHIR.

Plain slotted dataclasses (not pydantic) because the mapping hot path builds millions.
Every record keeps its origin (file and row) for Provenance and for tracing server errors.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fhir_adapter.mapping.frequency import Schedule


@dataclass(frozen=True, slots=True)
class Origin:
    file: str
    row: int
    column: str | None = None  # the value's column, where one column holds the value


@dataclass(frozen=True, slots=True)
class RowError:
    """A rule a row broke. Says where and which rule; never carries the cell value."""

    file: str
    row: int | None
    column: str | None
    rule: str
    message: str
    subject_row: Origin | None = None  # the participant's own row, to find the person

    def __str__(self) -> str:
        where = self.file + (f" row {self.row}" if self.row is not None else "")
        if self.column:
            where += f" column '{self.column}'"
        return f"{where}: {self.rule}: {self.message}"


@dataclass(frozen=True, slots=True)
class LeftOut:
    """A row that broke no rule but was not mapped because a rejected row it depends on was
    (``because``), e.g. an infusion whose cell-product row was rejected. Never a value."""

    file: str
    row: int
    reason: str
    because: Origin | None = None

    def __str__(self) -> str:
        cause = f" (because of {self.because.file} row {self.because.row})" if self.because else ""
        return f"{self.file} row {self.row}: left out: {self.reason}{cause}"


@dataclass(frozen=True, slots=True)
class Participant:
    subject: str
    sex: str | None
    birth_date: str | None
    arm_code: str
    arm_name: str
    enrolled: str
    status: str
    end: str | None
    origin: Origin
    end_reason: str | None = None  # key in codes.end_reasons
    stratum: str | None = None  # treatment group / randomisation stratum, as the study names it


@dataclass(frozen=True, slots=True)
class Diagnosis:
    condition: str
    onset: str
    recorded: str
    origin: Origin


@dataclass(frozen=True, slots=True)
class Converted:
    """A value converted into a form whose code asserts a method the source did not use."""

    unit: str
    value: Decimal


@dataclass(frozen=True, slots=True)
class Measurement:
    visit: str
    date: str
    analyte: str
    unit: str
    comparator: str | None
    value: Decimal
    origin: Origin
    converted: Converted | None = None  # kept beside the measured value, never in its place


@dataclass(frozen=True, slots=True)
class ProcedureRecord:
    id: str
    kind: str
    date: str
    route: str | None
    body_site: str | None
    product: str | None
    origin: Origin


@dataclass(frozen=True, slots=True)
class ProductRecord:
    id: str
    harvest: str | None
    collected: str
    cell_type: str
    dose: Decimal | None
    dose_unit: str | None  # never None with a dose
    viability: Decimal | None
    origin: Origin


@dataclass(frozen=True, slots=True)
class MedicationRecord:
    line: str
    drug: str
    dose: Decimal | None
    dose_unit: str | None
    schedule: Schedule | None  # how often the dose is taken; None when not recorded
    daily_total: bool  # the mapping says the dose is the total per day (no schedule)
    start: str
    end: str | None
    origin: Origin
    continued_by: str | None = None  # the line that carries the same drug on at a new dose


@dataclass(frozen=True, slots=True)
class AdverseEventRecord:
    id: str
    onset: str
    term: str
    severity: str
    serious: str
    outcome: str | None
    origin: Origin


@dataclass(slots=True)
class ParticipantRecords:
    """Everything mapped for one participant; complete or not emitted at all.

    Records are held per kind name (``fhir_adapter.kinds``), in the order their rows were
    read, so a new kind needs no field here: its mapper fills ``by_kind[name]`` and its
    builder reads ``of(name)``.
    """

    participant: Participant
    by_kind: dict[str, list[Any]] = field(default_factory=dict)

    def of(self, kind: str) -> list[Any]:
        """The records of ``kind`` (none when the mapping has no section of it)."""
        return self.by_kind.get(kind, [])

    def origins(self) -> Iterator[Origin]:
        """Where every record came from, the participant's own row first."""
        yield self.participant.origin
        for records in self.by_kind.values():
            for record in records:
                yield record.origin
