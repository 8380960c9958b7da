"""One real HAPI FHIR R4 server for the whole integration test session.

Every test under tests/integration is marked ``integration`` (deselect with
``-m "not integration"``). The server is started on a free port and stopped at the end;
set FHIR_ADAPTER_TEST_SERVER=http://127.0.0.1:8080/fhir to reuse a running one instead.
Tests share that server, so each test isolates its data with ``unique_system``.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fhir_adapter.localserver import start_server

SERVER_ENV = "FHIR_ADAPTER_TEST_SERVER"
TIMEOUT_ENV = "FHIR_ADAPTER_TEST_SERVER_TIMEOUT"
FHIR_JSON = "application/fhir+json"
_HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in item.path.parents:
            item.add_marker(pytest.mark.integration)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def fhir_base_url(
    tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> Iterator[str]:
    """Base URL of the session's FHIR server, e.g. ``http://127.0.0.1:40123/fhir``."""
    given = os.environ.get(SERVER_ENV)
    if given:
        yield given.rstrip("/")
        return
    reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(
            "starting a local HAPI FHIR server for the integration tests "
            "(30-120 s; the first time it is built with Maven)"
        )
    server = start_server(
        _free_port(),
        detach=False,  # the JVM dies with this process, even on a hard kill
        timeout=float(os.environ.get(TIMEOUT_ENV, "240")),
        state_dir=tmp_path_factory.mktemp("hapi-state"),
    )
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def fhir_http(fhir_base_url: str) -> Iterator[httpx.Client]:
    """An httpx client on the FHIR base URL that sends and accepts FHIR JSON."""
    with httpx.Client(
        base_url=fhir_base_url,
        headers={"Accept": FHIR_JSON, "Content-Type": FHIR_JSON},
        timeout=120.0,
    ) as client:
        yield client


@pytest.fixture
def unique_system() -> str:
    """An identifier system URI no other test uses, to find exactly this test's resources."""
    return f"urn:fhir-adapter:test:{uuid.uuid4()}"
