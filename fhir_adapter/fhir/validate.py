"""Structural validation of built resources with the fhir.resources models.

fhir.resources 8 ships R4B models, not R4. For every resource type this project emits, the
R4 and R4B definitions of the elements we use agree (docs/mapping.md lists the check), so the
R4B models catch structural errors; R4 conformance itself is proven by HAPI's ``$validate``.
Costs roughly 0.1 ms per resource, so the mapping path runs it on request (``--check-models``).
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import Any

from pydantic import ValidationError


@cache
def _model(resource_type: str) -> Any:
    # fhir.resources names each model's module after its type in lower case, so any type a
    # kind declares (``kinds.registry``) is found without a list here.
    module = importlib.import_module(f"fhir.resources.R4B.{resource_type.lower()}")
    return getattr(module, resource_type)


def model_problems(resource: dict[str, Any]) -> list[str]:
    """Problems the R4B model finds (element paths and messages, no values)."""
    try:
        _model(resource["resourceType"]).model_validate(resource)
    except ValidationError as exc:
        return [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
    return []
