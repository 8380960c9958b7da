"""Medication lines: one MedicationStatement per line number of a participant."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from fhir_adapter.fhir import extensions as ext
from fhir_adapter.fhir.build import BuildContext, coding, quantity
from fhir_adapter.fhir.ids import natural_key
from fhir_adapter.kinds._kind import (
    Kind,
    MapContext,
    Mapped,
    Resource,
    ResourceBuilder,
    ResourceRule,
    SectionMapper,
    status_entered_in_error,
)
from fhir_adapter.mapping import fields as F
from fhir_adapter.mapping.dependents import link_dose_changes
from fhir_adapter.mapping.frequency import Schedule
from fhir_adapter.mapping.records import LeftOut, MedicationRecord, RowError
from fhir_adapter.mapping.rowreader import (
    RowReader,
    Rows,
    SectionTools,
    is_ucum,
    map_each_row,
    no_duplicates,
)
from fhir_adapter.mapping.selection import SectionRows
from fhir_adapter.mapping.spec import Medications as Section

__all__ = ["KIND", "Section"]

NAME = "medication"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"


@dataclass(frozen=True)
class MedicationMapper(SectionMapper):
    section: Section
    selector: SectionRows
    line: F.Reader
    drug: F.Reader | None
    dose: F.Reader | None
    dose_unit: F.Reader | None
    frequency: F.Reader | None
    times_per_day: F.Reader | None
    start: F.Reader | None
    end: F.Reader | None
    kind: ClassVar[str] = NAME

    def map_rows(self, rows: Rows, context: MapContext) -> Mapped:
        selected = self.selector.select(rows, context.errors)
        good, rejected = map_each_row(
            selected, self._make, context.errors, context.birth, context.cutoff
        )
        no_duplicates(good, lambda r: r.line, "medication line", context.errors)
        return Mapped(good, rejected)

    def _make(self, r: RowReader) -> MedicationRecord:
        line, drug, dose, unit, schedule, per_day, start, end = (
            r.get(x)
            for x in (
                self.line,
                self.drug,
                self.dose,
                self.dose_unit,
                self.frequency,
                self.times_per_day,
                self.start,
                self.end,
            )
        )
        md = self.section
        if dose is not None and dose < 0:
            r.fail(md.dose.column, "range", "dose must not be negative")
        if dose is not None and unit is None and not r.failed:
            r.fail(md.dose_unit.column, "required", "a dose needs its unit")
        if unit is not None and md.dose_unit.map is None and not is_ucum(unit):
            r.fail(
                md.dose_unit.column,
                "unit",
                "not a UCUM unit code; map the export's unit text to UCUM with 'map:' "
                "(e.g. IU: '[IU]')",
            )
        r.after_birth(start, md.start)
        if md.end is not None:
            r.in_order(start, end, (md.start, md.end))
        if per_day is not None:  # the loader allows frequency or times_per_day, not both
            schedule = Schedule.times_a_day(per_day)
        return MedicationRecord(
            line, drug, dose, unit, schedule, bool(md.daily_total), start, end, r.origin
        )

    def settle(
        self, records: list[Any], rejected: list[Any]
    ) -> tuple[list[Any], list[RowError], list[LeftOut]]:
        """A line that ends where the same drug goes on at another dose is a dose change
        (``mapping.dependents.link_dose_changes``)."""
        lines, stopped = link_dose_changes(records, rejected)
        return lines, [], stopped


def _compile(tools: SectionTools) -> MedicationMapper | None:
    md = tools.spec.medications
    if md is None:
        return None
    return MedicationMapper(
        md,
        tools.rows(md),
        tools.own_id(md, md.line),
        *tools.fields(
            md, "drug", "dose", "dose_unit", "frequency", "times_per_day", "start", "end"
        ),
    )


def _dosage(r: MedicationRecord, route: dict[str, Any]) -> dict[str, Any]:
    """One Dosage (https://hl7.org/fhir/R4/dosage.html) with only what the row says.

    A blank dose or frequency leaves its element out (FHIR has no null). The dose taken is
    always ``doseAndRate.doseQuantity`` per administration with ``timing.repeat`` saying how
    often (``frequency`` per ``period`` ``periodUnit``), so the total per day is
    dose × frequency / (period in days) for every statement. A daily total (``daily_total``)
    is written as that dose once per day, flagged (``dosage-daily-total``) because how it was
    split over the day was not recorded; a blank frequency never turns a per-administration
    dose into a total, and ``maxDosePerPeriod`` (a limit, not a dose taken) is never used.
    """
    dose = None
    if r.dose is not None:
        assert r.dose_unit is not None  # the mapper refuses a dose without its unit
        dose = (quantity(r.dose, r.dose_unit), f"{r.dose} {_unit_text(r.dose_unit)}")
    dosage: dict[str, Any] = {}
    if r.daily_total:
        if dose is not None:
            dosage["extension"] = [{"url": ext.DOSAGE_DAILY_TOTAL, "valueBoolean": True}]
            dosage["text"] = f"{dose[1]} per day in total (how it was divided is not recorded)"
            dosage["timing"] = {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}}
        dosage["route"] = route
        if dose is not None:
            dosage["doseAndRate"] = [{"doseQuantity": dose[0]}]
        return dosage
    schedule = r.schedule
    if dose is not None:
        dosage["text"] = (
            f"{dose[1]} {_how_often(schedule)}"
            if schedule is not None
            else f"{dose[1]} per administration, frequency not recorded"
        )
    elif schedule is not None:
        dosage["text"] = f"{_how_often(schedule)}, dose not recorded"
    if schedule is not None:
        dosage["timing"] = {
            "repeat": {
                "frequency": schedule.frequency,
                "period": schedule.period,
                "periodUnit": schedule.period_unit,
            }
        }
    dosage["route"] = route
    if dose is not None:
        dosage["doseAndRate"] = [{"doseQuantity": dose[0]}]
    return dosage


_PERIOD_WORDS = {"h": ("an hour", "hours"), "d": ("a day", "days"), "wk": ("a week", "weeks")}


def _how_often(schedule: Schedule) -> str:
    """'2 time(s) a day', '1 time(s) every 8 hours': Dosage.text, read by people."""
    one, many = _PERIOD_WORDS[schedule.period_unit]
    every = one if schedule.period == 1 else f"every {schedule.period} {many}"
    return f"{schedule.frequency} time(s) {every}"


def _unit_text(unit: str) -> str:
    return "IU" if unit == "[IU]" else unit


class MedicationBuilder(ResourceBuilder):
    def build(self, record: Any, ctx: BuildContext) -> Resource:
        r: MedicationRecord = record
        codes = ctx.spec.codes
        drug = codes.drugs[r.drug]
        ms = ctx.head("MedicationStatement", natural_key(ctx.subject, r.line))
        ms["status"] = "completed" if r.end else "active"
        if r.continued_by is not None:
            # The line ended because the dose changed, not because the drug was stopped.
            ms["statusReason"] = [
                {"text": f"Dose changed: continued at another dose as line {r.continued_by}"}
            ]
        codings = []
        if drug.rxnorm is not None:
            codings.append({"system": RXNORM, "code": drug.rxnorm, "display": drug.rxnorm_display})
        codings.append({"system": ATC, "code": drug.atc, "display": drug.atc_display})
        ms["medicationCodeableConcept"] = {"coding": codings, "text": drug.name}
        ms["subject"] = ctx.patient_ref
        ms["effectivePeriod"] = {"start": r.start, **({"end": r.end} if r.end else {})}
        if ctx.spec.study.data_cutoff:
            ms["dateAsserted"] = ctx.spec.study.data_cutoff
        route = {"coding": [coding(codes.routes[drug.route])]}
        ms["dosage"] = [_dosage(r, route)]
        return ms

    def dates(self, record: Any) -> Iterable[str]:
        return (record.start, record.end) if record.end else (record.start,)


KIND = Kind(
    NAME,
    (
        ResourceRule(
            "MedicationStatement",
            "med",
            "medication-line",
            entered_in_error=status_entered_in_error,
        ),
    ),
    section="medications",
    compile=_compile,
    builder=MedicationBuilder(),
)
