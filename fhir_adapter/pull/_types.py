"""The resource types a pull fetches, and how each is found: one registry the steps loop over.

- ResearchStudy: by id (read) or identifier (search); see ``_study``.
- ResearchSubject: ``ResearchSubject?study=ResearchStudy/<id>``, with
  ``_include=ResearchSubject:individual`` bringing the Patients along (any Patient the
  include left out is fetched by ``_id``).
- Patient-linked types (``PATIENT_LINKED``): by their R4 search parameter that takes a
  Patient reference, for a batch of the study's Patients at a time.
- BiologicallyDerivedProduct: R4 gives it no search parameter on the patient (its
  ``collection.source`` is not indexed by any standard parameter), so products are found
  by reference from what was already fetched: the participant's Provenance lists them as
  targets, and the infusion Procedure names the product it used. Their ids are fetched with
  ``_id`` searches. A product that nothing of the study references is not found; our
  mapping always writes both links.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PatientLinkedType:
    """A resource type found by a search parameter that takes Patient references."""

    resource_type: str
    search_param: str  # https://hl7.org/fhir/R4/<type>.html#search


PATIENT_LINKED: tuple[PatientLinkedType, ...] = (
    PatientLinkedType("Observation", "subject"),
    PatientLinkedType("Encounter", "subject"),
    PatientLinkedType("Procedure", "subject"),
    PatientLinkedType("Condition", "subject"),
    PatientLinkedType("MedicationStatement", "subject"),
    PatientLinkedType("AdverseEvent", "subject"),
    # Provenance.patient is target.where(resolve() is Patient): the participant's Provenance.
    PatientLinkedType("Provenance", "patient"),
)

PRODUCT = "BiologicallyDerivedProduct"
# Types whose resources may reference the study's cell products.
PRODUCT_REFERRERS = ("Provenance", "Procedure")

# Every type a pull writes, in the order of the NDJSON files and of the summary.
ALL_TYPES: tuple[str, ...] = (
    "ResearchStudy",
    "ResearchSubject",
    "Patient",
    *(t.resource_type for t in PATIENT_LINKED),
    PRODUCT,
)
