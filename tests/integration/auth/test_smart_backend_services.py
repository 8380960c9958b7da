"""SMART Backend Services against the real secure local server: sync, verify and status work
with the right key and scopes; a wrong key, an expired assertion, a missing scope and a
revoked client each fail in one precise line with nothing written; the key, the assertion
and the token appear in no log, output, report or ledger."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import httpx
import jwt
import pytest
from click.testing import CliRunner

from fhir_adapter.cli import main
from fhir_adapter.client import load_signing_key
from fhir_adapter.client._auth import Secret
from fhir_adapter.errors import AccessDeniedError
from fhir_adapter.localserver import revoke_client


def _run(args: list[str]) -> Any:
    return CliRunner().invoke(main, ["-vv", *args])


def test_discovery_names_the_token_endpoint(secure_server):
    config = httpx.get(f"{secure_server.url}/.well-known/smart-configuration").json()
    port = secure_server.handle.port
    assert config["token_endpoint"] == f"http://127.0.0.1:{port}/oauth2/token"
    assert "private_key_jwt" in config["token_endpoint_auth_methods_supported"]
    assert {"RS384", "ES384"} <= set(config["token_endpoint_auth_signing_alg_values_supported"])
    assert httpx.get(f"{secure_server.url}/metadata").status_code == 200
    assert httpx.get(f"{secure_server.url}/Patient").status_code == 401


def test_sync_verify_and_status_work_with_the_right_key(secure_server, study, spy, caplog):
    caplog.set_level(logging.DEBUG)
    args = study.args(secure_server)
    smart = secure_server.smart_args("full", "full")

    synced = _run(["sync", *args, *smart, "--json"])
    assert synced.exit_code == 0, synced.output
    verified = _run(["verify", *args, *smart, "--json"])
    assert verified.exit_code == 0, verified.output
    status = _run(
        [
            "status",
            *study.args(secure_server, data=False),
            *secure_server.smart_args("reader", "reader", "system/*.rs"),
            "--json",
        ]
    )
    assert status.exit_code == 0, status.output

    expected = study.expected_ids()
    report = json.loads(status.output)
    for kind, ids in expected.items():
        assert report["resources"][kind]["server"] == len(ids), kind
    assert spy.tokens and spy.assertions
    keys = [secure_server.key(n).read_text() for n in ("full", "reader")]
    ledger = study.ledger_path.read_bytes().decode("latin-1")
    spy.assert_absent([caplog.text, synced.output, verified.output, status.output, ledger], keys)


@pytest.mark.parametrize("case", ["wrong key", "unknown client"])
def test_a_refused_client_is_one_precise_line_and_writes_nothing(
    secure_server, study, spy, caplog, case, held_counts
):
    caplog.set_level(logging.DEBUG)
    smart = {
        "wrong key": secure_server.smart_args("full", "stranger"),
        "unknown client": secure_server.smart_args("nobody", "stranger"),
    }[case]

    result = _run(["sync", *study.args(secure_server), *smart])

    assert result.exit_code == 5, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.output
    assert errors[0].startswith(
        "error: POST /oauth2/token answered 401: the token endpoint refused the client "
        "(invalid_client); the server did not accept this client and key"
    ), errors[0]
    assert "that the public JWKS of this very key is registered" in errors[0]
    assert held_counts(study) == {kind: 0 for kind in study.expected_ids()}
    keys = [secure_server.key(n).read_text() for n in ("full", "stranger")]
    spy.assert_absent([caplog.text, result.output], keys)


def test_a_missing_scope_is_named_and_nothing_is_written(
    secure_server, study, spy, caplog, held_counts
):
    # Reading is allowed (system/*.rs), writing is not: the study resource is refused first
    # and the run stops there (exit 5: every participant would be refused the same way).
    caplog.set_level(logging.DEBUG)
    reader = secure_server.smart_args("reader", "reader", "system/*.rs")

    result = _run(["sync", *study.args(secure_server), *reader])

    assert result.exit_code == 5, result.output
    text = " ".join(result.output.split())
    assert (
        "POST /fhir answered 403: the access token's scopes (system/*.rs) do not allow this "
        "request; it needs system/*.cu;" in text
    ), result.output
    assert held_counts(study) == {kind: 0 for kind in study.expected_ids()}
    spy.assert_absent([caplog.text, result.output], [secure_server.key("reader").read_text()])


def test_an_expired_assertion_is_refused(secure_server):
    key = load_signing_key(Secret(secure_server.key("full").read_text()), where="test")
    token_url = f"http://127.0.0.1:{secure_server.handle.port}/oauth2/token"
    past = 1_000_000_000  # 2001: long expired
    assertion = jwt.encode(
        {
            "iss": "full",
            "sub": "full",
            "aud": token_url,
            "jti": "old-1",
            "iat": past,
            "exp": past + 300,
        },
        key.key,
        algorithm="ES384",
        headers={"kid": key.key_id},
    )
    answer = httpx.post(
        token_url,
        data={
            "grant_type": "client_credentials",
            "scope": "system/*.rs",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
        },
    )
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"


def test_an_expired_assertion_through_the_client_is_one_line(secure_server):
    # The client's clock is ten minutes behind: its assertion expired before it was sent.
    with secure_server.client() as fhir:
        fhir.auth._clock = lambda: time.time() - 600  # type: ignore[union-attr]
        with pytest.raises(AccessDeniedError) as caught:
            fhir.read("Patient", "nobody-1")
    message = str(caught.value)
    assert "\n" not in message
    assert "(invalid_client" in message and "this machine's clock is right" in message


def test_a_reused_or_long_lived_assertion_is_refused(secure_server):
    key = load_signing_key(Secret(secure_server.key("full").read_text()), where="test")
    token_url = f"http://127.0.0.1:{secure_server.handle.port}/oauth2/token"
    now = int(time.time())

    def post(claims: dict[str, Any]) -> httpx.Response:
        signed = jwt.encode(
            {"iss": "full", "sub": "full", "aud": token_url, **claims},
            key.key,
            algorithm="ES384",
            headers={"kid": key.key_id},
        )
        return httpx.post(
            token_url,
            data={
                "grant_type": "client_credentials",
                "scope": "system/*.rs",
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": signed,
            },
        )

    once = {"jti": f"once-{now}", "iat": now, "exp": now + 120}
    assert post(once).status_code == 200
    assert post(once).status_code == 401  # the same jti again
    assert post({"jti": f"long-{now}", "iat": now, "exp": now + 3600}).status_code == 401


def test_a_revoked_client_fails_at_once_and_writes_nothing(
    secure_server, study, spy, caplog, held_counts
):
    caplog.set_level(logging.DEBUG)
    with secure_server.client("doomed", "doomed") as doomed:
        assert doomed.capabilities()  # metadata is open; get a token too:
        doomed.search_bundle("Patient", {"_count": "1"})
        assert spy.tokens
        assert revoke_client(secure_server.state_dir, secure_server.handle.port, "doomed")
        with pytest.raises(AccessDeniedError) as held_token:  # the token it holds is refused
            doomed.search_bundle("Patient", {"_count": "1"})
    assert held_token.value.status == 401

    result = _run(
        ["sync", *study.args(secure_server), *secure_server.smart_args("doomed", "doomed")]
    )
    assert result.exit_code == 5, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "(invalid_client" in errors[0], result.output
    assert held_counts(study) == {kind: 0 for kind in study.expected_ids()}
    spy.assert_absent(
        [caplog.text, result.output, str(held_token.value)],
        [secure_server.key("doomed").read_text()],
    )
