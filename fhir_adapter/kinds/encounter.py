"""Visits: one Encounter per protocol visit of a participant, derived from the observations.

A visit comes from the observations sections' ``visit`` and ``date`` columns: one Encounter
per distinct visit of a participant, dated by its rows. Two different dates for one visit
are a row error on each of its rows (rule ``visit-date``): which date is right cannot be
told. Each Observation of the visit then points at it (``Observation.encounter``), so a
registry can query results by time point and compare planned with actual visits.

R4 choices (https://hl7.org/fhir/R4/encounter.html): ``status`` ``finished`` (the visit
took place: it has results); ``class`` AMB "ambulatory" from
http://terminology.hl7.org/CodeSystem/v3-ActCode (the extensible R4 binding is
v3-ActEncounterCode; AMB is confirmed in HL7 Terminology's ValueSet
v3-ActAmbulatoryEncounterCode: care "on a nonresident basis", the outpatient trial visit);
``type`` the protocol visit as text only (no code system names trial time points);
``period`` start and end the visit date; R4 Encounter has no element for a research study,
so the core extension ``workflow-researchStudy`` ("this event is relevant to the specified
research study") names the ResearchStudy (HAPI's R4 ``$validate`` accepts it on Encounter).
Removed from the source, an Encounter is marked ``entered-in-error`` (an R4 status).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from fhir_adapter.fhir.build import BuildContext, with_extensions
from fhir_adapter.fhir.ids import natural_key
from fhir_adapter.kinds._kind import (
    Built,
    Kind,
    MapContext,
    Mapped,
    Resource,
    ResourceBuilder,
    ResourceRule,
    SectionMapper,
    status_entered_in_error,
)
from fhir_adapter.mapping.dependents import bad_rows
from fhir_adapter.mapping.records import Measurement, Origin, RowError
from fhir_adapter.mapping.rowreader import Rows, SectionTools

__all__ = ["KIND", "Visit"]

NAME = "encounter"
OBSERVATION = "observation"  # the kind whose rows name the visits (kinds.observation)
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
RESEARCH_STUDY = "http://hl7.org/fhir/StructureDefinition/workflow-researchStudy"


@dataclass(frozen=True, slots=True)
class Visit:
    """One visit of a participant: its protocol name, its date, its first row."""

    visit: str
    date: str
    origin: Origin


@dataclass(frozen=True)
class VisitMapper(SectionMapper):
    """Derived: reads the participant's observations, not rows of its own."""

    date_columns: dict[str, str | None]  # source file → the date column its visits come from
    kind: ClassVar[str] = NAME
    derived: ClassVar[bool] = True

    def map_rows(self, rows: Rows, context: MapContext) -> Mapped:
        bad = bad_rows(context.errors)
        by_visit: dict[str, list[Measurement]] = {}
        for m in context.records.of(OBSERVATION):
            if (m.origin.file, m.origin.row) not in bad:
                by_visit.setdefault(m.visit, []).append(m)
        visits = []
        for visit, results in by_visit.items():
            if len({m.date for m in results}) > 1:
                self._conflict(results, context.errors)
                continue
            first = results[0].origin
            visits.append(Visit(visit, results[0].date, Origin(first.file, first.row)))
        return Mapped(visits, [])

    def _conflict(self, results: list[Measurement], errors: list[RowError]) -> None:
        """Every row of a visit with two dates is an error (no date or visit is shown)."""
        rows = sorted({(m.origin.file, m.origin.row) for m in results})
        numbers = ", ".join(str(row) for _, row in rows)
        for file, row in rows:
            errors.append(
                RowError(
                    file,
                    row,
                    self.date_columns.get(file),
                    "visit-date",
                    f"rows {numbers} give one visit different dates; which one is right "
                    "cannot be told",
                )
            )


def _compile(tools: SectionTools) -> VisitMapper | None:
    sections = tools.spec.observations
    if not sections:
        return None
    columns: dict[str, set[str | None]] = {}
    for section in sections:
        file = tools.spec.tables[section.table].file
        columns.setdefault(file, set()).add(section.date.column)
    # A file read by sections with different date columns names none (rare, still exact).
    return VisitMapper({f: next(iter(c)) if len(c) == 1 else None for f, c in columns.items()})


class VisitBuilder(ResourceBuilder):
    def build(self, record: Any, ctx: BuildContext) -> Resource:
        v: Visit = record
        head = ctx.head("Encounter", natural_key(ctx.subject, v.visit))
        e = with_extensions(head, [{"url": RESEARCH_STUDY, "valueReference": ctx.study_ref()}])
        e["status"] = "finished"
        e["class"] = {"system": ACT_CODE, "code": "AMB", "display": "ambulatory"}
        e["type"] = [{"text": v.visit}]
        e["subject"] = ctx.patient_ref
        e["period"] = {"start": v.date, "end": v.date}
        return e

    def dates(self, record: Any) -> Iterable[str]:
        return (record.date,)

    def link(self, built: Sequence[Built], ctx: BuildContext) -> list[Built]:
        """Each Observation of a visit points at its Encounter (``Observation.encounter``,
        placed after ``subject`` as in the R4 element order)."""
        visits = {b.record.visit for b in built if isinstance(b.record, Visit)}
        out = []
        for b in built:
            m = b.record
            if isinstance(m, Measurement) and m.visit in visits:
                ref = ctx.ref("Encounter", natural_key(ctx.subject, m.visit))
                b = Built(_after(b.resource, "subject", "encounter", ref), b.origin, m)
            out.append(b)
        return out


def _after(resource: Resource, key: str, new: str, value: Any) -> Resource:
    out: Resource = {}
    for k, v in resource.items():
        out[k] = v
        if k == key:
            out[new] = value
    return out


KIND = Kind(
    NAME,
    (ResourceRule("Encounter", "enc", "visit", entered_in_error=status_entered_in_error),),
    compile=_compile,
    builder=VisitBuilder(),
)
