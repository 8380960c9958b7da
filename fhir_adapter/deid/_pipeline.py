"""The one place the de-identification stage meets the pipeline's ``MappedParticipant``."""

from __future__ import annotations

from fhir_adapter.deid._deidentifier import Deidentifier
from fhir_adapter.fhir.keys import ResourceKey
from fhir_adapter.pipeline import MappedParticipant


def deidentify_participant(
    deidentifier: Deidentifier, mapped: MappedParticipant
) -> MappedParticipant:
    """``mapped`` de-identified: new resources, ``key`` the new Patient id, and ``origins``
    (source rows, kept on this machine for error reports) keyed by the new resource keys."""
    resources = deidentifier.participant(mapped.resources)
    origins = {deidentifier.resource_key(key): origin for key, origin in mapped.origins.items()}
    patient = next(r for r in resources if r["resourceType"] == "Patient")
    assert all(ResourceKey.of(r) in origins for r in resources)
    return MappedParticipant(
        key=patient["id"], resources=resources, origins=origins, complete=mapped.complete
    )
