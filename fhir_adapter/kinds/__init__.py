"""The kinds of record the adapter maps, and the one registry every layer asks.

A kind (participant, diagnosis, encounter, observation, procedure, product, medication,
adverse event; the study and provenance) declares the mapping-file section it reads, its
compiled row mapper (``SectionMapper``), its FHIR builder (``ResourceBuilder``) and, per
resource type it writes, its id prefix, identifier system, how a server finds it and what
entered-in-error means for it. Adding a kind is a module here plus its line in ``KINDS``
(docs/mapping.md, "Adding a kind").

Why here and not in ``mapping/`` and ``fhir/``: a kind is read whole in one module (rows →
record → resource, and its rules on a server), while ``mapping/`` (field readers, units,
the engine's walk) and ``fhir/`` (ids, datatypes, bundles) hold the shared machinery and name
no kind. The kinds build on both; the engine and the resource factory reach the kinds only
through the registry. No I/O, no HTTP here.
"""

from fhir_adapter.kinds import (
    adverse_event,
    diagnosis,
    encounter,
    medication,
    observation,
    participant,
    procedure,
    product,
    provenance,
    study,
)
from fhir_adapter.kinds._kind import (
    Built,
    Kind,
    MapContext,
    Mapped,
    ResourceBuilder,
    ResourceRule,
    SectionMapper,
)
from fhir_adapter.kinds._registry import Registry

KINDS: tuple[Kind, ...] = (
    study.KIND,
    participant.KIND,
    diagnosis.KIND,
    encounter.KIND,  # before the observations that point at it
    observation.KIND,
    procedure.KIND,
    product.KIND,
    medication.KIND,
    adverse_event.KIND,
    provenance.KIND,
)

registry = Registry(KINDS)

__all__ = [
    "KINDS",
    "Built",
    "Kind",
    "MapContext",
    "Mapped",
    "Registry",
    "ResourceBuilder",
    "ResourceRule",
    "SectionMapper",
    "registry",
]
