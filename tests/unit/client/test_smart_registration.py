"""Client registrations of the secure local server: parsed, checked and kept owner-only."""

from __future__ import annotations

import json
import stat

import pytest

from fhir_adapter.client import generate_signing_key
from fhir_adapter.errors import ConfigError
from fhir_adapter.localserver import (
    DEFAULT_SCOPES,
    parse_registration,
    read_clients,
    register_client,
    revoke_client,
)
from fhir_adapter.localserver._clients import clients_path
from fhir_adapter.localserver._process import java_command


@pytest.fixture
def jwks_file(tmp_path):
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(generate_signing_key("ES384").public_jwks()))
    return path


def test_a_registration_names_id_jwks_and_scopes(jwks_file):
    plain = parse_registration(f"sync={jwks_file}")
    assert plain.client_id == "sync" and plain.scopes == DEFAULT_SCOPES
    scoped = parse_registration(f"reader={jwks_file}:system/*.rs system/Patient.read")
    assert scoped.scopes == ("system/*.rs", "system/Patient.read")
    assert scoped.jwks["keys"][0]["kty"] == "EC"
    assert "jwks" not in repr(scoped)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("no-equals", "write ID=JWKS_FILE"),
        ("bad id!={jwks}", "write ID=JWKS_FILE"),
        ("c={missing}", "cannot read the JWKS file"),
        ("c={jwks}:patient/*.rs", "cannot read the JWKS file"),  # not scopes: part of the path
    ],
)
def test_bad_registrations_say_what_is_wrong(text, message, jwks_file, tmp_path):
    text = text.format(jwks=jwks_file, missing=tmp_path / "absent.json")
    with pytest.raises(ConfigError, match=message):
        parse_registration(text)


def test_a_private_key_is_never_registered(tmp_path):
    from cryptography.hazmat.primitives.asymmetric import ec

    key = generate_signing_key("ES384")
    jwk = key.public_jwk()
    assert isinstance(key.key, ec.EllipticCurvePrivateKey)
    jwk["d"] = "c2VjcmV0"
    path = tmp_path / "leaky.json"
    path.write_text(json.dumps({"keys": [jwk]}))
    with pytest.raises(ConfigError, match="holds a private key"):
        parse_registration(f"c={path}")


def test_register_replace_and_revoke_on_an_owner_only_file(tmp_path, jwks_file):
    state = tmp_path / "state"
    register_client(state, 9999, parse_registration(f"a={jwks_file}"))
    register_client(state, 9999, parse_registration(f"b={jwks_file}:system/*.rs"))
    register_client(state, 9999, parse_registration(f"a={jwks_file}:system/*.cu"))
    assert [(c.client_id, c.scopes) for c in read_clients(state, 9999)] == [
        ("b", ("system/*.rs",)),
        ("a", ("system/*.cu",)),
    ]
    assert stat.S_IMODE(clients_path(state, 9999).stat().st_mode) == 0o600

    assert revoke_client(state, 9999, "a") is True
    assert revoke_client(state, 9999, "a") is False
    assert [c.client_id for c in read_clients(state, 9999)] == ["b"]


def test_secure_mode_only_adds_spring_arguments():
    from pathlib import Path

    plain = java_command("java", Path("s.jar"), 8080, ["-Xmx1g"])
    secure = java_command(
        "java", Path("s.jar"), 8080, ["-Xmx1g"], ["--spring.profiles.active=secure"]
    )
    assert secure == [*plain, "--spring.profiles.active=secure"]
