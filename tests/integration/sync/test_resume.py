"""A sync cut short at any point is completed by the next run: exact counts, no duplicates."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest


def _assert_exactly_once(study, view, expected):
    for kind, resources in expected.items():
        assert view.count(study, kind, resources) == len(resources), kind
        copies = view.held(kind, [r["id"] for r in resources])
        assert len(copies) == len(resources), kind
        # Re-sent resources were identical: HAPI kept version 1.
        assert {c["meta"]["versionId"] for c in copies.values()} == {"1"}, kind


@pytest.mark.parametrize("fail_at", [1, 3])
def test_failure_after_server_commit_before_ledger_commit(fail_at, make_study, client, view):
    """``fail_at`` 1 is the study resource, 3 the second participant."""
    study = make_study("study_a", subjects=4)
    expected = study.expected()
    confirmed: list[str] = []

    def crash(participant: str) -> None:
        confirmed.append(participant)
        if len(confirmed) == fail_at:
            raise RuntimeError("simulated crash between server commit and ledger commit")

    with pytest.raises(RuntimeError, match="simulated crash"):
        study.sync(client, hook=crash, concurrency=1)
    rerun = study.sync(client)
    assert rerun.failures == []
    _assert_exactly_once(study, view, expected)
    assert study.sync(client).written == 0


def _ledger_rows(path) -> int:
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as db:
            return int(db.execute("SELECT COUNT(*) FROM resources").fetchone()[0])
    except sqlite3.Error:
        return 0


def test_killed_sync_process_is_completed_by_a_rerun(make_study, client, view):
    study = make_study("study_a", subjects=12)
    expected = study.expected()
    total = sum(len(r) for r in expected.values())
    command = [
        sys.executable,
        "-m",
        "fhir_adapter.cli",
        "sync",
        "--mapping",
        str(study.mapping_path),
        "--data",
        str(study.data_dir),
        "--server",
        study.server_url,
        "--ledger",
        str(study.ledger_path),
        "--concurrency",
        "1",
        "--json",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    # Kill it once some participants are confirmed but well before the end.
    while _ledger_rows(study.ledger_path) < total // 3:
        assert process.poll() is None, process.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline, "the sync made no progress"
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert _ledger_rows(study.ledger_path) < total
    rerun = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    _assert_exactly_once(study, view, expected)
    assert _ledger_rows(study.ledger_path) == total


def test_a_server_that_lost_its_data_is_refilled_despite_the_ledger(make_study, client, view):
    """An in-memory server restarted (or a restored database) no longer holds what the
    ledger recorded: the sync must notice and send everything again, not trust the ledger."""
    study = make_study("study_a", subjects=2)
    expected = study.expected()
    study.sync(client)
    # Simulate the loss: delete everything of this study on the server behind our back.
    for kind in reversed(list(expected)):
        for resource in expected[kind]:
            client.delete(kind, resource["id"])
    report = study.sync(client)
    assert any("no longer holds" in note for note in report.notes)
    assert report.failures == []
    for kind, resources in expected.items():
        assert len(view.held(kind, [r["id"] for r in resources])) == len(resources), kind
