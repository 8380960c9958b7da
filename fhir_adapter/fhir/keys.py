"""``ResourceKey``: which resource, as one value instead of a ``"Type/id"`` string rebuilt
wherever it is needed.

A ``NamedTuple``, so it equals and hashes like the ``(type, id)`` pairs the ledger's rows
give, and reads back from a relative reference (``Type/id``) with ``parse``.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

# A relative literal reference: https://hl7.org/fhir/R4/references.html#literal
_RELATIVE = re.compile(r"^([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})$")


class ResourceKey(NamedTuple):
    type: str
    id: str

    def __str__(self) -> str:
        return f"{self.type}/{self.id}"

    @classmethod
    def of(cls, resource: dict[str, Any]) -> ResourceKey:
        """The key of a resource body (its ``resourceType`` and ``id``)."""
        return cls(resource["resourceType"], resource["id"])

    @classmethod
    def parse(cls, reference: str) -> ResourceKey | None:
        """The key a relative reference names, or None for anything else (absolute URLs,
        ``urn:uuid:``, contained ``#`` references, versioned references)."""
        match = _RELATIVE.match(reference)
        return cls(match.group(1), match.group(2)) if match else None

    def reference(self) -> dict[str, str]:
        """A FHIR Reference to this resource."""
        return {"reference": str(self)}
