"""Adverse events: one AdverseEvent per event id of a participant."""

from fhir_adapter.kinds._kind import Kind, ResourceRule
from fhir_adapter.mapping.spec import AdverseEvents as Section

__all__ = ["KIND", "Section"]

# R4 AdverseEvent has no identifier search parameter and no entered-in-error status.
KIND = Kind(
    "adverse-event",
    (ResourceRule("AdverseEvent", "ae", "adverse-event", tag_matched=True),),
    section="adverse_events",
)
