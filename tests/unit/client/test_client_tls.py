"""TLS: an untrusted certificate fails at once with what to do; --ca-bundle trusts a CA.

A real HTTPS server on loopback with a certificate from a throwaway test CA (trustme), so
the handshake, not a mock, decides.
"""

from __future__ import annotations

import http.server
import json
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from fhir_adapter.cli._server_options import make_client
from fhir_adapter.client import CertificateError, FhirClient, RetryPolicy

REPO = Path(__file__).resolve().parents[3]
CAPABILITIES = {
    "resourceType": "CapabilityStatement",
    "status": "active",
    "kind": "instance",
    "fhirVersion": "4.0.1",
    "format": ["json"],
    "rest": [{"mode": "server", "interaction": [{"code": "transaction"}]}],
}


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        body = json.dumps(CAPABILITIES).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def https_base(authority: trustme.CA) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}/fhir"
    server.shutdown()


def _settings(url: str, ca_bundle: str | None) -> dict[str, object]:
    return {
        "server_url": url,
        "auth": "none",
        "username": None,
        "password_env": None,
        "password_file": None,
        "token_env": None,
        "token_file": None,
        "ca_bundle": ca_bundle,
        "timeout": 20.0,
        "concurrency": 1,
    }


def test_an_untrusted_certificate_is_terminal_at_once(https_base: str) -> None:
    sleeps: list[float] = []
    client = FhirClient(https_base, retry=RetryPolicy(max_attempts=5), sleep=sleeps.append)
    with client, pytest.raises(CertificateError) as caught:
        client.capabilities()
    assert caught.value.attempts == 1 and sleeps == []
    message = str(caught.value)
    assert "certificate not trusted" in message and "--ca-bundle" in message


def test_ca_bundle_trusts_the_servers_authority(
    https_base: str, authority: trustme.CA, tmp_path: Path
) -> None:
    bundle = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    with make_client(**_settings(https_base, str(bundle))) as client:  # type: ignore[arg-type]
        assert client.capabilities().transaction


def test_the_cli_says_certificate_not_trusted_in_one_line(https_base: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "fhir_adapter.cli",
            "sync",
            "--mapping",
            str(REPO / "mappings" / "study_a.yaml"),
            "--data",
            str(REPO / "examples" / "study_a"),
            "--server",
            https_base,
            "--ledger",
            str(tmp_path / "ledgers" / "l.sqlite"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 5, result.stderr[-800:]
    assert "certificate not trusted" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "ledgers").exists()  # no ledger for a server never reached
