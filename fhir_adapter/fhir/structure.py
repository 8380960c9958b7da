"""A fast structural guard run on every built resource: no null and no empty value anywhere.

FHIR JSON has no null, and an element is either absent or has content: empty strings, empty
objects and empty arrays are invalid (https://hl7.org/fhir/R4/json.html: "empty values are
not allowed"; every element SHALL have a value or children). A server may drop such an
element silently, as HAPI does with ``null``: the ledger then records what was sent while the
server holds something else, and verify fails for ever. The builders leave absent values
out; this guard proves it for every resource and names the element path when one slips
through, so the resource becomes a row error instead of being pruned (pruning would hide a
mapping bug behind a smaller resource).

``empty_elements`` first runs a quick yes/no walk over containers only (a few microseconds a
resource, the mapping's hot path) and builds element paths only for a resource that fails.
"""

from __future__ import annotations

from typing import Any


def empty_elements(resource: dict[str, Any]) -> list[str]:
    """FHIRPath-like paths (``MedicationStatement.dosage[0].doseAndRate[0].doseQuantity.value``)
    of every element that is null, an empty string, an empty object or an empty array, each
    followed by what it is. Empty for a sound resource."""
    if _sound(resource):
        return []
    found: list[str] = []
    _walk(resource, str(resource.get("resourceType", "Resource")), found)
    return found


def _sound(node: Any) -> bool:
    """True when nothing under ``node`` is empty; recurses into containers only."""
    if not node:
        return False
    for value in node.values() if type(node) is dict else node:
        kind = type(value)
        if kind is str:
            if not value or value.isspace():
                return False
        elif kind is dict or kind is list:
            if not _sound(value):
                return False
        elif value is None:
            return False
    return True


def _walk(node: Any, path: str, found: list[str]) -> None:
    if isinstance(node, dict):
        if not node:
            found.append(f"{path} is an empty object")
        for key, value in node.items():
            _walk(value, f"{path}.{key}", found)
    elif isinstance(node, list):
        if not node:
            found.append(f"{path} is an empty array")
        for index, value in enumerate(node):
            _walk(value, f"{path}[{index}]", found)
    elif node is None:
        found.append(f"{path} is null")
    elif isinstance(node, str) and not node.strip():
        # Cells are trimmed, so only spaces can only come from a bug: as empty as "".
        found.append(f"{path} is an empty string")
