"""Observations: one per analyte and visit, from wide (a column per analyte) or long (a row
per result) tables."""

from fhir_adapter.kinds._kind import Kind, ResourceRule, status_entered_in_error
from fhir_adapter.mapping.spec import LongObservations, Observations, WideObservations

__all__ = ["KIND", "LongObservations", "Observations", "WideObservations"]

KIND = Kind(
    "observation",
    (ResourceRule("Observation", "obs", "observation", entered_in_error=status_entered_in_error),),
    section="observations",
    many=True,
)
