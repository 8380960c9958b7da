"""Records → FHIR R4 resources as plain dicts (fast, deterministic key order).

Structure follows the FHIR R4 (4.0.1) resource definitions; every shape built here is
checked against the fhir.resources models and the HAPI server's ``$validate`` in the tests.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from fhir_adapter import __version__
from fhir_adapter.fhir import extensions as ext
from fhir_adapter.fhir.ids import natural_key, with_resource_key_tag
from fhir_adapter.fhir.keys import ResourceKey
from fhir_adapter.kinds import registry
from fhir_adapter.mapping.frequency import Schedule
from fhir_adapter.mapping.records import (
    AdverseEventRecord,
    Measurement,
    MedicationRecord,
    Origin,
    ParticipantRecords,
    ProcedureRecord,
    ProductRecord,
)
from fhir_adapter.mapping.spec import Coding, MappingSpec

UCUM = "http://unitsofmeasure.org"
LOINC = "http://loinc.org"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CATEGORY_DISPLAY = {"laboratory": "Laboratory", "vital-signs": "Vital Signs"}
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
# The ICD-10 edition a study chose (``study.icd10``) and the system of the one it did not.
ICD10_SYSTEMS = {"who": "http://hl7.org/fhir/sid/icd-10", "cm": "http://hl7.org/fhir/sid/icd-10-cm"}
ATC = "http://www.whocc.no/atc"
# The R4 (4.0.1) AdverseEventSeriousness code system writes its codes capitalised; HAPI's R4
# validator rejects the lowercase codes later releases of terminology.hl7.org use.
R4_SERIOUSNESS = {"serious": ("Serious", "Serious"), "non-serious": ("Non-serious", "Non-serious")}

Resource = dict[str, Any]


def _edition(codings: list[Coding], icd10: str) -> list[Coding]:
    """The codings without those of the ICD-10 edition the study did not choose."""
    other = {system for edition, system in ICD10_SYSTEMS.items() if edition != icd10}
    return [c for c in codings if c.system not in other]


def _coding(c: Coding) -> dict[str, str]:
    out = {"system": c.system, "code": c.code}
    if c.display:
        out["display"] = c.display
    return out


def _concept(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}


def _quantity(value: Decimal, unit: str, comparator: str | None = None) -> dict[str, Any]:
    q: dict[str, Any] = {"value": value}
    if comparator:
        q["comparator"] = comparator
    q.update(unit=unit, system=UCUM, code=unit)
    return q


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
        assert r.dose_unit is not None  # the engine refuses a dose without its unit
        dose = (_quantity(r.dose, r.dose_unit), f"{r.dose} {_unit_text(r.dose_unit)}")
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


class ResourceFactory:
    """Builds every resource of a study from its mapping and one participant's records."""

    def __init__(self, spec: MappingSpec, mapping_name: str):
        self.spec = spec
        self.study = spec.study.key
        self.base = spec.study.identifier_base
        self.codes = spec.codes
        self.policy = f"urn:fhir-adapter:mapping:{mapping_name}:{spec.mapping_version}"
        self.study_id = registry.resource_id(
            self.study, "ResearchStudy", spec.study.identifier.value
        )

    def _condition_codings(self, key: str) -> list[Coding]:
        return _edition(self.codes.conditions[key].codings, self.spec.study.icd10)

    def _head(self, resource_type: str, key: str) -> Resource:
        return {
            "resourceType": resource_type,
            "id": registry.resource_id(self.study, resource_type, key),
            "identifier": [
                {"system": registry.identifier_system(self.base, resource_type), "value": key}
            ],
        }

    def _ref(self, resource_type: str, key: str) -> dict[str, str]:
        rid = registry.resource_id(self.study, resource_type, key)
        return ResourceKey(resource_type, rid).reference()

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
            out["primaryPurposeType"] = _concept(
                "http://terminology.hl7.org/CodeSystem/research-study-prim-purp-type",
                s.primary_purpose,
            )
        if s.phase:
            out["phase"] = _concept(
                "http://terminology.hl7.org/CodeSystem/research-study-phase", s.phase
            )
        if self.spec.diagnosis:
            codings = self._condition_codings(self.spec.diagnosis.condition)
            out["condition"] = [{"coding": [_coding(c) for c in codings]}]
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
        """All resources of one participant with the row each came from; Provenance last."""
        p = records.participant
        subject = p.subject
        patient_ref = self._ref("Patient", subject)
        out: list[tuple[Resource, Origin]] = []
        patient = self._head("Patient", subject)
        if p.sex is not None:  # blank with required: false; FHIR has no null, so leave it out
            patient["gender"] = p.sex
        if p.birth_date is not None:
            patient["birthDate"] = p.birth_date
        out.append((patient, p.origin))

        enrolment = self._head("ResearchSubject", subject)
        extensions: list[dict[str, Any]] = []
        if p.end_reason is not None:
            extensions.append(
                {
                    "url": ext.RESEARCH_SUBJECT_OFF_STUDY_REASON,
                    "valueCodeableConcept": {
                        "coding": [_coding(self.codes.end_reasons[p.end_reason])]
                    },
                }
            )
        if p.stratum is not None:
            extensions.append({"url": ext.RESEARCH_SUBJECT_STRATUM, "valueString": p.stratum})
        if extensions:
            enrolment = {
                "resourceType": enrolment["resourceType"],
                "id": enrolment["id"],
                "extension": extensions,
                "identifier": enrolment["identifier"],
            }
        enrolment["status"] = p.status
        enrolment["period"] = {"start": p.enrolled, **({"end": p.end} if p.end else {})}
        enrolment["study"] = ResourceKey("ResearchStudy", self.study_id).reference()
        enrolment["individual"] = patient_ref
        enrolment["assignedArm"] = p.arm_name
        out.append((enrolment, p.origin))

        if records.diagnosis:
            out.append((self._condition(subject, records, patient_ref), records.diagnosis.origin))
        out.extend(
            (self._observation(subject, m, patient_ref), m.origin) for m in records.measurements
        )
        out.extend((self._procedure(subject, r, patient_ref), r.origin) for r in records.procedures)
        out.extend((self._product(subject, r, patient_ref), r.origin) for r in records.products)
        out.extend(
            (self._medication(subject, r, patient_ref), r.origin) for r in records.medications
        )
        out.extend(
            (self._adverse_event(subject, r, patient_ref), r.origin) for r in records.adverse_events
        )
        out.append((self._provenance(subject, records, [r for r, _ in out]), p.origin))
        tagged = registry.tag_matched
        return [
            (with_resource_key_tag(r) if r["resourceType"] in tagged else r, origin)
            for r, origin in out
        ]

    def _condition(
        self, subject: str, records: ParticipantRecords, patient_ref: dict[str, str]
    ) -> Resource:
        d = records.diagnosis
        assert d is not None
        c = self._head("Condition", natural_key(subject, d.condition))
        codings = self._condition_codings(d.condition)
        c["clinicalStatus"] = _concept(
            "http://terminology.hl7.org/CodeSystem/condition-clinical", "active", "Active"
        )
        c["verificationStatus"] = _concept(
            "http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed", "Confirmed"
        )
        c["category"] = [
            _concept(
                "http://terminology.hl7.org/CodeSystem/condition-category",
                "problem-list-item",
                "Problem List Item",
            )
        ]
        c["code"] = {"coding": [_coding(x) for x in codings]}
        c["subject"] = patient_ref
        c["onsetDateTime"] = d.onset
        c["recordedDate"] = d.recorded
        return c

    def _observation(self, subject: str, m: Measurement, patient_ref: dict[str, str]) -> Resource:
        analyte = self.codes.analytes[m.analyte]
        form = analyte.forms[m.unit]
        o = self._head("Observation", natural_key(subject, m.visit, m.analyte))
        if m.converted is not None:
            # The measured value keeps its code; the converted one asserts no method.
            o = {
                "resourceType": o["resourceType"],
                "id": o["id"],
                "extension": [
                    {
                        "url": ext.OBSERVATION_CONVERTED_VALUE,
                        "valueQuantity": _quantity(m.converted.value, m.converted.unit),
                    }
                ],
                "identifier": o["identifier"],
            }
        o["status"] = "final"
        o["category"] = [
            _concept(OBS_CATEGORY, analyte.category, CATEGORY_DISPLAY[analyte.category])
        ]
        o["code"] = _concept(LOINC, form.loinc, form.display)
        o["subject"] = patient_ref
        o["effectiveDateTime"] = m.date
        o["valueQuantity"] = _quantity(m.value, m.unit, m.comparator)
        return o

    def _procedure(self, subject: str, r: ProcedureRecord, patient_ref: dict[str, str]) -> Resource:
        kind = self.codes.procedures[r.kind]
        pr = self._head("Procedure", natural_key(subject, r.id))
        extensions: list[dict[str, Any]] = []
        route = r.route or kind.route
        if route:
            extensions.append(
                {
                    "url": ext.PROCEDURE_ROUTE,
                    "valueCodeableConcept": {"coding": [_coding(self.codes.routes[route])]},
                }
            )
        if r.product:
            extensions.append(
                {
                    "url": ext.PROCEDURE_USED,
                    "valueReference": self._ref(
                        "BiologicallyDerivedProduct", natural_key(subject, r.product)
                    ),
                }
            )
        if extensions:
            pr = {
                "resourceType": pr["resourceType"],
                "id": pr["id"],
                "extension": extensions,
                "identifier": pr["identifier"],
            }
        pr["status"] = "completed"
        pr["code"] = {
            **({"coding": [_coding(kind.coding)]} if kind.coding else {}),
            "text": kind.text,
        }
        pr["subject"] = patient_ref
        pr["performedDateTime"] = r.date
        site = r.body_site or kind.body_site
        if site:
            concept = self.codes.body_sites[site]
            pr["bodySite"] = [
                {
                    **({"coding": [_coding(concept.coding)]} if concept.coding else {}),
                    "text": concept.text,
                }
            ]
        return pr

    def _product(self, subject: str, r: ProductRecord, patient_ref: dict[str, str]) -> Resource:
        cell = self.codes.cell_types[r.cell_type]
        head = self._head("BiologicallyDerivedProduct", natural_key(subject, r.id))
        extensions: list[dict[str, Any]] = []
        if r.harvest:
            extensions.append(
                {
                    "url": ext.PRODUCT_COLLECTION_PROCEDURE,
                    "valueReference": self._ref("Procedure", natural_key(subject, r.harvest)),
                }
            )
        if r.dose is not None:
            assert r.dose_unit is not None  # the engine refuses a dose without its unit
            extensions.append(
                {"url": ext.PRODUCT_CELL_DOSE, "valueQuantity": _quantity(r.dose, r.dose_unit)}
            )
        if r.viability is not None:
            extensions.append(
                {"url": ext.PRODUCT_VIABILITY, "valueQuantity": _quantity(r.viability, "%")}
            )
        out: Resource = {
            "resourceType": head["resourceType"],
            "id": head["id"],
            **({"extension": extensions} if extensions else {}),
            "identifier": head["identifier"],
            "productCategory": "cells",
            "productCode": {
                **({"coding": [_coding(cell.coding)]} if cell.coding else {}),
                "text": cell.text,
            },
            "collection": {"source": patient_ref, "collectedDateTime": r.collected},
        }
        return out

    def _medication(
        self, subject: str, r: MedicationRecord, patient_ref: dict[str, str]
    ) -> Resource:
        drug = self.codes.drugs[r.drug]
        ms = self._head("MedicationStatement", natural_key(subject, r.line))
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
        ms["subject"] = patient_ref
        ms["effectivePeriod"] = {"start": r.start, **({"end": r.end} if r.end else {})}
        if self.spec.study.data_cutoff:
            ms["dateAsserted"] = self.spec.study.data_cutoff
        route = {"coding": [_coding(self.codes.routes[drug.route])]}
        ms["dosage"] = [_dosage(r, route)]
        return ms

    def _adverse_event(
        self, subject: str, r: AdverseEventRecord, patient_ref: dict[str, str]
    ) -> Resource:
        head = self._head("AdverseEvent", natural_key(subject, r.id))
        out: Resource = {
            "resourceType": "AdverseEvent",
            "id": head["id"],
            "identifier": head["identifier"][0],  # 0..1 in R4
            "actuality": "actual",
            "event": {"text": r.term},
            "subject": patient_ref,
            "date": r.onset,
        }
        out["seriousness"] = _concept(
            "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness",
            *R4_SERIOUSNESS[r.serious],
        )
        out["severity"] = _concept(
            "http://terminology.hl7.org/CodeSystem/adverse-event-severity",
            r.severity,
            r.severity.capitalize(),
        )
        if r.outcome:
            out["outcome"] = _concept(
                "http://terminology.hl7.org/CodeSystem/adverse-event-outcome", r.outcome
            )
        out["study"] = [ResourceKey("ResearchStudy", self.study_id).reference()]
        return out

    def _provenance(
        self, subject: str, records: ParticipantRecords, targets: list[Resource]
    ) -> Resource:
        head = self._head("Provenance", subject)
        out: Resource = {
            "resourceType": "Provenance",
            "id": head["id"],
            "target": [ResourceKey.of(r).reference() for r in targets],
            "recorded": f"{_latest_date(records)}T00:00:00Z",
            "policy": [self.policy],
            "agent": [{"who": {"display": f"fhir-adapter {__version__}"}}],
            "entity": [
                {"role": "source", "what": {"display": text}} for text in _source_rows(records)
            ],
        }
        return out


def _origins(records: ParticipantRecords) -> Iterable[Origin]:
    yield records.participant.origin
    if records.diagnosis:
        yield records.diagnosis.origin
    for group in (
        records.measurements,
        records.procedures,
        records.products,
        records.medications,
        records.adverse_events,
    ):
        for record in group:
            yield record.origin


def _source_rows(records: ParticipantRecords) -> list[str]:
    """'visits.csv rows 2, 3, 7' per file: where every value of this participant came from."""
    rows: dict[str, set[int]] = {}
    for origin in _origins(records):
        rows.setdefault(origin.file, set()).add(origin.row)
    return [
        f"{file} row{'s' if len(numbers) > 1 else ''} {', '.join(str(n) for n in sorted(numbers))}"
        for file, numbers in sorted(rows.items())
    ]


def _latest_date(records: ParticipantRecords) -> str:
    """Deterministic 'recorded' instant: the latest full date in the participant's records."""
    p = records.participant
    dates = [p.enrolled, *([p.end] if p.end else [])]
    dates += [m.date for m in records.measurements]
    dates += [r.date for r in records.procedures]
    dates += [r.start for r in records.medications] + [r.end for r in records.medications if r.end]
    dates += [r.onset for r in records.adverse_events]
    full = [d for d in dates if len(d) == 10]
    # With only year-precision dates (format: year), the start of the latest year.
    return max(full) if full else f"{max(dates)[:4]}-01-01"
