"""What every kind's FHIR builder shares: the study's naming rules for one participant and
the small R4 datatypes (Coding, CodeableConcept, Quantity) built the same way everywhere.

Kinds (``fhir_adapter.kinds``) build their resources with these; nothing here names a kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from fhir_adapter.fhir.keys import ResourceKey
from fhir_adapter.mapping.spec import Coding, MappingSpec

UCUM = "http://unitsofmeasure.org"
# The ICD-10 edition a study chose (``study.icd10``) and the system of the one it did not.
ICD10_SYSTEMS = {"who": "http://hl7.org/fhir/sid/icd-10", "cm": "http://hl7.org/fhir/sid/icd-10-cm"}

Resource = dict[str, Any]


class Naming(Protocol):
    """Ids and identifier systems per resource type (``kinds.Registry``)."""

    def resource_id(self, study_key: str, resource_type: str, key: str) -> str: ...

    def identifier_system(self, base: str, resource_type: str) -> str: ...


@dataclass(frozen=True, slots=True)
class BuildContext:
    """One participant's building context: the mapping, how ids are made, the study's and
    the participant's references."""

    spec: MappingSpec
    naming: Naming
    study_id: str
    subject: str
    patient_ref: dict[str, str]

    @property
    def study(self) -> str:
        return self.spec.study.key

    def head(self, resource_type: str, key: str) -> Resource:
        """``resourceType``, our deterministic ``id`` and the business identifier of ``key``."""
        base = self.spec.study.identifier_base
        return {
            "resourceType": resource_type,
            "id": self.naming.resource_id(self.study, resource_type, key),
            "identifier": [
                {"system": self.naming.identifier_system(base, resource_type), "value": key}
            ],
        }

    def ref(self, resource_type: str, key: str) -> dict[str, str]:
        """A Reference to our resource of ``resource_type`` with natural ``key``."""
        rid = self.naming.resource_id(self.study, resource_type, key)
        return ResourceKey(resource_type, rid).reference()

    def study_ref(self) -> dict[str, str]:
        return ResourceKey("ResearchStudy", self.study_id).reference()


def coding(c: Coding) -> dict[str, str]:
    out = {"system": c.system, "code": c.code}
    if c.display:
        out["display"] = c.display
    return out


def condition_codings(spec: MappingSpec, key: str) -> list[dict[str, str]]:
    """A catalogue condition's codings, without those of the ICD-10 edition the study did
    not choose (a Condition and the ResearchStudy's condition say the same)."""
    other = {s for edition, s in ICD10_SYSTEMS.items() if edition != spec.study.icd10}
    return [coding(c) for c in spec.codes.conditions[key].codings if c.system not in other]


def concept(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    """A CodeableConcept of one coding."""
    c = {"system": system, "code": code}
    if display:
        c["display"] = display
    return {"coding": [c]}


def quantity(value: Decimal, unit: str, comparator: str | None = None) -> dict[str, Any]:
    """A UCUM Quantity (the unit written as its code)."""
    q: dict[str, Any] = {"value": value}
    if comparator:
        q["comparator"] = comparator
    q.update(unit=unit, system=UCUM, code=unit)
    return q


def with_extensions(resource: Resource, extensions: list[dict[str, Any]]) -> Resource:
    """``resource`` with ``extension`` placed after ``id`` (where R4 JSON puts it), if any."""
    if not extensions:
        return resource
    out: Resource = {"resourceType": resource["resourceType"], "id": resource["id"]}
    out["extension"] = extensions
    out.update((k, v) for k, v in resource.items() if k not in out)
    return out
