"""The diagnosis: one Condition per participant (the study's condition, with its onset)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from fhir_adapter.fhir.build import BuildContext, concept, condition_codings
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
from fhir_adapter.mapping.records import Diagnosis, RowError
from fhir_adapter.mapping.rowreader import RowReader, Rows, SectionTools
from fhir_adapter.mapping.selection import SectionRows
from fhir_adapter.mapping.spec import Diagnosis as Section

__all__ = ["KIND", "Section"]

NAME = "diagnosis"


def _refuted_entry(resource: Resource) -> None:
    resource["verificationStatus"] = {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                "code": "entered-in-error",
                "display": "Entered in Error",
            }
        ]
    }
    resource.pop("clinicalStatus", None)  # con-5: no clinicalStatus when entered-in-error


@dataclass(frozen=True)
class DiagnosisMapper(SectionMapper):
    """The participant's one diagnosis row; a second row is an error, not a second record."""

    section: Section
    selector: SectionRows
    onset: F.Reader | None
    kind: ClassVar[str] = NAME

    def map_rows(self, rows: Rows, context: MapContext) -> Mapped:
        selected = self.selector.select(rows, context.errors)
        for extra in selected[1:]:
            context.errors.append(
                RowError(
                    extra.file,
                    extra.number,
                    self.section.subject,
                    "duplicate",
                    "a second diagnosis row for this participant (one is mapped per person)",
                )
            )
        for row in selected[:1]:
            r = RowReader(row, context.errors, context.birth, context.cutoff)
            onset = r.get(self.onset)
            r.after_birth(onset, self.section.onset)
            if not r.failed:
                enrolled = context.participant.enrolled
                return Mapped([Diagnosis(self.section.condition, onset, enrolled, r.origin)], [])
        return Mapped([], [])


def _compile(tools: SectionTools) -> DiagnosisMapper | None:
    section = tools.spec.diagnosis
    if section is None:
        return None
    return DiagnosisMapper(section, tools.rows(section), tools.read(section, "onset"))


class DiagnosisBuilder(ResourceBuilder):
    def build(self, record: Any, ctx: BuildContext) -> Resource:
        d: Diagnosis = record
        c = ctx.head("Condition", natural_key(ctx.subject, d.condition))
        c["clinicalStatus"] = concept(
            "http://terminology.hl7.org/CodeSystem/condition-clinical", "active", "Active"
        )
        c["verificationStatus"] = concept(
            "http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed", "Confirmed"
        )
        c["category"] = [
            concept(
                "http://terminology.hl7.org/CodeSystem/condition-category",
                "problem-list-item",
                "Problem List Item",
            )
        ]
        c["code"] = {"coding": condition_codings(ctx.spec, d.condition)}
        c["subject"] = ctx.patient_ref
        c["onsetDateTime"] = d.onset
        c["recordedDate"] = d.recorded
        return c


KIND = Kind(
    NAME,
    (ResourceRule("Condition", "cond", "diagnosis", entered_in_error=_refuted_entry),),
    section="diagnosis",
    compile=_compile,
    builder=DiagnosisBuilder(),
)
