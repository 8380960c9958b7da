"""`bash examples/demo.sh --secure` against the session's secure server: the script as
shipped, in a copy of the checkout whose environment setup only puts this interpreter's
`fhir-adapter` on PATH. It makes its client key, registers it with the running server,
maps, syncs, verifies and pulls both example studies with SMART Backend Services; run
again, it writes nothing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from fhir_adapter.localserver import read_clients
from fhir_adapter.sync import Ledger, default_ledger_path

from .conftest import JWT_SHAPE, REPO

STUDIES = {"study_a": "study-a", "study_b": "study-b"}


def _checkout(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    for name in ("examples", "mappings"):
        shutil.copytree(REPO / name, repo / name)
    bin_dir = repo / ".test-bin"
    bin_dir.mkdir()
    shim = bin_dir / "fhir-adapter"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m fhir_adapter.cli "$@"\n')
    shim.chmod(0o755)
    (repo / "scripts").mkdir()
    (repo / "scripts" / "setup-env.sh").write_text(f'export PATH="{bin_dir}:$PATH"\n')
    return repo


def _demo(repo: Path, port: int) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "FHIR_ADAPTER_SERVER_PORT": str(port),
        "PYTHONPATH": str(REPO),
    }
    return subprocess.run(
        ["bash", str(repo / "examples" / "demo.sh"), "--secure"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )


def test_the_secure_demo_runs_twice_and_the_second_run_writes_nothing(secure_server, tmp_path):
    repo = _checkout(tmp_path)
    port = secure_server.handle.port

    first = _demo(repo, port)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert "Registered client demo (system/*.rs system/*.cu system/*.d)" in first.stdout
    assert "demo" in [c.client_id for c in read_clients(secure_server.state_dir, port)]
    key = repo / ".fhir-adapter" / "demo-smart" / "private-key.pem"
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    key_text = key.read_text()

    second = _demo(repo, port)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert key.read_text() == key_text  # the key is made once

    for name, study_key in STUDIES.items():
        ledger_path = default_ledger_path(
            repo / ".fhir-adapter" / "ledgers", secure_server.url, study_key
        )
        with Ledger(ledger_path, server_url=secure_server.url, study_key=study_key) as ledger:
            run = ledger.last_run("sync")
            assert run is not None and run.ok, name
            assert run.summary.endswith("0 failed; 0 written"), (name, run.summary)
            held = ledger.count()
        pulled = json.loads((repo / "out" / "demo-secure" / name / "summary.json").read_text())
        assert pulled["total"] == held, name
    body = "".join(p.read_text() for p in (repo / "out" / "demo-secure").rglob("*.ndjson"))
    for text in (first.stdout, first.stderr, second.stdout, second.stderr, body):
        assert not JWT_SHAPE.search(text)
        assert "".join(key_text.splitlines()[1:-1])[:48] not in text
