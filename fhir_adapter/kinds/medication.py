"""Medication lines: one MedicationStatement per line number of a participant."""

from fhir_adapter.kinds._kind import Kind, ResourceRule, status_entered_in_error
from fhir_adapter.mapping.spec import Medications as Section

__all__ = ["KIND", "Section"]

KIND = Kind(
    "medication",
    (
        ResourceRule(
            "MedicationStatement",
            "med",
            "medication-line",
            entered_in_error=status_entered_in_error,
        ),
    ),
    section="medications",
)
