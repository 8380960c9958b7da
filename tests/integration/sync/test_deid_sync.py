"""`sync --deidentify` and `map --deidentify` end to end: what reaches the server, the ledger
and the output folder carries no original identifier, source file or exact birth date, and a
re-sync writes nothing (the pseudonyms are keyed and deterministic)."""

from __future__ import annotations

import json
import secrets
import sqlite3
from pathlib import Path

from click.testing import CliRunner

from fhir_adapter.cli import main


def _originals(study) -> set[str]:
    """Original business identifier values and the source file names of the study copy (the
    study's own identifier is kept on purpose: a registry must know which trial it holds)."""
    values = {
        i["value"]
        for kind, resources in study.expected().items()
        if kind != "ResearchStudy"
        for r in resources
        for i in (
            r.get("identifier")
            if isinstance(r.get("identifier"), list)
            else [r["identifier"]]
            if r.get("identifier")
            else []
        )
    }
    return values | {p.name for p in study.data_dir.iterdir()}


def test_a_deidentified_push_holds_no_original_identifier(make_study, client, tmp_path: Path):
    study = make_study("study_a", subjects=3)
    key = tmp_path / "registry.key"
    key.write_text(secrets.token_hex(32))
    ledger = tmp_path / "deid-ledger.sqlite"
    args = [
        "sync",
        "--mapping",
        str(study.mapping_path),
        "--data",
        str(study.data_dir),
        "--server",
        study.server_url,
        "--ledger",
        str(ledger),
        "--deidentify",
        "safe-harbor",
        "--deid-key-file",
        str(key),
        "--json",
    ]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    total = sum(len(r) for r in study.expected().values())
    assert json.loads(first.stdout)["totals"]["created"] == total

    patients = study.expected()["Patient"]
    for patient in patients:  # nothing under the original identifier or id on the server
        identifier = patient["identifier"][0]
        assert not list(
            client.search(
                "Patient",
                {"identifier": f"{identifier['system']}|{identifier['value']}"},
                no_cache=True,
            )
        )
        assert not list(client.search("Patient", {"_id": patient["id"]}, no_cache=True))
    with sqlite3.connect(ledger) as db:
        bodies = [row[0] for row in db.execute("SELECT body FROM resources")]
    assert len(bodies) == total
    originals = _originals(study)
    held = "\n".join(bodies)
    assert not [value for value in originals if value in held]
    births = [json.loads(b).get("birthDate") for b in bodies if '"Patient"' in b]
    assert births and all(b is None or len(b) == 4 for b in births)  # years only
    for body in bodies:  # what the ledger recorded is what the server holds
        resource = json.loads(body)
        assert client.search(resource["resourceType"], {"_id": resource["id"]}, no_cache=True)

    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0 and json.loads(again.stdout)["totals"]["unchanged"] == total


def test_deidentified_map_output_has_no_index_and_no_original(make_study, tmp_path: Path):
    study = make_study("study_a", subjects=3)
    key = tmp_path / "registry.key"
    key.write_text(secrets.token_hex(32))
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main,
        [
            "map",
            "--mapping",
            str(study.mapping_path),
            "--data",
            str(study.data_dir),
            "--out",
            str(out),
            "--deidentify",
            "registry-dates-shifted",
            "--deid-key-file",
            str(key),
        ],
    )
    assert result.exit_code == 0, result.output
    assert not (out / "index.csv").exists()
    written = "\n".join(p.read_text() for p in out.rglob("*") if p.is_file())
    assert not [value for value in _originals(study) if value in written]


def test_deidentify_without_a_key_is_a_usage_error(make_study, monkeypatch):
    monkeypatch.delenv("FHIR_ADAPTER_DEID_KEY", raising=False)
    study = make_study("study_a", subjects=1)
    result = CliRunner().invoke(
        main,
        [
            "map",
            "--mapping",
            str(study.mapping_path),
            "--data",
            str(study.data_dir),
            "--out",
            "never",
            "--deidentify",
            "safe-harbor",
        ],
    )
    assert result.exit_code == 2 and "needs a key" in result.output
