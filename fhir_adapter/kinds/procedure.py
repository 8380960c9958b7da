"""Procedures (harvests, infusions): one per procedure id of a participant."""

from fhir_adapter.kinds._kind import Kind, ResourceRule, status_entered_in_error
from fhir_adapter.mapping.spec import Procedures as Section

__all__ = ["KIND", "Section"]

KIND = Kind(
    "procedure",
    (ResourceRule("Procedure", "proc", "procedure", entered_in_error=status_entered_in_error),),
    section="procedures",
)
