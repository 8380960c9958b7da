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


def transaction_json(resources: list[dict[str, Any]], texts: list[str]) -> str:
    """``canonical_json(transaction(resources))`` from already-serialized resources.

    Saves serializing every resource twice when both bundles and NDJSON are written.
    """
    entries = ",".join(
        f'{{"resource":{text},"request":{{"method":"PUT","url":"{r["resourceType"]}/{r["id"]}"}}}}'
        for r, text in zip(resources, texts, strict=True)
    )
    return f'{{"resourceType":"Bundle","type":"transaction","entry":[{entries}]}}'
