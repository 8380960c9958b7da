"""Sync mapped participants to a FHIR server: plan against the ledger, send, then commit.

Contract: one transaction per participant (on the server whole or not at all); the ledger
records a resource only after the server confirmed it; anything unconfirmed is simply sent
again on the next run, which is harmless because every write is an idempotent PUT of a
deterministic id (or a conditional update by business identifier).
"""

from fhir_adapter.sync.engine import SyncEngine, SyncInterruptedError, SyncOptions
from fhir_adapter.sync.ledger import Ledger, default_ledger_path
from fhir_adapter.sync.plan import RemovalPolicy
from fhir_adapter.sync.report import SyncReport
from fhir_adapter.sync.writemode import WriteMode

__all__ = [
    "Ledger",
    "RemovalPolicy",
    "SyncEngine",
    "SyncInterruptedError",
    "SyncOptions",
    "SyncReport",
    "WriteMode",
    "default_ledger_path",
]
