"""SMART Backend Services flow on the wire: discovery, assertion, caching, renewal, 401/403."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import httpx
import jwt
import pytest

from fhir_adapter.client import (
    FhirClient,
    SmartBackendAuth,
    auth_from_settings,
    generate_signing_key,
    parse_scopes,
    private_pem,
)
from fhir_adapter.errors import AccessDeniedError, ConfigError, TerminalServerError

BASE = "https://fhir.example.org/fhir"
CONFIG_URL = f"{BASE}/.well-known/smart-configuration"
TOKEN_URL = "https://auth.example.org/oauth2/token"
PATIENT_URL = f"{BASE}/Patient/p-1"
PATIENT = {"resourceType": "Patient", "id": "p-1"}
SMART_CONFIG = {
    "token_endpoint": TOKEN_URL,
    "token_endpoint_auth_methods_supported": ["private_key_jwt"],
    "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
    "grant_types_supported": ["client_credentials"],
}


class WallClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def es_key():
    return generate_signing_key("ES384")


@pytest.fixture(scope="module")
def rs_key():
    return generate_signing_key("RS384")


@pytest.fixture
def wall() -> WallClock:
    return WallClock()


@pytest.fixture
def smart(es_key, wall) -> Callable[..., SmartBackendAuth]:
    def make(**overrides: Any) -> SmartBackendAuth:
        options: dict[str, Any] = {
            "base_url": BASE,
            "client_id": "registry-sync",
            "key": es_key,
            "scopes": "system/*.rs system/*.cu",
            "clock": wall,
        }
        options.update(overrides)
        return SmartBackendAuth(**options)

    return make


def _token_answer(token: str = "access-1", expires_in: int = 300, **extra: Any) -> dict:
    return {
        "access_token": token,
        "token_type": "bearer",
        "expires_in": expires_in,
        "scope": "system/*.rs system/*.cu",
        **extra,
    }


def _form(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


def _requests(httpx_mock, url: str) -> list[httpx.Request]:
    return [r for r in httpx_mock.get_requests() if str(r.url) == url]


def test_discovers_the_token_endpoint_and_signs_a_valid_assertion(
    httpx_mock, make_client, smart, es_key, wall
):
    httpx_mock.add_response(url=CONFIG_URL, json=SMART_CONFIG)
    httpx_mock.add_response(url=TOKEN_URL, json=_token_answer())
    httpx_mock.add_response(url=PATIENT_URL, json=PATIENT)

    assert make_client(auth=smart()).read("Patient", "p-1") == PATIENT

    token_request = _requests(httpx_mock, TOKEN_URL)[0]
    form = _form(token_request)
    assert form["grant_type"] == "client_credentials"
    assert form["scope"] == "system/*.rs system/*.cu"
    assert form["client_assertion_type"] == (
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    )
    header = jwt.get_unverified_header(form["client_assertion"])
    assert header["alg"] == "ES384" and header["kid"] == es_key.key_id
    claims = jwt.decode(
        form["client_assertion"],
        es_key.key.public_key(),
        algorithms=["ES384"],
        audience=TOKEN_URL,
        options={"verify_exp": False},
    )
    assert claims["iss"] == claims["sub"] == "registry-sync"
    assert claims["aud"] == TOKEN_URL
    assert claims["exp"] - wall.now <= 300 and claims["exp"] > wall.now
    assert len(claims["jti"]) >= 16
    assert _requests(httpx_mock, PATIENT_URL)[0].headers["Authorization"] == "Bearer access-1"


def test_rs384_keys_sign_rs384_assertions(httpx_mock, make_client, smart, rs_key):
    httpx_mock.add_response(url=TOKEN_URL, json=_token_answer())
    httpx_mock.add_response(url=PATIENT_URL, json=PATIENT)

    make_client(auth=smart(key=rs_key, token_url=TOKEN_URL)).read("Patient", "p-1")

    assertion = _form(_requests(httpx_mock, TOKEN_URL)[0])["client_assertion"]
    assert jwt.get_unverified_header(assertion)["alg"] == "RS384"
    jwt.decode(
        assertion,
        rs_key.key.public_key(),
        algorithms=["RS384"],
        audience=TOKEN_URL,
        options={"verify_exp": False},
    )


def test_every_assertion_has_a_fresh_jti(httpx_mock, smart):
    auth = smart(token_url=TOKEN_URL)
    url = httpx.URL(TOKEN_URL)
    ids = {
        jwt.decode(auth.assertion(url).reveal(), options={"verify_signature": False})["jti"]
        for _ in range(20)
    }
    assert len(ids) == 20


def test_the_token_is_cached_and_renewed_before_it_expires(httpx_mock, make_client, smart, wall):
    httpx_mock.add_response(url=CONFIG_URL, json=SMART_CONFIG)
    httpx_mock.add_response(url=TOKEN_URL, json=_token_answer("access-1", expires_in=300))
    httpx_mock.add_response(url=TOKEN_URL, json=_token_answer("access-2", expires_in=300))
    httpx_mock.add_response(url=PATIENT_URL, json=PATIENT, is_reusable=True)
    client = make_client(auth=smart())

    client.read("Patient", "p-1")
    wall.now += 200  # still well inside the token's life
    client.read("Patient", "p-1")
    wall.now += 50  # 250 s: within the last minute, renew before it runs out
    client.read("Patient", "p-1")

    assert len(_requests(httpx_mock, CONFIG_URL)) == 1  # discovery happens once
    assert len(_requests(httpx_mock, TOKEN_URL)) == 2
    sent = [r.headers["Authorization"] for r in _requests(httpx_mock, PATIENT_URL)]
    assert sent == ["Bearer access-1", "Bearer access-1", "Bearer access-2"]


def test_a_short_token_is_renewed_at_half_its_life(httpx_mock, make_client, smart, wall):
    httpx_mock.add_response(url=TOKEN_URL, json=_token_answer("short", expires_in=60))
    httpx_mock.add_response(url=TOKEN_URL, json=_token_answer("next", expires_in=60))
    httpx_mock.add_response(url=PATIENT_URL, json=PATIENT, is_reusable=True)
    client = make_client(auth=smart(token_url=TOKEN_URL))

    client.read("Patient", "p-1")
    wall.now += 29
    client.read("Patient", "p-1")
    wall.now += 1
    client.read("Patient", "p-1")

    sent = [r.headers["Authorization"] for r in _requests(httpx_mock, PATIENT_URL)]
    assert sent == ["Bearer short", "Bearer short", "Bearer next"]


def test_a_401_renews_the_token_once_and_replays_the_request(httpx_mock, make_client, smart):
    httpx_mock.add_response(url=TOKEN_URL, json=_token_answer("revoked"))
    httpx_mock.add_response(url=TOKEN_URL, json=_token_answer("fresh"))
    httpx_mock.add_response(url=PATIENT_URL, status_code=401)
    httpx_mock.add_response(url=PATIENT_URL, json=PATIENT)

    assert make_client(auth=smart(token_url=TOKEN_URL)).read("Patient", "p-1") == PATIENT

    sent = [r.headers["Authorization"] for r in _requests(httpx_mock, PATIENT_URL)]
    assert sent == ["Bearer revoked", "Bearer fresh"]


def test_a_second_401_is_an_error_and_never_a_loop(httpx_mock, make_client, smart):
    httpx_mock.add_response(url=TOKEN_URL, json=_token_answer(), is_reusable=True)
    httpx_mock.add_response(url=PATIENT_URL, status_code=401, is_reusable=True)

    with pytest.raises(AccessDeniedError) as caught:
        make_client(auth=smart(token_url=TOKEN_URL)).read("Patient", "p-1")

    assert caught.value.status == 401
    assert len(_requests(httpx_mock, TOKEN_URL)) == 2  # the first token, one renewal
    assert len(_requests(httpx_mock, PATIENT_URL)) == 2  # the request, one replay


def test_a_401_on_a_write_replays_its_body(httpx_mock, make_client, smart):
    httpx_mock.add_response(url=TOKEN_URL, json=_token_answer(), is_reusable=True)
    httpx_mock.add_response(method="PUT", status_code=401)
    httpx_mock.add_response(method="PUT", status_code=200, json=PATIENT, headers={"ETag": 'W/"1"'})

    make_client(auth=smart(token_url=TOKEN_URL)).update(PATIENT)

    puts = [r for r in httpx_mock.get_requests() if r.method == "PUT"]
    assert len(puts) == 2 and puts[0].content == puts[1].content != b""


@pytest.mark.parametrize(
    ("error", "advice"),
    [
        ("invalid_client", "that the public JWKS of this very key is registered"),
        ("invalid_scope", "request only scopes it was registered with"),
    ],
)
def test_token_endpoint_refusals_are_one_precise_line(
    httpx_mock, make_client, smart, error, advice
):
    httpx_mock.add_response(
        url=TOKEN_URL,
        status_code=400 if error != "invalid_client" else 401,
        json={
            "error": error,
            "error_description": "Client authentication failed: client_assertion",
        },
    )

    with pytest.raises(AccessDeniedError) as caught:
        make_client(auth=smart(token_url=TOKEN_URL)).read("Patient", "p-1")

    message = str(caught.value)
    assert "\n" not in message
    assert f"({error}: Client authentication failed: client_assertion)" in message
    assert advice in message
    assert message.startswith("POST /oauth2/token answered 40")
    assert not _requests(httpx_mock, PATIENT_URL)  # nothing was sent to the FHIR server


def test_a_403_for_want_of_a_scope_names_the_granted_scopes(httpx_mock, make_client, smart):
    httpx_mock.add_response(url=TOKEN_URL, json=_token_answer(scope="system/*.rs"))
    httpx_mock.add_response(
        method="POST",
        url=BASE,
        status_code=403,
        headers={"WWW-Authenticate": 'Bearer error="insufficient_scope", scope="system/Patient.c"'},
        json={"resourceType": "OperationOutcome"},
    )

    with pytest.raises(AccessDeniedError) as caught:
        make_client(auth=smart(token_url=TOKEN_URL)).transaction(
            {"resourceType": "Bundle", "type": "transaction", "entry": []}
        )

    message = str(caught.value)
    assert "scopes (system/*.rs) do not allow this request; it needs system/Patient.c;" in message
    assert message.startswith("POST /fhir answered 403")
    assert len(_requests(httpx_mock, TOKEN_URL)) == 1  # a 403 is not retried


def test_a_plain_403_stays_the_clients_error(httpx_mock, make_client, smart):
    httpx_mock.add_response(url=TOKEN_URL, json=_token_answer())
    httpx_mock.add_response(url=PATIENT_URL, status_code=403)

    with pytest.raises(AccessDeniedError, match="not allowed to do this"):
        make_client(auth=smart(token_url=TOKEN_URL)).read("Patient", "p-1")


def test_no_smart_configuration_says_what_to_do(httpx_mock, make_client, smart):
    httpx_mock.add_response(url=CONFIG_URL, status_code=404)

    with pytest.raises(TerminalServerError, match="--token-url"):
        make_client(auth=smart()).read("Patient", "p-1")


def test_a_server_without_our_algorithm_is_refused_before_signing(httpx_mock, make_client, smart):
    httpx_mock.add_response(
        url=CONFIG_URL,
        json={**SMART_CONFIG, "token_endpoint_auth_signing_alg_values_supported": ["RS384"]},
    )

    with pytest.raises(AccessDeniedError, match="does not accept ES384"):
        make_client(auth=smart()).read("Patient", "p-1")


def test_a_plain_http_token_endpoint_off_this_machine_is_refused(httpx_mock, make_client, smart):
    httpx_mock.add_response(
        url=CONFIG_URL, json={**SMART_CONFIG, "token_endpoint": "http://auth.example.org/token"}
    )

    with pytest.raises(TerminalServerError, match="plain http"):
        make_client(auth=smart()).read("Patient", "p-1")
    assert len(httpx_mock.get_requests()) == 1  # no assertion went out


def test_secrets_never_reach_logs_errors_or_reprs(httpx_mock, make_client, smart, es_key, caplog):
    caplog.set_level(logging.DEBUG)
    token = "TOKEN-abcdefghijklmnopqrstuvwxyz"
    httpx_mock.add_response(url=CONFIG_URL, json=SMART_CONFIG)
    httpx_mock.add_response(url=TOKEN_URL, json=_token_answer(token))
    httpx_mock.add_response(url=PATIENT_URL, status_code=401, is_reusable=True)
    httpx_mock.add_response(
        url=TOKEN_URL,
        status_code=401,
        json={
            "error": "invalid_client",
            "error_description": "bad eyJhbGciOiJFUzM4NCJ9.eyJpc3MiOi.x",
        },
    )
    auth = smart()
    client = make_client(auth=auth)

    with pytest.raises(AccessDeniedError) as caught:
        client.read("Patient", "p-1")

    assertion = _form(_requests(httpx_mock, TOKEN_URL)[0])["client_assertion"]
    pem = private_pem(es_key).reveal()
    key_body = "".join(pem.splitlines()[1:-1])
    texts = [
        caplog.text,
        str(caught.value),
        repr(caught.value),
        repr(auth),
        repr(client),
        repr(vars(auth)),
        repr(es_key),
    ]
    for text in texts:
        assert token not in text and assertion not in text
        assert key_body[:40] not in text
        assert not re.search(r"eyJ[A-Za-z0-9_-]{8,}\.", text)


def test_scopes_in_v1_and_v2_forms_are_accepted():
    assert parse_scopes("system/*.rs system/Observation.cu") == (
        "system/*.rs",
        "system/Observation.cu",
    )
    assert parse_scopes(["system/*.read", "system/Patient.write system/*.*"]) == (
        "system/*.read",
        "system/Patient.write",
        "system/*.*",
    )
    assert parse_scopes("system/Observation.rs?category=laboratory system/*.rs system/*.rs") == (
        "system/Observation.rs?category=laboratory",
        "system/*.rs",
    )


@pytest.mark.parametrize(
    "bad",
    [
        "system/*.sr",
        "system/*.x",
        "system/observation.rs",
        "patient/*.rs",
        "user/Observation.read",
        "system/*.",
    ],
)
def test_scopes_that_are_not_system_scopes_are_refused(bad):
    with pytest.raises(ConfigError):
        parse_scopes(bad)


def test_auth_from_settings_reads_the_key_from_a_file_or_the_environment(tmp_path, es_key):
    pem = private_pem(es_key).reveal()
    (tmp_path / "key.pem").write_text(pem)
    from_file = auth_from_settings(
        "smart",
        base_url=BASE,
        client_id="c",
        private_key_file=tmp_path / "key.pem",
        scopes=("system/*.rs",),
        environ={},
    )
    from_env = auth_from_settings(
        "smart",
        base_url=BASE,
        client_id="c",
        private_key_env="SMART_KEY",
        scopes="system/*.rs",
        environ={"SMART_KEY": pem},
    )
    assert isinstance(from_file, SmartBackendAuth) and isinstance(from_env, SmartBackendAuth)
    assert es_key.key_id in repr(from_file) and pem[40:80] not in repr(from_file)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"private_key_env": "MISSING"},
            "environment variable MISSING (the private key) is not set",
        ),
        ({"private_key_env": "NOT_PEM"}, "environment variable NOT_PEM: not a PEM private key"),
        ({"private_key_env": "KEY", "client_id": None}, "needs --client-id"),
        ({"private_key_env": "KEY", "scopes": ()}, "give the scopes"),
    ],
)
def test_smart_settings_errors_name_the_setting_never_the_value(settings, message, es_key):
    environ = {"NOT_PEM": "hello", "KEY": private_pem(es_key).reveal()}
    options: dict[str, Any] = {
        "base_url": BASE,
        "client_id": "c",
        "scopes": "system/*.rs",
        **settings,
    }
    with pytest.raises(ConfigError, match=re.escape(message)) as caught:
        auth_from_settings("smart", environ=environ, **options)
    assert "hello" not in str(caught.value)


def test_small_rsa_keys_and_other_curves_are_refused(tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    from fhir_adapter.client import Secret, load_signing_key

    def pem(key) -> Secret:
        return Secret(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ).decode()
        )

    with pytest.raises(ConfigError, match="1024 bits"):
        load_signing_key(pem(rsa.generate_private_key(65537, 1024)), where="k")
    with pytest.raises(ConfigError, match="P-384"):
        load_signing_key(pem(ec.generate_private_key(ec.SECP256R1())), where="k")


def test_one_client_shares_one_token_between_threads(httpx_mock, smart):
    from concurrent.futures import ThreadPoolExecutor

    httpx_mock.add_response(url=TOKEN_URL, json=_token_answer())
    httpx_mock.add_response(url=PATIENT_URL, json=PATIENT, is_reusable=True)
    with (
        FhirClient(BASE, auth=smart(token_url=TOKEN_URL), max_concurrency=4) as client,
        ThreadPoolExecutor(4) as pool,
    ):
        list(pool.map(lambda _: client.read("Patient", "p-1"), range(12)))
    assert len(_requests(httpx_mock, TOKEN_URL)) == 1
