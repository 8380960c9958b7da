"""The diagnosis: one Condition per participant (the study's condition, with its onset)."""

from fhir_adapter.kinds._kind import Kind, Resource, ResourceRule
from fhir_adapter.mapping.spec import Diagnosis as Section

__all__ = ["KIND", "Section"]


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


KIND = Kind(
    "diagnosis",
    (ResourceRule("Condition", "cond", "diagnosis", entered_in_error=_refuted_entry),),
    section="diagnosis",
)
