"""Normal form for comparing a resource we built with the copy a server returns.

Servers add ``meta`` (versionId, lastUpdated, source) and a generated narrative (``text``),
assign their own ids in conditional mode, and may write ``70`` where we wrote ``70.0``.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from fhir_adapter.fhir.keys import ResourceKey

_REFERENCE = re.compile(r"^([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(/_history/.*)?$")


def normal(resource: dict[str, Any], server_ids: dict[ResourceKey, str] | None = None) -> str:
    """Canonical text without server-managed elements; references mapped to server ids."""
    return json.dumps(
        normal_tree(resource, server_ids), sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )


def normal_tree(resource: dict[str, Any], server_ids: dict[ResourceKey, str] | None = None) -> Any:
    """The normal form as a tree (numbers as ``{"#number": text}``), for element diffs."""
    cleaned = {k: v for k, v in resource.items() if k not in ("id", "meta", "text")}
    return _walk(cleaned, server_ids or {})


def _walk(node: Any, server_ids: dict[ResourceKey, str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                match = _REFERENCE.match(value)
                if match:
                    target = ResourceKey(match.group(1), match.group(2))
                    value = str(target._replace(id=server_ids.get(target, target.id)))
            out[key] = _walk(value, server_ids)
        return out
    if isinstance(node, list):
        return [_walk(item, server_ids) for item in node]
    if isinstance(node, bool) or node is None or isinstance(node, str):
        return node
    if isinstance(node, (int, float, Decimal)):
        return {"#number": str(Decimal(str(node)).normalize())}
    return node


def parse(text: str) -> dict[str, Any]:
    return json.loads(text, parse_float=Decimal)
