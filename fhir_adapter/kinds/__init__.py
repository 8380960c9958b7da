"""The kinds of record the adapter maps, and the one registry every layer asks.

A kind (participant, diagnosis, observation, procedure, product, medication, adverse event;
the study and provenance) declares the mapping-file section it reads and, per resource type
it writes, its id prefix, identifier system, how a server finds it and what entered-in-error
means for it. Adding a kind is a module here plus its line in ``KINDS`` (docs/mapping.md,
"Adding a kind"). This package holds declarations only: no I/O, no HTTP.
"""

from fhir_adapter.kinds import (
    adverse_event,
    diagnosis,
    medication,
    observation,
    participant,
    procedure,
    product,
    provenance,
    study,
)
from fhir_adapter.kinds._kind import Kind, ResourceRule
from fhir_adapter.kinds._registry import Registry

KINDS: tuple[Kind, ...] = (
    study.KIND,
    participant.KIND,
    diagnosis.KIND,
    observation.KIND,
    procedure.KIND,
    product.KIND,
    medication.KIND,
    adverse_event.KIND,
    provenance.KIND,
)

registry = Registry(KINDS)

__all__ = ["KINDS", "Kind", "Registry", "ResourceRule", "registry"]
