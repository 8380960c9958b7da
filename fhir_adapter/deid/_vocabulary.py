"""The texts a mapping vouches for: its code catalogue, its arm names and its strata.

These come from the mapping file, never from a site export, so a CodeableConcept.text or an
assignedArm equal to one of them carries no participant data. A free-text cell (an adverse
event term) is kept only if the catalogue happens to hold the same text.
"""

from __future__ import annotations

from typing import Any

from fhir_adapter.mapping.spec import MappingSpec


def catalogue_vocabulary(spec: MappingSpec) -> frozenset[str]:
    """Every text of ``spec.codes`` (names, displays, texts), every arm name and every
    stratum label the mapping's own ``participants.stratum`` writes (map targets, constant)."""
    found: set[str] = set()

    def collect(node: Any) -> None:
        if isinstance(node, str):
            found.add(node)
        elif isinstance(node, dict):
            for value in node.values():
                collect(value)
        elif isinstance(node, list | tuple):
            for value in node:
                collect(value)

    collect(spec.codes.model_dump())
    for drug in spec.codes.drugs.values():
        found.add(drug.name)
    found.update(arm.name for arm in spec.study.arms)
    stratum = spec.participants.stratum
    if stratum is not None:  # the labels the mapping writes; a bare cell is not vouched for
        found.update((stratum.map or {}).values())
        if stratum.map is None:
            found.update(c for c in (stratum.value, stratum.default) if c is not None)
    return frozenset(found)
