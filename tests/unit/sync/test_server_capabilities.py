"""A server that lacks what sync needs is a server problem (exit 5), never local setup (7)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from fhir_adapter.cli._errors import EXIT_BUG, EXIT_LEDGER, EXIT_SERVER, exit_code_for
from fhir_adapter.errors import FhirAdapterError, LedgerError, ServerCapabilityError
from fhir_adapter.sync.engine import SyncEngine, SyncOptions
from fhir_adapter.sync.plan import Action, ParticipantPlan, Write
from fhir_adapter.sync.writemode import ConditionalWrites


def _engine(**capabilities) -> SyncEngine:
    statement = SimpleNamespace(
        refuses_update_create=lambda t: False,
        supports_conditional_update=lambda t: True,
        **capabilities,
    )
    client = SimpleNamespace(capabilities=lambda: statement)
    return SyncEngine(client, None, SyncOptions())  # type: ignore[arg-type]


def test_a_server_without_transactions_exits_5():
    with pytest.raises(ServerCapabilityError) as caught:
        _engine(transaction=False).resolve_mode()
    assert exit_code_for(caught.value) == EXIT_SERVER


def test_a_reference_the_ledger_cannot_resolve_is_a_ledger_error():
    write = Write(
        Action.CREATE,
        "Observation",
        "o1",
        '{"resourceType":"Observation","id":"o1","identifier":[{"system":"s",'
        '"value":"v"}],"subject":{"reference":"Patient/p1"}}',
        "h",
        None,
    )
    with pytest.raises(LedgerError) as caught:
        ConditionalWrites().bundle_for(ParticipantPlan("p1", "row", writes=[write]), dict)
    assert exit_code_for(caught.value) == EXIT_LEDGER


def test_a_bare_root_error_is_reported_as_a_bug_not_as_local_setup():
    assert exit_code_for(FhirAdapterError("?")) == EXIT_BUG
