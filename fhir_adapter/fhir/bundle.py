"""Transaction Bundles: one per participant, so a participant lands whole or not at all.

Entries use ``PUT Type/id`` with the deterministic ids (update-as-create): re-sending the same
bundle creates nothing new (FHIR R4 http.html#transaction; HAPI keeps the version when
content is unchanged).
"""

from __future__ import annotations

from typing import Any


def transaction(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
            for r in resources
        ],
    }
