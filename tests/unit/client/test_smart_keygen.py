"""``auth keygen`` and the --auth smart options of the CLI."""

from __future__ import annotations

import json
import stat

import jwt
import pytest
from click.testing import CliRunner

from fhir_adapter.cli import main
from fhir_adapter.client import Secret, load_signing_key


@pytest.mark.parametrize("alg", ["RS384", "ES384"])
def test_keygen_writes_an_owner_only_key_and_its_public_jwks(tmp_path, alg):
    out = tmp_path / "keys"
    result = CliRunner().invoke(main, ["auth", "keygen", "--alg", alg, "--out", str(out)])
    assert result.exit_code == 0, result.output

    key_file, jwks_file = out / "private-key.pem", out / "jwks.json"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    key = load_signing_key(Secret(key_file.read_text()), where="test")
    (jwk,) = json.loads(jwks_file.read_text())["keys"]
    assert jwk["kid"] == key.key_id and jwk["alg"] == alg and jwk["use"] == "sig"
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(jwk)  # public members only
    assert key.key_id in result.output
    # What the key signs verifies with the published JWK.
    public = jwt.PyJWK(jwk).key
    signed = jwt.encode({"sub": "x"}, key.key, algorithm=alg)
    assert jwt.decode(signed, public, algorithms=[alg])["sub"] == "x"


def test_keygen_never_overwrites_a_key_without_force(tmp_path):
    runner = CliRunner()
    assert (
        runner.invoke(main, ["auth", "keygen", "--alg", "ES384", "--out", str(tmp_path)]).exit_code
        == 0
    )
    before = (tmp_path / "private-key.pem").read_text()

    again = runner.invoke(main, ["auth", "keygen", "--alg", "ES384", "--out", str(tmp_path)])
    assert again.exit_code == 7 and "already exists" in again.output
    assert (tmp_path / "private-key.pem").read_text() == before

    forced = runner.invoke(
        main, ["auth", "keygen", "--alg", "ES384", "--out", str(tmp_path), "--force"]
    )
    assert forced.exit_code == 0
    assert (tmp_path / "private-key.pem").read_text() != before
    assert stat.S_IMODE((tmp_path / "private-key.pem").stat().st_mode) == 0o600


def test_smart_options_without_auth_smart_are_a_usage_error(tmp_path):
    result = CliRunner().invoke(
        main,
        [
            "status",
            "--mapping",
            "mappings/study_a.yaml",
            "--server",
            "http://127.0.0.1:9/fhir",
            "--client-id",
            "c",
            "--scope",
            "system/*.rs",
        ],
    )
    assert result.exit_code == 2
    assert "--client-id, --scope only apply with --auth smart" in result.output


def test_auth_smart_with_a_missing_key_file_names_the_file(tmp_path):
    result = CliRunner().invoke(
        main,
        [
            "status",
            "--mapping",
            "mappings/study_a.yaml",
            "--server",
            "http://127.0.0.1:9/fhir",
            "--auth",
            "smart",
            "--client-id",
            "c",
            "--scope",
            "system/*.rs",
            "--private-key-file",
            str(tmp_path / "absent.pem"),
        ],
    )
    assert result.exit_code == 7
    assert f"cannot read the private key file {tmp_path / 'absent.pem'}" in result.output
