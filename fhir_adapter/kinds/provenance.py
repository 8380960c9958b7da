"""Provenance: one per participant, naming every resource mapped and the rows they came from."""

from fhir_adapter.kinds._kind import Kind, ResourceRule

# R4 Provenance has no identifier at all and no status: found by tag, never marked.
KIND = Kind("provenance", (ResourceRule("Provenance", "prov", "provenance", tag_matched=True),))
