"""Deterministic, non-numeric resource ids and business identifiers.

An id is ``<study>-<type prefix>-<20 hex of sha256(study|type|natural key)>``: stable across
runs and machines, at most 51 characters of ``[a-z0-9-]`` (HAPI accepts up to 64 and rejects
purely numeric client ids, HAPI-0960), and it carries no identifier that could be PHI.
"""

from __future__ import annotations

import hashlib
from typing import Any

PREFIX = {
    "ResearchStudy": "study",
    "Patient": "pat",
    "ResearchSubject": "rs",
    "Condition": "cond",
    "Observation": "obs",
    "Procedure": "proc",
    "BiologicallyDerivedProduct": "bdp",
    "MedicationStatement": "med",
    "AdverseEvent": "ae",
    "Provenance": "prov",
}

# Identifier.system suffix per resource type, appended to the study's identifier_base.
IDENTIFIER_KIND = {
    "ResearchStudy": "study",
    "Patient": "subject",
    "ResearchSubject": "enrolment",
    "Condition": "diagnosis",
    "Observation": "observation",
    "Procedure": "procedure",
    "BiologicallyDerivedProduct": "cell-product",
    "MedicationStatement": "medication-line",
    "AdverseEvent": "adverse-event",
    "Provenance": "provenance",
}


def natural_key(*parts: str) -> str:
    """Join the parts of a natural key; '/' separates them in identifier values."""
    return "/".join(parts)


def resource_id(study_key: str, resource_type: str, key: str) -> str:
    digest = hashlib.sha256(f"{study_key}|{resource_type}|{key}".encode()).hexdigest()[:20]
    return f"{study_key}-{PREFIX[resource_type]}-{digest}"


def identifier_system(base: str, resource_type: str) -> str:
    return f"{base.rstrip('/')}/{IDENTIFIER_KIND[resource_type]}"


# R4 defines no ``identifier`` search parameter for these types, so a server cannot find them
# by business identifier: each carries a tag with our deterministic id instead, in every
# write mode, so that conditional writes can match them and ``verify`` can count copies.
RESOURCE_KEY_TAG_SYSTEM = "urn:fhir-adapter:resource-key"
TAG_MATCHED = frozenset({"Provenance", "BiologicallyDerivedProduct", "AdverseEvent"})


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
