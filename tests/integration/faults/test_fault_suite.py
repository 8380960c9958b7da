"""A small seeded fault schedule and two kill points per write mode against the real server.

Every fault kind is injected once per mode (the plan picks the kind injected least often),
and one sync process is SIGKILLed at a transaction; the server must then hold every mapped
resource exactly once, as mapped, at the expected version. The CI-sized and long runs are
``scripts/fault-suite.py`` (docs/reliability.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from faults import FaultKind, SuiteConfig, run_suite

from fhir_adapter.sync import WriteMode


@pytest.mark.parametrize("mode", [WriteMode.CLIENT_IDS, WriteMode.CONDITIONAL], ids=str)
def test_seeded_faults_and_kills_leave_the_server_exact(mode, fhir_base_url, tmp_path: Path):
    config = SuiteConfig(faults=len(FaultKind), kills=1, seed=11, modes=(mode,))
    result = run_suite(config, fhir_base_url, tmp_path)
    print(result.summary_line())
    details = "\n".join(result.detail_lines())
    assert sum(result.injected.values()) == len(FaultKind), details
    assert set(result.injected) == {kind.value for kind in FaultKind}, details
    assert sum(result.kills.values()) == 1, details
    assert (result.duplicates, result.lost, result.mismatched) == (0, 0, 0), details
    assert result.ok, details
