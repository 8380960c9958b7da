"""Ctrl-C or SIGTERM during a sync: the transactions in flight finish and are recorded, the
command says how far it got and exits 130/143, and the re-run sends only the rest."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest


def _ledger_patients(path) -> set[str]:
    if not path.exists():
        return set()
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as db:
            return {r[0] for r in db.execute("SELECT id FROM resources WHERE type = 'Patient'")}
    except sqlite3.Error:
        return set()


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_sync_records_what_was_confirmed_and_resumes(
    signum, code, make_study, client, view
):
    study = make_study("study_a", subjects=10)
    expected = study.expected()
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
        "2",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while len(_ledger_patients(study.ledger_path)) < 2:
        assert process.poll() is None, process.stderr.read()[-2000:]
        assert time.monotonic() < deadline, "the sync made no progress"
        time.sleep(0.02)
    os.kill(process.pid, signum)
    out, err = process.communicate(timeout=120)
    recorded = _ledger_patients(study.ledger_path)
    if process.returncode == 0:
        pytest.skip("the sync finished before the signal arrived")  # a very fast machine
    assert process.returncode == code, err[-2000:]
    assert "run the same command again to resume" in err and "Traceback" not in err
    assert 0 < len(recorded) < len(expected["Patient"])
    # Nothing the server confirmed is missing from the ledger: the server holds exactly the
    # participants the ledger recorded (in-flight transactions were awaited and recorded).
    held = view.held("Patient", [p["id"] for p in expected["Patient"]])
    assert set(held) == recorded

    rerun = subprocess.run([*command, "--json"], capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    report = json.loads(rerun.stdout)
    assert report["participants"]["synced"] == len(expected["Patient"]) - len(recorded)
    assert report["participants"]["unchanged"] == len(recorded)
    for kind, resources in expected.items():
        assert view.count(study, kind, resources) == len(resources), kind
