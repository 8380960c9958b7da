"""The fault proxy on the wire, against a stub upstream (no FHIR server needed, fast).

Each fault kind must reach the client as the failure it names, and forward (or not) as
documented; the plan must be seeded, balanced and within its budget; the kill switch must
SIGKILL the process at the chosen phase.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from faults._plan import TRANSACTION_ONLY, FaultKind, FaultPlan, KillPhase, KillSwitch  # noqa: E402
from faults._proxy import FOREIGN_ORIGIN, FaultProxy  # noqa: E402

TRANSACTION = {
    "resourceType": "Bundle",
    "type": "transaction",
    "entry": [
        {"fullUrl": "urn:uuid:1", "request": {"method": "PUT", "url": "Patient/p1"}},
        {"fullUrl": "urn:uuid:2", "request": {"method": "PUT", "url": "Observation/o1"}},
    ],
}
ANSWER = {
    "resourceType": "Bundle",
    "type": "transaction-response",
    "entry": [
        {"response": {"status": "201 Created", "location": "Patient/p1/_history/1"}},
        {"response": {"status": "201 Created", "location": "Observation/o1/_history/1"}},
    ],
}


class _Upstream(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[str] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        type(self).seen.append(self.command)
        body = json.dumps(
            ANSWER if self.command == "POST" else {"resourceType": "CapabilityStatement"}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def upstream() -> Iterator[str]:
    _Upstream.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/fhir"
    server.shutdown()
    server.server_close()


@pytest.fixture
def proxy(upstream: str) -> Iterator[FaultProxy]:
    with FaultProxy(upstream, latency=0.4) as running:
        yield running


def _only(proxy: FaultProxy, kind: FaultKind) -> None:
    proxy.set_plan(FaultPlan(seed=1, rate=1.0, budget=1, kinds=(kind,)))


def _post(proxy: FaultProxy, timeout: float = 5.0) -> httpx.Response:
    return httpx.post(proxy.base_url, json=TRANSACTION, timeout=timeout)


def test_the_plan_is_seeded_balanced_and_within_budget() -> None:
    def deal(seed: int) -> list[FaultKind | None]:
        plan, dealt = FaultPlan(seed=seed, rate=1.0, budget=26), Counter[FaultKind]()
        return [plan.draw(True, dealt) for _ in range(30)]

    first = deal(3)
    assert first == deal(3) and first != deal(4)
    assert first[26:] == [None] * 4
    assert Counter(first[:26]) == {kind: 2 for kind in FaultKind}
    plan, dealt = FaultPlan(seed=1, rate=1.0), Counter[FaultKind]()
    assert not {plan.draw(False, dealt) for _ in range(50)} & TRANSACTION_ONLY


@pytest.mark.parametrize(
    "kind", [FaultKind.UNAVAILABLE_RETRY_SECONDS, FaultKind.RATE_LIMITED_RETRY_DATE]
)
def test_retry_after_in_both_forms_and_never_forwarded(kind, proxy) -> None:
    _only(proxy, kind)
    response = _post(proxy)
    assert response.status_code == (503 if kind.value.startswith("503") else 429)
    value = response.headers["Retry-After"]
    if kind is FaultKind.UNAVAILABLE_RETRY_SECONDS:
        assert value == "1"
    else:
        delay = parsedate_to_datetime(value) - parsedate_to_datetime(response.headers["Date"])
        assert delay.total_seconds() == 1
    assert _Upstream.seen == []
    _post(proxy)  # the retry, too early
    assert proxy.early_retries == 1


@pytest.mark.parametrize(
    ("kind", "status", "forwarded"),
    [
        (FaultKind.INTERNAL_ERROR, 500, False),
        (FaultKind.HTML_502, 502, False),
        (FaultKind.HTML_200, 200, True),
    ],
)
def test_error_answers(kind, status, forwarded, proxy) -> None:
    _only(proxy, kind)
    response = _post(proxy)
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith(
        "application/fhir+json" if status == 500 else "text/html"
    )
    assert _Upstream.seen == (["POST"] if forwarded else [])


@pytest.mark.parametrize(
    ("kind", "forwarded"),
    [
        (FaultKind.RESET_BEFORE_FORWARD, False),
        (FaultKind.RESET_AFTER_FORWARD, True),
        (FaultKind.TRUNCATED_BODY, True),
    ],
)
def test_broken_connections(kind, forwarded, proxy) -> None:
    _only(proxy, kind)
    with pytest.raises(httpx.TransportError):
        _post(proxy)
    assert _Upstream.seen == (["POST"] if forwarded else [])
    assert proxy.injected == {kind: 1}


def test_latency_outlasts_the_client_and_is_forwarded_anyway(proxy) -> None:
    _only(proxy, FaultKind.LATENCY_PAST_TIMEOUT)
    with pytest.raises(httpx.ReadTimeout):
        _post(proxy, timeout=0.1)
    assert proxy.wait_idle(5.0)
    assert _Upstream.seen == ["POST"]


def test_locations_absolute_on_the_same_origin_or_one_foreign(proxy) -> None:
    _only(proxy, FaultKind.LOCATION_ABSOLUTE_SAME_ORIGIN)
    locations = [e["response"]["location"] for e in _post(proxy).json()["entry"]]
    assert locations == [
        f"{proxy.base_url}/Patient/p1/_history/1",
        f"{proxy.base_url}/Observation/o1/_history/1",
    ]
    _only(proxy, FaultKind.LOCATION_FOREIGN_ORIGIN)
    locations = [e["response"]["location"] for e in _post(proxy).json()["entry"]]
    assert sum(loc.startswith(FOREIGN_ORIGIN) for loc in locations) == 1
    assert sum("://" not in loc for loc in locations) == 1
    assert [i.locations for i in proxy.injections] == [
        ("Patient/p1/_history/1", "Observation/o1/_history/1")
    ] * 2


def test_a_location_fault_on_a_read_is_not_dealt(proxy) -> None:
    _only(proxy, FaultKind.LOCATION_FOREIGN_ORIGIN)
    assert httpx.get(f"{proxy.base_url}/metadata").status_code == 200
    assert proxy.injected == {}


@pytest.mark.parametrize(
    ("phase", "forwarded"),
    [(KillPhase.BEFORE_FORWARD, []), (KillPhase.AFTER_SERVER_COMMIT, ["POST"])],
)
def test_the_kill_switch_sigkills_at_its_transaction(phase, forwarded, proxy) -> None:
    victim = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        proxy.arm(KillSwitch(pid=victim.pid, at=2, phase=phase))
        assert _post(proxy).status_code == 200  # the first transaction passes
        with pytest.raises(httpx.TransportError):
            _post(proxy)
        assert victim.wait(timeout=5) == -9
        assert _Upstream.seen == ["POST", *forwarded]
    finally:
        victim.kill()
        victim.wait()
