"""Participants: a Patient and its ResearchSubject (enrolment) per row of the subject table."""

from fhir_adapter.fhir.extensions import RESEARCH_SUBJECT_OFF_STUDY_REASON
from fhir_adapter.kinds._kind import Kind, Resource, ResourceRule
from fhir_adapter.mapping.spec import Participants as Section

__all__ = ["KIND", "Section"]


def _patient_inactive(resource: Resource) -> None:
    resource["active"] = False  # R4 Patient has no status; 'active' is its record-in-use flag


def _not_registered(resource: Resource) -> None:
    """R4 research-subject-status has no entered-in-error. ``withdrawn`` ("withdrew before
    registration") and ``off-study`` (ended participation: completed, withdrawal, adverse
    event...) state what a person did, so a registry would count a data-error retraction as a
    drop-out. ``not-registered`` ("a person for whom registration was not completed",
    https://hl7.org/fhir/R4/valueset-research-subject-status.html) keeps the record out of
    enrolment counts without claiming a drop-out; the off-study reason goes with the status.
    """
    resource["status"] = "not-registered"
    reason = RESEARCH_SUBJECT_OFF_STUDY_REASON
    extensions = [e for e in resource.get("extension", []) if e.get("url") != reason]
    if extensions:
        resource["extension"] = extensions
    else:
        resource.pop("extension", None)


KIND = Kind(
    "participant",
    (
        ResourceRule("Patient", "pat", "subject", entered_in_error=_patient_inactive),
        ResourceRule("ResearchSubject", "rs", "enrolment", entered_in_error=_not_registered),
    ),
    section="participants",
)
