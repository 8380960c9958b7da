"""Observations: one per analyte and visit, from wide (a column per analyte) or long (a row
per result) tables."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from fhir_adapter.fhir import extensions as ext
from fhir_adapter.fhir.build import BuildContext, concept, quantity, with_extensions
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
from fhir_adapter.mapping.measure import Measurer
from fhir_adapter.mapping.records import Measurement, Origin
from fhir_adapter.mapping.rowreader import RowReader, Rows, SectionTools, no_duplicates
from fhir_adapter.mapping.selection import SectionRows
from fhir_adapter.mapping.spec import (
    LongObservations,
    Observations,
    ObservedValue,
    WideObservations,
)
from fhir_adapter.sources.row import SourceRow

__all__ = ["KIND", "LongObservations", "Observations", "WideObservations"]

NAME = "observation"
LOINC = "http://loinc.org"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CATEGORY_DISPLAY = {"laboratory": "Laboratory", "vital-signs": "Vital Signs"}


@dataclass(frozen=True)
class WideLayout:
    """A wide table: one row per visit, a column per analyte."""

    section: WideObservations
    selector: SectionRows
    date: F.Reader | None
    visit: F.Reader | None
    values: tuple[tuple[ObservedValue, F.Reader], ...]

    def map(
        self, rows: Sequence[SourceRow], measurer: Measurer, context: MapContext
    ) -> Iterable[Measurement]:
        for row in rows:
            r = RowReader(row, context.errors, context.birth, context.cutoff)
            date, visit = r.get(self.date), r.get(self.visit)
            r.after_birth(date, self.section.date)
            for spec, reader in self.values:
                parsed = r.get(reader)
                if parsed is None or r.failed:
                    continue
                comparator, number = parsed
                measured = measurer.measure(
                    r, spec.column, spec.analyte, spec.unit, spec.convert_to, spec.decimals, number
                )
                if measured is not None and date is not None and visit is not None:
                    yield Measurement(
                        visit,
                        date,
                        spec.analyte,
                        measured[0],
                        comparator,
                        measured[1],
                        Origin(row.file, row.number, spec.column),
                        measured[2],
                    )


@dataclass(frozen=True)
class LongLayout:
    """A long table: one row per result, with its analyte and unit columns."""

    section: LongObservations
    selector: SectionRows
    date: F.Reader | None
    visit: F.Reader | None
    analyte: F.Reader | None
    value: F.Reader
    unit: F.Reader | None

    def map(
        self, rows: Sequence[SourceRow], measurer: Measurer, context: MapContext
    ) -> Iterable[Measurement]:
        section = self.section
        for row in rows:
            r = RowReader(row, context.errors, context.birth, context.cutoff)
            date, visit = r.get(self.date), r.get(self.visit)
            r.after_birth(date, section.date)
            analyte, parsed, unit = r.get(self.analyte), r.get(self.value), r.get(self.unit)
            if r.failed or parsed is None:
                continue
            conversion = section.convert.get(analyte)
            measured = measurer.measure(
                r,
                section.value,
                analyte,
                unit,
                conversion.to if conversion else None,
                conversion.decimals if conversion else None,
                parsed[1],
                unit_column=section.unit.column,
            )
            if measured is not None:
                yield Measurement(
                    visit,
                    date,
                    analyte,
                    measured[0],
                    parsed[0],
                    measured[1],
                    Origin(row.file, row.number, section.value),
                    measured[2],
                )


@dataclass(frozen=True)
class ObservationMapper(SectionMapper):
    """Every observations section of the mapping, in file order; then one result per visit
    and analyte (two rows giving the same one are both errors)."""

    layouts: tuple[WideLayout | LongLayout, ...]
    measurer: Measurer
    kind: ClassVar[str] = NAME

    def map_rows(self, rows: Rows, context: MapContext) -> Mapped:
        out: list[Measurement] = []
        for layout in self.layouts:
            out.extend(
                layout.map(layout.selector.select(rows, context.errors), self.measurer, context)
            )
        no_duplicates(out, lambda m: (m.visit, m.analyte), "visit and analyte", context.errors)
        return Mapped(out, [])


def _compile(tools: SectionTools) -> ObservationMapper | None:
    layouts: list[WideLayout | LongLayout] = []
    for section in tools.spec.observations:
        options = tools.options[section.table]
        date, visit = tools.fields(section, "date", "visit")
        if isinstance(section, WideObservations):
            values = tuple((v, F.result(v.column, options)) for v in section.values)
            layouts.append(WideLayout(section, tools.rows(section), date, visit, values))
        else:
            layouts.append(
                LongLayout(
                    section,
                    tools.rows(section),
                    date,
                    visit,
                    tools.read(section, "analyte"),
                    F.result(section.value, options),
                    tools.read(section, "unit"),
                )
            )
    if not layouts:
        return None
    return ObservationMapper(tuple(layouts), Measurer(tools.spec.codes))


class ObservationBuilder(ResourceBuilder):
    def build(self, record: Any, ctx: BuildContext) -> Resource:
        m: Measurement = record
        analyte = ctx.spec.codes.analytes[m.analyte]
        form = analyte.forms[m.unit]
        o = ctx.head("Observation", natural_key(ctx.subject, m.visit, m.analyte))
        if m.converted is not None:
            # The measured value keeps its code; the converted one asserts no method.
            o = with_extensions(
                o,
                [
                    {
                        "url": ext.OBSERVATION_CONVERTED_VALUE,
                        "valueQuantity": quantity(m.converted.value, m.converted.unit),
                    }
                ],
            )
        o["status"] = "final"
        o["category"] = [
            concept(OBS_CATEGORY, analyte.category, CATEGORY_DISPLAY[analyte.category])
        ]
        o["code"] = concept(LOINC, form.loinc, form.display)
        o["subject"] = ctx.patient_ref
        o["effectiveDateTime"] = m.date
        o["valueQuantity"] = quantity(m.value, m.unit, m.comparator)
        return o

    def dates(self, record: Any) -> Iterable[str]:
        return (record.date,)


KIND = Kind(
    NAME,
    (ResourceRule("Observation", "obs", "observation", entered_in_error=status_entered_in_error),),
    section="observations",
    many=True,
    compile=_compile,
    builder=ObservationBuilder(),
)
