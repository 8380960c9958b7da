"""The secure local server (SMART Backend Services), started once for the auth tests.

Three clients are registered at start: ``full`` (ES384, read/write/delete on every type),
``reader`` (RS384, ``system/*.rs`` only) and ``doomed`` (ES384, full scopes, revoked by a
test). Their keys live in a private temp folder; a fourth key is registered nowhere.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from fhir_adapter.cli import main
from fhir_adapter.client import FhirClient, SmartBackendAuth, auth_from_settings
from fhir_adapter.client._auth import Secret
from fhir_adapter.localserver import (
    LocalServer,
    default_state_dir,
    parse_registration,
    start_server,
)
from fhir_adapter.mapping.loader import load_mapping
from fhir_adapter.pipeline import StudyMapping

REPO = Path(__file__).resolve().parents[3]
FULL_SCOPES = "system/*.rs system/*.cu system/*.d"
JWT_SHAPE = re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.")


@dataclass(frozen=True)
class SecureServer:
    handle: LocalServer
    state_dir: Path
    keys: Path  # <keys>/<name>/private-key.pem and jwks.json

    @property
    def url(self) -> str:
        return self.handle.url

    def key(self, name: str) -> Path:
        return self.keys / name / "private-key.pem"

    def smart_args(self, client_id: str, key: str, scopes: str = FULL_SCOPES) -> list[str]:
        return [
            "--auth",
            "smart",
            "--client-id",
            client_id,
            "--private-key-file",
            str(self.key(key)),
            "--scope",
            scopes,
        ]

    def client(
        self, client_id: str = "full", key: str = "full", scopes: str = FULL_SCOPES
    ) -> FhirClient:
        auth = auth_from_settings(
            "smart",
            base_url=self.url,
            client_id=client_id,
            private_key_file=self.key(key),
            scopes=scopes,
            environ={},
        )
        return FhirClient(self.url, auth=auth, deadline=120)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def secure_server(
    tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> Iterator[SecureServer]:
    keys = tmp_path_factory.mktemp("smart-keys")
    runner = CliRunner()
    for name, alg in (
        ("full", "ES384"),
        ("reader", "RS384"),
        ("doomed", "ES384"),
        ("stranger", "ES384"),
    ):
        done = runner.invoke(main, ["auth", "keygen", "--alg", alg, "--out", str(keys / name)])
        assert done.exit_code == 0, done.output
    clients = [
        parse_registration(f"full={keys / 'full' / 'jwks.json'}"),
        parse_registration(f"reader={keys / 'reader' / 'jwks.json'}:system/*.rs"),
        parse_registration(f"doomed={keys / 'doomed' / 'jwks.json'}"),
    ]
    reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line("starting the secure local HAPI FHIR server for the auth tests")
    state_dir = default_state_dir()
    handle = start_server(
        _free_port(),
        detach=False,
        secure=True,
        clients=clients,
        state_dir=state_dir,
        timeout=float(os.environ.get("FHIR_ADAPTER_TEST_SERVER_TIMEOUT", "600")),
    )
    try:
        yield SecureServer(handle, state_dir, keys)
    finally:
        handle.stop()


@dataclass
class Study:
    mapping_path: Path
    data_dir: Path
    ledger_path: Path

    def expected_ids(self) -> dict[str, list[str]]:
        mapping = StudyMapping(load_mapping(self.mapping_path), self.data_dir)
        ids: dict[str, list[str]] = {}
        for resource, _ in mapping.all_resources():
            ids.setdefault(resource["resourceType"], []).append(resource["id"])
        return ids

    def args(self, server: SecureServer, *, data: bool = True) -> list[str]:
        return [
            "--mapping",
            str(self.mapping_path),
            "--server",
            server.url,
            "--ledger",
            str(self.ledger_path),
            *(["--data", str(self.data_dir)] if data else []),
        ]


@pytest.fixture
def study(tmp_path: Path) -> Study:
    """A private copy of study A (two subjects) under a unique study key."""
    import csv

    tag = uuid.uuid4().hex[:8]
    shutil.copytree(REPO / "mappings" / "codes", tmp_path / "codes")
    text = (REPO / "mappings" / "study_a.yaml").read_text(encoding="utf-8")
    text = (
        text.replace("key: study-a", f"key: t{tag}")
        .replace("example:study-a", f"test:{tag}")
        .replace('value: "STUDY-', f'value: "T{tag}-')
    )
    mapping = tmp_path / "study_a.yaml"
    mapping.write_text(text, encoding="utf-8")
    data = tmp_path / "data"
    shutil.copytree(REPO / "examples" / "study_a", data)
    keep = {"A-001", "A-002"}
    for path in data.glob("*.csv"):
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            fields, rows = reader.fieldnames, [r for r in reader if r["subject_id"] in keep]
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    return Study(mapping, data, tmp_path / "ledger.sqlite")


def held(client: FhirClient, ids: dict[str, list[str]]) -> dict[str, int]:
    """How many of these resources the server holds, per type (fresh, not cached)."""
    found: dict[str, int] = {}
    for kind, kind_ids in ids.items():
        count = 0
        for start in range(0, len(kind_ids), 100):
            chunk: Any = {"_id": ",".join(kind_ids[start : start + 100]), "_count": "100"}
            count += sum(1 for _ in client.search(kind, chunk, no_cache=True))
        found[kind] = count
    return found


@pytest.fixture
def held_counts(secure_server: SecureServer) -> Any:
    """``held_counts(study)``: what the server holds of the study, per type, read with the
    full client."""

    def count(study: Study) -> dict[str, int]:
        with secure_server.client() as admin:
            return held(admin, study.expected_ids())

    return count


@dataclass
class SecretSpy:
    """Every assertion signed and every access token received in a test, to look for."""

    assertions: list[str] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)

    def assert_absent(self, texts: list[str], keys: list[str]) -> None:
        """No assertion, token, private key (``keys``: PEM texts) or anything shaped like a
        JWT in any of ``texts``."""
        secrets = [*self.assertions, *self.tokens]
        secrets += ["".join(k.splitlines()[1:-1])[:48] for k in keys]
        for text in texts:
            for secret in secrets:
                assert secret not in text
            assert not JWT_SHAPE.search(text)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> SecretSpy:
    seen = SecretSpy()
    sign, receive = SmartBackendAuth.assertion, SmartBackendAuth._token_from

    def assertion(self: SmartBackendAuth, url: httpx.URL) -> Secret:
        signed = sign(self, url)
        seen.assertions.append(signed.reveal())
        return signed

    def token_from(self: SmartBackendAuth, *args: Any) -> Any:
        token = receive(self, *args)
        seen.tokens.append(token.header.reveal().removeprefix("Bearer "))
        return token

    monkeypatch.setattr(SmartBackendAuth, "assertion", assertion)
    monkeypatch.setattr(SmartBackendAuth, "_token_from", token_from)
    return seen
