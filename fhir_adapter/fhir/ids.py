"""Deterministic, non-numeric resource ids and business identifiers.

An id is ``<study>-<type prefix>-<20 hex of sha256(study|type|natural key)>``: stable across
runs and machines, at most 51 characters of ``[a-z0-9-]`` (HAPI accepts up to 64 and rejects
purely numeric client ids, HAPI-0960), and it carries no identifier that could be PHI.
"""

from __future__ import annotations

import hashlib
from typing import Any

# Which prefix and identifier system each resource type takes is declared by its kind
# (``fhir_adapter.kinds``): ``registry.resource_id`` and ``registry.identifier_system``.


def natural_key(*parts: str) -> str:
    """Join the parts of a natural key; '/' separates them in identifier values."""
    return "/".join(parts)


def hashed_id(study_key: str, resource_type: str, prefix: str, key: str) -> str:
    """The id of a resource of ``resource_type`` (id ``prefix``) with natural ``key``."""
    digest = hashlib.sha256(f"{study_key}|{resource_type}|{key}".encode()).hexdigest()[:20]
    return f"{study_key}-{prefix}-{digest}"


# Types R4 gives no ``identifier`` search parameter (``registry.tag_matched``, declared by
# their kinds) cannot be found by business identifier: each carries a tag with our
# deterministic id instead, in every write mode, so that conditional writes can match them
# and ``verify`` can count copies.
RESOURCE_KEY_TAG_SYSTEM = "urn:fhir-adapter:resource-key"


def resource_key_tag(resource_id: str) -> dict[str, str]:
    return {"system": RESOURCE_KEY_TAG_SYSTEM, "code": resource_id}


def with_resource_key_tag(resource: dict[str, Any]) -> dict[str, Any]:
    """``resource`` with its resource-key tag in ``meta`` (placed after ``id``), once."""
    tag = resource_key_tag(resource["id"])
    meta = dict(resource.get("meta") or {})
    if tag not in (meta.get("tag") or []):
        meta["tag"] = [*(meta.get("tag") or []), tag]
    out = {k: v for k, v in resource.items() if k in ("resourceType", "id")}
    out["meta"] = meta
    out.update((k, v) for k, v in resource.items() if k not in out)
    return out


def __getattr__(name: str) -> Any:
    """``PREFIX``, ``IDENTIFIER_KIND`` and ``TAG_MATCHED`` as tables, for code written before
    the kinds declared them: read from ``kinds.registry`` on first use (imported here lazily,
    because the kinds build on this module)."""
    if name in ("PREFIX", "IDENTIFIER_KIND", "TAG_MATCHED"):
        from fhir_adapter.kinds import registry

        rules = [registry.rule(t) for t in registry.resource_types]
        return {
            "PREFIX": {r.type: r.prefix for r in rules},
            "IDENTIFIER_KIND": {r.type: r.identifier for r in rules},
            "TAG_MATCHED": registry.tag_matched,
        }[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
