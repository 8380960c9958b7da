"""The texts a mapping vouches for: its code catalogue and its arm names.

These come from the mapping file, never from a site export, so a CodeableConcept.text or an
assignedArm equal to one of them carries no participant data. A free-text cell (an adverse
event term) is kept only if the catalogue happens to hold the same text.
"""

from __future__ import annotations

from typing import Any

from fhir_adapter.mapping.spec import MappingSpec


def catalogue_vocabulary(spec: MappingSpec) -> frozenset[str]:
    """Every text of ``spec.codes`` (names, displays, texts) and every arm name."""
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
    return frozenset(found)
