"""`pull` and `validate --server` with SMART Backend Services against the real secure local
server: the right key and scopes work; a wrong key and a missing scope fail in one precise
line with nothing written (no study on the server, no pulled files); the key, the assertion
and the token appear in no log, output or pulled file."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from fhir_adapter.cli import main

READ = "system/*.rs"


def _run(args: list[str]) -> Any:
    return CliRunner().invoke(main, ["-vv", *args])


def _errors(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error: ")]


def _files_text(folder: Path) -> list[str]:
    return [p.read_bytes().decode("latin-1") for p in folder.rglob("*") if p.is_file()]


def _pull_args(secure_server, study, out: Path) -> list[str]:
    study_id = study.expected_ids()["ResearchStudy"][0]
    return [
        "pull",
        "--server",
        secure_server.url,
        "--study",
        study_id,
        "--out",
        str(out),
        "--format",
        "csv",
        "--no-progress",
    ]


def test_pull_with_a_read_only_client_brings_the_study_back(
    secure_server, study, spy, caplog, tmp_path
):
    caplog.set_level(logging.DEBUG)
    synced = _run(["sync", *study.args(secure_server), *secure_server.smart_args("full", "full")])
    assert synced.exit_code == 0, synced.output
    out = tmp_path / "pulled"

    pulled = _run(
        [
            *_pull_args(secure_server, study, out),
            *secure_server.smart_args("reader", "reader", READ),
            "--json",
        ]
    )

    assert pulled.exit_code == 0, pulled.output
    expected = study.expected_ids()
    for kind, ids in expected.items():
        lines = (out / "ndjson" / f"{kind}.ndjson").read_text(encoding="utf-8").splitlines()
        assert sorted(json.loads(line)["id"] for line in lines) == sorted(ids), kind
    keys = [secure_server.key(n).read_text() for n in ("full", "reader")]
    spy.assert_absent([caplog.text, synced.output, pulled.output, *_files_text(out)], keys)


@pytest.mark.parametrize(
    ("key", "scopes", "expected"),
    [
        (
            "stranger",
            READ,
            "error: POST /oauth2/token answered 401: the token endpoint refused the client "
            "(invalid_client); the server did not accept this client and key",
        ),
        (
            "full",
            "system/*.cu",
            "error: GET /fhir/ResearchStudy/{id} answered 403: the access token's scopes "
            "(system/*.cu) do not allow this request; it needs system/ResearchStudy.rs",
        ),
    ],
    ids=["wrong key", "missing scope"],
)
def test_a_refused_pull_is_one_precise_line_and_writes_no_file(
    secure_server, study, spy, caplog, tmp_path, key, scopes, expected
):
    caplog.set_level(logging.DEBUG)
    out = tmp_path / "pulled"

    result = _run(
        [*_pull_args(secure_server, study, out), *secure_server.smart_args("full", key, scopes)]
    )

    assert result.exit_code == 5, result.output
    errors = _errors(result.output)
    study_id = study.expected_ids()["ResearchStudy"][0]
    assert len(errors) == 1, result.output
    assert errors[0].replace(study_id, "{id}").startswith(expected), errors[0]
    written = [p for p in out.rglob("*") if p.is_file()] if out.exists() else []
    assert not [p for p in written if p.suffix in (".ndjson", ".csv", ".json")], written
    spy.assert_absent([caplog.text, result.output], [secure_server.key(key).read_text()])


def test_validate_on_the_secure_server_with_a_read_only_client(
    secure_server, study, spy, caplog, held_counts
):
    caplog.set_level(logging.DEBUG)
    args = ["--mapping", str(study.mapping_path), "--data", str(study.data_dir)]
    reader = secure_server.smart_args("reader", "reader", READ)

    result = _run(["validate", *args, "--server", secure_server.url, *reader, "--json"])

    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    total = sum(len(ids) for ids in study.expected_ids().values())
    assert report["validation"]["resources"] == total
    assert report["validation"]["ok"] is True
    # $validate stores nothing:
    assert held_counts(study) == {kind: 0 for kind in study.expected_ids()}
    spy.assert_absent([caplog.text, result.output], [secure_server.key("reader").read_text()])


@pytest.mark.parametrize(
    ("key", "scopes", "expected"),
    [
        (
            "stranger",
            READ,
            "error: POST /oauth2/token answered 401: the token endpoint refused the client "
            "(invalid_client)",
        ),
        (
            "full",
            "system/*.cu",
            "error: POST /fhir/ResearchStudy/$validate answered 403: the access token's "
            "scopes (system/*.cu) do not allow this request; it needs system/ResearchStudy.rs",
        ),
    ],
    ids=["wrong key", "missing scope"],
)
def test_a_refused_validate_is_one_precise_line(
    secure_server, study, spy, caplog, key, scopes, expected, held_counts
):
    caplog.set_level(logging.DEBUG)
    args = ["--mapping", str(study.mapping_path), "--data", str(study.data_dir)]

    result = _run(
        [
            "validate",
            *args,
            "--server",
            secure_server.url,
            *secure_server.smart_args("full", key, scopes),
        ]
    )

    assert result.exit_code == 5, result.output
    errors = _errors(result.output)
    assert len(errors) == 1, result.output
    assert errors[0].startswith(expected), errors[0]
    assert held_counts(study) == {kind: 0 for kind in study.expected_ids()}
    spy.assert_absent([caplog.text, result.output], [secure_server.key(key).read_text()])
