"""`fhir-adapter status` against the real server: per-type holdings next to the ledger, and
the last sync and verify."""

from __future__ import annotations

import json

from click.testing import CliRunner

from fhir_adapter.cli import main


def test_status_shows_what_the_server_holds_and_the_last_runs(make_study, client):
    study = make_study("study_a", subjects=2)
    expected = study.expected()
    runner = CliRunner()
    common = [
        "--mapping",
        str(study.mapping_path),
        "--server",
        study.server_url,
        "--ledger",
        str(study.ledger_path),
    ]
    before = runner.invoke(main, ["status", *common, "--json"])
    assert before.exit_code == 0, before.output
    assert json.loads(before.output)["ledger"] is None

    synced = runner.invoke(main, ["sync", *common, "--data", str(study.data_dir), "--json"])
    assert synced.exit_code == 0, synced.output
    checked = runner.invoke(main, ["verify", *common, "--data", str(study.data_dir), "--json"])
    assert checked.exit_code == 0, checked.output

    status = json.loads(runner.invoke(main, ["status", *common, "--json"]).output)
    for kind, resources in expected.items():
        assert status["resources"][kind] == {"ledger": len(resources), "server": len(resources)}, (
            kind
        )
    assert status["owner_mapping"] == study.mapping_path.name
    assert status["last_runs"]["sync"]["ok"] and status["last_runs"]["verify"]["ok"]
    assert status["last_runs"]["sync"]["data"] == str(study.data_dir)
