"""The Location contracts read the ledger right: only a confirmed write counts as recorded
(the run's audit also changes entries: it forgets lost ones and clears stale hashes)."""

from __future__ import annotations

import sys
from pathlib import Path

from fhir_adapter.sync import WriteMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from faults._contracts import location_violations, recorded_by_run  # noqa: E402
from faults._plan import FaultKind, Injection  # noqa: E402
from faults._study import LedgerState  # noqa: E402

OBS = ("Observation", "o1")
PAT = ("Patient", "p1")
ENTRY_KEYS = {"Observation/o1": OBS, "Patient/p1": PAT}
MODE = WriteMode.CONDITIONAL


def _injection(kind: FaultKind, locations: tuple[str, ...] = ()) -> list[Injection]:
    entries = ((None, "Patient/p1"), (None, "Observation/o1"))
    return [Injection(1, 1, kind, "fp", entries, locations)]


def test_only_a_new_content_hash_counts_as_recorded() -> None:
    before: LedgerState = {
        OBS: ("old", "o1", "1"),
        PAT: ("same", "p1", "1"),
        ("Condition", "c1"): ("h", "c", "1"),
    }
    after: LedgerState = {
        OBS: ("", "o1", "2"),  # the audit found version 2 on the server: hash cleared
        PAT: ("same", "p1", "1"),  # untouched
        ("Procedure", "x1"): ("new", "x1", "1"),  # written by this run
    }  # Condition/c1 forgotten: the server lost it
    assert recorded_by_run(before, after) == {("Procedure", "x1")}


def test_a_foreign_location_must_leave_nothing_recorded() -> None:
    foreign = _injection(FaultKind.LOCATION_FOREIGN_ORIGIN)
    before: LedgerState = {OBS: ("old", "o1", "1")}
    stale: LedgerState = {OBS: ("", "o1", "2")}
    accepted: LedgerState = {OBS: ("new", "o1", "2"), PAT: ("p", "p1", "1")}
    refused = RuntimeError("refused")
    assert location_violations(MODE, foreign, ENTRY_KEYS, before, stale, None, refused) == []
    [violation] = location_violations(MODE, foreign, ENTRY_KEYS, before, accepted, None, refused)
    assert "foreign-origin Location was accepted (2 of 2" in violation


def test_absolute_same_origin_locations_must_be_read_for_id_and_version() -> None:
    same = _injection(
        FaultKind.LOCATION_ABSOLUTE_SAME_ORIGIN,
        ("Patient/101/_history/1", "Observation/102/_history/3"),
    )
    right: LedgerState = {PAT: ("p", "101", "1"), OBS: ("o", "102", "3")}
    assert location_violations(MODE, same, ENTRY_KEYS, {}, right, None, None) == []
    wrong: LedgerState = {PAT: ("p", "p1", "1"), OBS: ("o", "102", "3")}
    [misread] = location_violations(MODE, same, ENTRY_KEYS, {}, wrong, None, None)
    assert "misread: 1 of 2" in misread
    half: LedgerState = {PAT: ("p", "101", "1")}
    [refused] = location_violations(MODE, same, ENTRY_KEYS, {}, half, None, None)
    assert "not accepted (1 of 2" in refused
