"""Credentials: headers on the wire, and secrets nowhere else."""

from __future__ import annotations

import base64
import pickle

import pytest

from fhir_adapter.client import BasicAuth, BearerAuth, NoAuth, Secret, auth_from_settings
from fhir_adapter.errors import AccessDeniedError, ConfigError

PASSWORD = "s3cr3t-PASSWORD"
TOKEN = "tok-XYZ-123456"


def test_basic_auth_header_is_sent(httpx_mock, make_client):
    httpx_mock.add_response(json={"resourceType": "Patient", "id": "p-1"})
    auth = auth_from_settings(
        "basic", username="sync", password_env="FHIR_PW", environ={"FHIR_PW": PASSWORD}
    )

    make_client(auth=auth).read("Patient", "p-1")
    expected = base64.b64encode(f"sync:{PASSWORD}".encode()).decode()
    assert httpx_mock.get_request().headers["Authorization"] == f"Basic {expected}"


def test_bearer_token_from_a_file(httpx_mock, make_client, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    httpx_mock.add_response(json={"resourceType": "Patient", "id": "p-1"})
    auth = auth_from_settings("bearer", token_file=token_file, environ={})

    make_client(auth=auth).read("Patient", "p-1")
    assert httpx_mock.get_request().headers["Authorization"] == f"Bearer {TOKEN}"


def test_no_auth_sends_no_header(httpx_mock, make_client):
    httpx_mock.add_response(json={"resourceType": "Patient", "id": "p-1"})

    make_client(auth=auth_from_settings("none", environ={})).read("Patient", "p-1")
    assert "Authorization" not in httpx_mock.get_request().headers


def test_secrets_are_absent_from_reprs_and_errors(httpx_mock, make_client):
    httpx_mock.add_response(status_code=401, json={"resourceType": "OperationOutcome"})
    basic = BasicAuth("sync", Secret(PASSWORD))
    bearer = BearerAuth(Secret(TOKEN))
    client = make_client(auth=basic)

    with pytest.raises(AccessDeniedError) as caught:
        client.read("Patient", "p-1")
    encoded = base64.b64encode(f"sync:{PASSWORD}".encode()).decode()
    for text in (
        repr(basic),
        str(basic),
        repr(bearer),
        repr(client),
        repr(Secret(TOKEN)),
        str(Secret(TOKEN)),
        str(caught.value),
        repr(caught.value),
        repr(vars(caught.value)),
    ):
        assert PASSWORD not in text and TOKEN not in text and encoded not in text
    assert "check the auth settings" in str(caught.value)
    with pytest.raises(TypeError):
        pickle.dumps(Secret(TOKEN))


def test_missing_secrets_name_the_source_not_the_value(tmp_path):
    with pytest.raises(ConfigError, match="FHIR_TOKEN"):
        auth_from_settings("bearer", token_env="FHIR_TOKEN", environ={"OTHER": TOKEN})
    with pytest.raises(ConfigError, match="empty"):
        (tmp_path / "pw").write_text("\n")
        auth_from_settings("basic", username="u", password_file=tmp_path / "pw", environ={})
    with pytest.raises(ConfigError, match="cannot read"):
        auth_from_settings("basic", username="u", password_file=tmp_path / "nope", environ={})
    with pytest.raises(ConfigError, match="exactly one"):
        auth_from_settings(
            "bearer", token_env="A", token_file=tmp_path / "pw", environ={"A": TOKEN}
        )
    with pytest.raises(ConfigError, match="username"):
        auth_from_settings("basic", password_env="A", environ={"A": PASSWORD})
    with pytest.raises(ConfigError, match="unknown auth kind"):
        auth_from_settings("digest", environ={})


def test_auth_from_settings_kinds():
    assert isinstance(auth_from_settings("none", environ={}), NoAuth)
    basic = auth_from_settings("basic", username="u", password_env="P", environ={"P": "x"})
    assert isinstance(basic, BasicAuth) and basic.username == "u"
