"""The standing fault suite: a fault-injecting proxy, a kill -9 matrix, and server checks.

    _plan       FaultKind, FaultPlan (seeded, balanced), KillPhase/KillSwitch, Injection
    _proxy      FaultProxy: the loopback proxy that injects them (answers in _wire)
    _study      StudyCopy: a private small copy of example study A per round
    _contracts  the Location contracts, checked against the ledger after each faulty run
    _checks     read the server back: lost, duplicates, mismatched, versions
    _result     SuiteConfig, SuiteResult (the summary line and details)
    _suite      FaultSuite / run_suite: fault rounds and kill rounds in both write modes

Used by ``scripts/fault-suite.py`` (CI-sized and long runs, figures in docs/reliability.md)
and by ``tests/integration/faults`` (a small seeded schedule in the normal test suite).
Import it with ``tests/`` on ``sys.path``: ``from faults import run_suite``.
"""

from ._plan import FaultKind, FaultPlan, KillPhase, KillSwitch
from ._proxy import FaultProxy
from ._result import SuiteConfig, SuiteResult
from ._suite import FaultSuite, run_suite

__all__ = [
    "FaultKind",
    "FaultPlan",
    "FaultProxy",
    "FaultSuite",
    "KillPhase",
    "KillSwitch",
    "SuiteConfig",
    "SuiteResult",
    "run_suite",
]
