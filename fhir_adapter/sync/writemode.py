"""Turn a participant plan into a transaction Bundle, in one of two write modes: one
strategy object per mode (``ClientIdsWrites``, ``ConditionalWrites``), chosen once per run.

- ``client-ids`` (default): ``PUT Type/id`` with our deterministic ids (update-as-create).
- ``conditional``: for servers that forbid client ids, ``PUT Type?identifier=system|value``;
  the server assigns ids. Entries reference each other by ``urn:uuid`` full URLs, resources
  outside the bundle by the server id the ledger recorded. Provenance (no identifier in R4),
  BiologicallyDerivedProduct and AdverseEvent (no ``identifier`` search parameter in R4) are
  matched by the ``meta.tag`` carrying our deterministic id (``kinds.registry.tag_matched``).
"""

from __future__ import annotations

import enum
import json
import uuid
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from fhir_adapter.errors import LedgerError
from fhir_adapter.fhir.bundle import delete_entry_json, put_entry_json, transaction_json_of
from fhir_adapter.fhir.ids import RESOURCE_KEY_TAG_SYSTEM, with_resource_key_tag
from fhir_adapter.fhir.keys import ResourceKey
from fhir_adapter.fhir.serialize import canonical_json
from fhir_adapter.kinds import registry
from fhir_adapter.sync.locate import business_key, escape_token
from fhir_adapter.sync.plan import Action, ParticipantPlan, Write

_NAMESPACE = uuid.UUID("6f1f1e52-5d0a-4d8e-9a55-3c3c0f7c2b11")  # this project's uuid5 space
PROVENANCE_TAG_SYSTEM = RESOURCE_KEY_TAG_SYSTEM  # the name earlier releases used
TAG_MATCHED = registry.tag_matched  # the types matched by tag (declared by their kinds)


class WriteMode(enum.StrEnum):
    AUTO = "auto"
    CLIENT_IDS = "client-ids"
    CONDITIONAL = "conditional"


ServerIds = Mapping[ResourceKey, str]  # our key → the id the server gave (conditional mode)


class ClientIdsWrites:
    """``PUT Type/id`` with our deterministic ids (update-as-create); references stay as
    mapped, so the ledger's server ids are never needed."""

    mode = WriteMode.CLIENT_IDS

    def entry_for(self, write: Write) -> str:
        if write.action is Action.DELETE:
            return delete_entry_json(write.resource_type, write.resource_id)
        assert write.text is not None
        return put_entry_json(write.resource_type, write.resource_id, write.text)

    def bundle_for(self, plan: ParticipantPlan, server_ids: Callable[[], ServerIds]) -> bytes:
        """The transaction for ``plan``; ``server_ids`` is not called in this mode."""
        return transaction_json_of([self.entry_for(w) for w in plan.writes]).encode()


class ConditionalWrites:
    """``PUT Type?identifier=system|value`` (or ``?_tag=`` for tag-matched types): the
    server assigns ids. Entries in the bundle reference each other by ``urn:uuid`` full URLs,
    resources outside it by the server id the ledger recorded."""

    mode = WriteMode.CONDITIONAL

    def entry_for(self, write: Write, in_bundle: set[ResourceKey], server_ids: ServerIds) -> str:
        kind, rid = write.resource_type, write.resource_id
        if write.action is Action.DELETE:
            target = write.known.server_id if write.known else rid
            return json.dumps({"request": {"method": "DELETE", "url": f"{kind}/{target}"}})
        assert write.text is not None
        resource = json.loads(write.text, parse_float=Decimal)
        resource.pop("id", None)
        _rewrite_references(resource, in_bundle, server_ids)
        if kind in registry.tag_matched:
            # Bodies recorded before the factory tagged these types lack the tag: add it once.
            resource = with_resource_key_tag({**resource, "id": rid})
            resource.pop("id")
        parameter, system, value = business_key({**resource, "id": rid})
        # Escaped by the search rules, then percent-encoded: a comma in a value must not turn
        # the match into an OR of two values.
        match = (
            f"{parameter}={quote(escape_token(system), safe=':/')}|"
            f"{quote(escape_token(value), safe='')}"
        )
        return (
            f'{{"fullUrl":"{full_url(kind, rid)}","resource":{canonical_json(resource)},'
            f'"request":{{"method":"PUT","url":"{kind}?{match}"}}}}'
        )

    def bundle_for(self, plan: ParticipantPlan, server_ids: Callable[[], ServerIds]) -> bytes:
        """The transaction for ``plan``; ``server_ids()`` resolves references to resources
        outside the bundle (called once per bundle)."""
        in_bundle = {w.key for w in plan.writes if w.action is not Action.DELETE}
        ids = server_ids()
        return transaction_json_of(
            [self.entry_for(w, in_bundle, ids) for w in plan.writes]
        ).encode()


WriteStrategy = ClientIdsWrites | ConditionalWrites


def strategy_for(mode: WriteMode) -> WriteStrategy:
    """The strategy of a resolved mode (``AUTO`` is resolved by ``SyncEngine.resolve_mode``)."""
    strategies: dict[WriteMode, WriteStrategy] = {
        WriteMode.CLIENT_IDS: ClientIdsWrites(),
        WriteMode.CONDITIONAL: ConditionalWrites(),
    }
    return strategies[mode]


def bundle_for(plan: ParticipantPlan, mode: WriteMode, server_ids: ServerIds) -> bytes:
    """The transaction for ``plan`` in ``mode`` (a shorthand for tests and one-off use)."""
    return strategy_for(mode).bundle_for(plan, lambda: server_ids)


def full_url(kind: str, rid: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, str(ResourceKey(kind, rid)))}"


def _rewrite_references(node: Any, in_bundle: set[ResourceKey], server_ids: ServerIds) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                node[key] = _resolve(value, in_bundle, server_ids)
            else:
                _rewrite_references(value, in_bundle, server_ids)
    elif isinstance(node, list):
        for item in node:
            _rewrite_references(item, in_bundle, server_ids)


def _resolve(reference: str, in_bundle: set[ResourceKey], server_ids: ServerIds) -> str:
    key = ResourceKey.parse(reference)
    if key is None:
        return reference
    if key in in_bundle:
        return full_url(*key)
    if key in server_ids:
        return str(key._replace(id=server_ids[key]))
    # The ledger lacks the server id of a resource it should hold: its state, not the server.
    raise LedgerError(
        f"cannot resolve a reference to {key.type} in conditional mode: it is neither in this "
        "participant's bundle nor in the ledger; sync the study first (or drop the ledger "
        "to resend everything)"
    )
