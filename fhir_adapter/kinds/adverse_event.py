"""Adverse events: one AdverseEvent per event id of a participant."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from fhir_adapter.fhir.build import BuildContext, concept
from fhir_adapter.fhir.ids import natural_key
from fhir_adapter.kinds._kind import (
    Kind,
    MapContext,
    Mapped,
    Resource,
    ResourceBuilder,
    ResourceRule,
    SectionMapper,
)
from fhir_adapter.mapping import fields as F
from fhir_adapter.mapping.records import AdverseEventRecord
from fhir_adapter.mapping.rowreader import (
    RowReader,
    Rows,
    SectionTools,
    map_each_row,
    no_duplicates,
)
from fhir_adapter.mapping.selection import SectionRows
from fhir_adapter.mapping.spec import AdverseEvents as Section

__all__ = ["KIND", "Section"]

NAME = "adverse-event"
# The R4 (4.0.1) AdverseEventSeriousness code system writes its codes capitalised; HAPI's R4
# validator rejects the lowercase codes later releases of terminology.hl7.org use.
R4_SERIOUSNESS = {"serious": ("Serious", "Serious"), "non-serious": ("Non-serious", "Non-serious")}


@dataclass(frozen=True)
class AdverseEventMapper(SectionMapper):
    section: Section
    selector: SectionRows
    id: F.Reader
    onset: F.Reader | None
    term: F.Reader | None
    severity: F.Reader | None
    serious: F.Reader | None
    outcome: F.Reader | None
    kind: ClassVar[str] = NAME

    def map_rows(self, rows: Rows, context: MapContext) -> Mapped:
        selected = self.selector.select(rows, context.errors)
        good, _ = map_each_row(selected, self._make, context.errors, context.birth, context.cutoff)
        no_duplicates(good, lambda r: r.id, "adverse event id", context.errors)
        return Mapped(good, [])  # nothing depends on an adverse event

    def _make(self, r: RowReader) -> AdverseEventRecord:
        aid, onset, term, severity, serious, outcome = (
            r.get(x)
            for x in (self.id, self.onset, self.term, self.severity, self.serious, self.outcome)
        )
        r.after_birth(onset, self.section.onset)
        return AdverseEventRecord(aid, onset, term, severity, serious, outcome, r.origin)


def _compile(tools: SectionTools) -> AdverseEventMapper | None:
    ae = tools.spec.adverse_events
    if ae is None:
        return None
    return AdverseEventMapper(
        ae,
        tools.rows(ae),
        tools.own_id(ae, ae.id),
        *tools.fields(ae, "onset", "term", "severity", "serious", "outcome"),
    )


class AdverseEventBuilder(ResourceBuilder):
    def build(self, record: Any, ctx: BuildContext) -> Resource:
        r: AdverseEventRecord = record
        head = ctx.head("AdverseEvent", natural_key(ctx.subject, r.id))
        out: Resource = {
            "resourceType": "AdverseEvent",
            "id": head["id"],
            "identifier": head["identifier"][0],  # 0..1 in R4
            "actuality": "actual",
            "event": {"text": r.term},
            "subject": ctx.patient_ref,
            "date": r.onset,
        }
        out["seriousness"] = concept(
            "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness",
            *R4_SERIOUSNESS[r.serious],
        )
        out["severity"] = concept(
            "http://terminology.hl7.org/CodeSystem/adverse-event-severity",
            r.severity,
            r.severity.capitalize(),
        )
        if r.outcome:
            out["outcome"] = concept(
                "http://terminology.hl7.org/CodeSystem/adverse-event-outcome", r.outcome
            )
        out["study"] = [ctx.study_ref()]
        return out

    def dates(self, record: Any) -> Iterable[str]:
        return (record.onset,)


# R4 AdverseEvent has no identifier search parameter and no entered-in-error status.
KIND = Kind(
    NAME,
    (ResourceRule("AdverseEvent", "ae", "adverse-event", tag_matched=True),),
    section="adverse_events",
    compile=_compile,
    builder=AdverseEventBuilder(),
)
