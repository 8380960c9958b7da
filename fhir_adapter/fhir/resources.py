"""Records → FHIR R4 resources as plain dicts (fast, deterministic key order): the study,
the participant's own Patient and ResearchSubject and its closing Provenance here; every
other resource by its kind's builder (``kinds``), asked through the registry.

Structure follows the FHIR R4 (4.0.1) resource definitions; every shape built here is
checked against the fhir.resources models and the HAPI server's ``$validate`` in the tests.
"""

from __future__ import annotations

from typing import Any

from fhir_adapter import __version__
from fhir_adapter.fhir import extensions as ext
from fhir_adapter.fhir.build import (
    BuildContext,
    coding,
    concept,
    condition_codings,
    with_extensions,
)
from fhir_adapter.fhir.ids import with_resource_key_tag
from fhir_adapter.fhir.keys import ResourceKey
from fhir_adapter.kinds import Built, Registry
from fhir_adapter.kinds import registry as kinds_registry
from fhir_adapter.mapping.records import Origin, Participant, ParticipantRecords
from fhir_adapter.mapping.spec import MappingSpec

Resource = dict[str, Any]


class ResourceFactory:
    """Builds every resource of a study from its mapping and one participant's records."""

    def __init__(self, spec: MappingSpec, mapping_name: str, registry: Registry | None = None):
        self.spec = spec
        self.registry = registry or kinds_registry
        self.study = spec.study.key
        self.codes = spec.codes
        self.policy = f"urn:fhir-adapter:mapping:{mapping_name}:{spec.mapping_version}"
        self.study_id = self.registry.resource_id(
            self.study, "ResearchStudy", spec.study.identifier.value
        )
        self._builders = [(k.name, k.builder) for k in self.registry.kinds if k.builder is not None]

    def _context(self, subject: str) -> BuildContext:
        patient_id = self.registry.resource_id(self.study, "Patient", subject)
        patient_ref = ResourceKey("Patient", patient_id).reference()
        return BuildContext(self.spec, self.registry, self.study_id, subject, patient_ref)

    # --- study level -------------------------------------------------------------------------

    def research_study(self) -> Resource:
        s = self.spec.study
        out: Resource = {
            "resourceType": "ResearchStudy",
            "id": self.study_id,
            "identifier": [{"system": s.identifier.system, "value": s.identifier.value}],
            "title": s.title,
            "status": s.status,
        }
        if s.primary_purpose:
            out["primaryPurposeType"] = concept(
                "http://terminology.hl7.org/CodeSystem/research-study-prim-purp-type",
                s.primary_purpose,
            )
        if s.phase:
            out["phase"] = concept(
                "http://terminology.hl7.org/CodeSystem/research-study-phase", s.phase
            )
        if self.spec.diagnosis:
            codings = condition_codings(self.spec, self.spec.diagnosis.condition)
            out["condition"] = [{"coding": codings}]
        if s.description:
            out["description"] = s.description
        if s.period_start or s.period_end:
            out["period"] = {
                k: v for k, v in (("start", s.period_start), ("end", s.period_end)) if v
            }
        out["arm"] = [
            {"name": a.name, **({"description": a.description} if a.description else {})}
            for a in s.arms
        ]
        return out

    # --- participant level -------------------------------------------------------------------

    def participant(self, records: ParticipantRecords) -> list[tuple[Resource, Origin]]:
        """All resources of one participant with the row each came from: its Patient and
        ResearchSubject, every kind's resources in registry order, Provenance last."""
        p = records.participant
        ctx = self._context(p.subject)
        built = [Built(r, p.origin, p) for r in self._own(ctx, p)]
        for name, builder in self._builders:
            built.extend(Built(builder.build(r, ctx), r.origin, r) for r in records.of(name))
        for _, builder in self._builders:
            built = builder.link(built, ctx)
        out = [(b.resource, b.origin) for b in built]
        out.append((self._provenance(ctx, records, [r for r, _ in out]), p.origin))
        tagged = self.registry.tag_matched
        return [
            (with_resource_key_tag(r) if r["resourceType"] in tagged else r, origin)
            for r, origin in out
        ]

    def _own(self, ctx: BuildContext, p: Participant) -> list[Resource]:
        """The participant's own resources: Patient and ResearchSubject (enrolment)."""
        patient = ctx.head("Patient", p.subject)
        if p.sex is not None:  # blank with required: false; FHIR has no null, so leave it out
            patient["gender"] = p.sex
        if p.birth_date is not None:
            patient["birthDate"] = p.birth_date

        extensions: list[dict[str, Any]] = []
        if p.end_reason is not None:
            extensions.append(
                {
                    "url": ext.RESEARCH_SUBJECT_OFF_STUDY_REASON,
                    "valueCodeableConcept": {
                        "coding": [coding(self.codes.end_reasons[p.end_reason])]
                    },
                }
            )
        if p.stratum is not None:
            extensions.append({"url": ext.RESEARCH_SUBJECT_STRATUM, "valueString": p.stratum})
        enrolment = with_extensions(ctx.head("ResearchSubject", p.subject), extensions)
        enrolment["status"] = p.status
        enrolment["period"] = {"start": p.enrolled, **({"end": p.end} if p.end else {})}
        enrolment["study"] = ctx.study_ref()
        enrolment["individual"] = ctx.patient_ref
        enrolment["assignedArm"] = p.arm_name
        return [patient, enrolment]

    def _provenance(
        self, ctx: BuildContext, records: ParticipantRecords, targets: list[Resource]
    ) -> Resource:
        head = ctx.head("Provenance", ctx.subject)
        return {
            "resourceType": "Provenance",
            "id": head["id"],
            "target": [ResourceKey.of(r).reference() for r in targets],
            "recorded": f"{self._latest_date(records)}T00:00:00Z",
            "policy": [self.policy],
            "agent": [{"who": {"display": f"fhir-adapter {__version__}"}}],
            "entity": [
                {"role": "source", "what": {"display": text}} for text in _source_rows(records)
            ],
        }

    def _latest_date(self, records: ParticipantRecords) -> str:
        """Deterministic 'recorded' instant: the latest full date among the participant's
        enrolment and the dates each kind's builder names (``ResourceBuilder.dates``)."""
        p = records.participant
        dates = [p.enrolled, *([p.end] if p.end else [])]
        for name, builder in self._builders:
            for record in records.of(name):
                dates.extend(builder.dates(record))
        full = [d for d in dates if len(d) == 10]
        # With only year-precision dates (format: year), the start of the latest year.
        return max(full) if full else f"{max(dates)[:4]}-01-01"


def _source_rows(records: ParticipantRecords) -> list[str]:
    """'visits.csv rows 2, 3, 7' per file: where every value of this participant came from."""
    rows: dict[str, set[int]] = {}
    for origin in records.origins():
        rows.setdefault(origin.file, set()).add(origin.row)
    return [
        f"{file} row{'s' if len(numbers) > 1 else ''} {', '.join(str(n) for n in sorted(numbers))}"
        for file, numbers in sorted(rows.items())
    ]
