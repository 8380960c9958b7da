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


def put_entry_json(resource_type: str, resource_id: str, text: str) -> str:
    """One ``PUT Type/id`` transaction entry around an already-serialized resource."""
    return (
        f'{{"resource":{text},"request":{{"method":"PUT","url":"{resource_type}/{resource_id}"}}}}'
    )


def delete_entry_json(resource_type: str, resource_id: str) -> str:
    return f'{{"request":{{"method":"DELETE","url":"{resource_type}/{resource_id}"}}}}'


def transaction_json_of(entries: list[str]) -> str:
    """A transaction Bundle around already-serialized entries."""
    return '{"resourceType":"Bundle","type":"transaction","entry":[' + ",".join(entries) + "]}"


def transaction_json(resources: list[dict[str, Any]], texts: list[str]) -> str:
    """``canonical_json(transaction(resources))`` from already-serialized resources.

    Saves serializing every resource twice when both bundles and NDJSON are written.
    """
    return transaction_json_of(
        [
            put_entry_json(r["resourceType"], r["id"], text)
            for r, text in zip(resources, texts, strict=True)
        ]
    )
