"""``FaultProxy``: a loopback HTTP proxy in front of a FHIR server that injects seeded faults.

It listens on ``127.0.0.1:<free port>`` under the upstream's base path, so a client pointed at
``proxy.base_url`` talks to the real server through it. A ``FaultPlan`` decides, request by
request, whether to inject a fault and which one; the proxy counts what it injected by kind.
A ``KillSwitch`` SIGKILLs a sync process when its n-th transaction reaches a chosen point.

Faults (``FaultKind``), and whether the server saw the request:

    not forwarded   503 and 429 with Retry-After as delay-seconds or as an HTTP-date, 500,
                    a TCP reset before forwarding, a 502 HTML error page
    forwarded       a TCP reset after the server answered (the server committed, the client
                    sees a broken connection), a truncated body (full Content-Length, half
                    the bytes, then close), a 200 HTML page instead of the FHIR answer,
                    an absolute same-origin ``location`` in every transaction-response entry
                    (valid FHIR, must be accepted), a ``location`` on a foreign origin in one
                    entry (must be refused for that participant)
    late            the request is held past the client's read timeout, then forwarded
                    anyway: the server commits after the client gave up, maybe while the
                    client's retry of the same transaction is already there

Nothing here logs URLs or bodies: study data is synthetic, but the habit is the rule.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from ._plan import (
    RETRY_AFTER_SECONDS,
    TRANSACTION_ONLY,
    FaultKind,
    FaultPlan,
    Injection,
    KillPhase,
    KillSwitch,
)
from ._wire import HTML_200, HTML_502, answer_retry_after, reset, send, send_truncated

FOREIGN_ORIGIN = "http://fhir.elsewhere.example"
_Record = Callable[..., None]  # records an injected fault (kind, locations)
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "transfer-encoding",
        "content-length",
        "content-encoding",
        "te",
        "trailer",
        "upgrade",
        "proxy-connection",
        "date",
        "server",
    }
)


@dataclass(frozen=True)
class _Seen:
    run: int
    fingerprint: str


class FaultProxy:
    """The proxy; use as a context manager. Thread-safe; one upstream per proxy."""

    def __init__(self, upstream: str, *, latency: float = 5.0, tolerance: float = 0.05):
        self.upstream = httpx.URL(upstream.rstrip("/"))
        self.latency = latency  # how long LATENCY_PAST_TIMEOUT holds a request (seconds)
        self.tolerance = tolerance
        self.plan: FaultPlan | None = None
        self.kill: KillSwitch | None = None
        self.injected: Counter[FaultKind] = Counter()
        self._dealt: Counter[FaultKind] = Counter()
        self.injections: list[Injection] = []
        self.requests = 0
        self.early_retries = 0  # a retry that came before the Retry-After it was given
        self.honoured_retries = 0
        self.run = 0
        self._seen: list[_Seen] = []
        self._not_before: dict[str, float] = {}
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._inflight = 0
        self._http = httpx.Client(
            timeout=httpx.Timeout(300.0),
            follow_redirects=False,
            trust_env=False,
            limits=httpx.Limits(max_connections=32),
        )
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._server.proxy = self  # type: ignore[attr-defined]
        port = self._server.server_address[1]
        self.origin = f"http://127.0.0.1:{port}"
        self.base_url = f"{self.origin}{self.upstream.path.rstrip('/')}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fault-proxy",
            daemon=True,
        )

    # -- control -------------------------------------------------------------------------

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._http.close()

    def set_plan(self, plan: FaultPlan | None) -> None:
        with self._lock:
            self.plan = plan

    def arm(self, kill: KillSwitch | None) -> None:
        with self._lock:
            self.kill = kill

    def new_run(self) -> int:
        """Start counting a new client run; Retry-After expectations do not carry over."""
        with self._lock:
            self.run += 1
            self._not_before.clear()
            return self.run

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Wait until no request is in flight (held requests forwarded and answered)."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._inflight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def injections_of(self, run: int) -> list[Injection]:
        with self._lock:
            return [i for i in self.injections if i.run == run]

    def retried_later(self, injection: Injection) -> bool:
        """Whether the same request came again after ``injection`` within its run (then the
        client did not take that answer as final, e.g. its read timeout fired first)."""
        with self._lock:
            return any(
                s.run == injection.run and s.fingerprint == injection.fingerprint
                for s in self._seen[injection.number :]
            )

    @contextmanager
    def _in_flight(self) -> Iterator[None]:
        with self._lock:
            self._inflight += 1
        try:
            yield
        finally:
            with self._idle:
                self._inflight -= 1
                self._idle.notify_all()

    # -- one request ---------------------------------------------------------------------

    def handle(self, handler: _Handler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        method = handler.command
        is_transaction = method == "POST" and _path_only(handler.path) == self.upstream.path
        fingerprint = hashlib.sha256(f"{method} {handler.path}".encode() + b"\0" + body).hexdigest()
        arrived = time.monotonic()
        with self._in_flight():
            fault, plan, kill, number, run = self._admit(method, fingerprint, is_transaction)
            entries = _entries(body) if is_transaction else ()

            def record(kind: FaultKind, locations: tuple[str | None, ...] = ()) -> None:
                injection = Injection(
                    number, run, kind, fingerprint, entries, locations, time.monotonic() - arrived
                )
                self._record(injection)

            if kill is not None and kill.phase is KillPhase.BEFORE_FORWARD:
                kill.fire()
                reset(handler)
                return
            if fault is not None and self._answer_without_forwarding(handler, fault, record):
                return
            if fault is FaultKind.LATENCY_PAST_TIMEOUT:
                record(fault)
                time.sleep(self.latency)
            try:
                status, headers, payload = self._forward(handler, method, body)
            except httpx.HTTPError:
                if fault is not None and fault is not FaultKind.LATENCY_PAST_TIMEOUT:
                    self._refund(plan, fault)
                send(handler, 502, {"Content-Type": "text/plain"}, b"upstream unreachable")
                return
            if kill is not None and kill.phase is KillPhase.AFTER_SERVER_COMMIT:
                kill.fire()
                reset(handler)
                return
            if fault is not None and fault is not FaultKind.LATENCY_PAST_TIMEOUT:
                if not self._answer_after_forwarding(
                    handler, fault, record, status, headers, payload
                ):
                    self._refund(plan, fault)
            else:
                send(handler, status, headers, payload)
            if kill is not None and kill.phase is KillPhase.AFTER_ANSWER:
                time.sleep(kill.delay)
                kill.fire()

    def _admit(
        self, method: str, fingerprint: str, is_transaction: bool
    ) -> tuple[FaultKind | None, FaultPlan | None, KillSwitch | None, int, int]:
        """Number the request, check Retry-After was honoured, draw its fault and kill."""
        now = time.monotonic()
        with self._lock:
            self.requests += 1
            number = self.requests
            self._seen.append(_Seen(self.run, fingerprint))
            not_before = self._not_before.pop(fingerprint, None)
            if not_before is not None:
                if now < not_before - self.tolerance:
                    self.early_retries += 1
                else:
                    self.honoured_retries += 1
            kill = None
            if self.kill is not None and is_transaction and not self.kill.fired:
                self.kill.seen += 1
                if self.kill.seen == self.kill.at:
                    kill = self.kill
            fault = None
            if self.plan is not None and kill is None:
                fault = self.plan.draw(is_transaction, self._dealt)
            return fault, self.plan, kill, number, self.run

    def _record(self, injection: Injection) -> None:
        with self._lock:
            self.injected[injection.kind] += 1
            self.injections.append(injection)
            if injection.kind in RETRY_AFTER_SECONDS:
                wait = RETRY_AFTER_SECONDS[injection.kind]
                self._not_before[injection.fingerprint] = time.monotonic() + wait

    def _answer_without_forwarding(
        self, handler: _Handler, fault: FaultKind, record: _Record
    ) -> bool:
        if fault in RETRY_AFTER_SECONDS:
            record(fault)  # before answering: the expectation must exist when the retry comes
            answer_retry_after(handler, fault)
        elif fault is FaultKind.INTERNAL_ERROR:
            record(fault)
            outcome = {
                "resourceType": "OperationOutcome",
                "issue": [
                    {
                        "severity": "error",
                        "code": "exception",
                        "diagnostics": "injected internal error",
                    }
                ],
            }
            send(
                handler,
                500,
                {"Content-Type": "application/fhir+json"},
                json.dumps(outcome).encode(),
            )
        elif fault is FaultKind.RESET_BEFORE_FORWARD:
            record(fault)
            reset(handler)
        elif fault is FaultKind.HTML_502:
            record(fault)
            send(handler, 502, {"Content-Type": "text/html; charset=utf-8"}, HTML_502)
        else:
            return False
        return True

    def _answer_after_forwarding(
        self,
        handler: _Handler,
        fault: FaultKind,
        record: _Record,
        status: int,
        headers: dict[str, str],
        payload: bytes,
    ) -> bool:
        """Answer with ``fault`` applied; False (the answer passed on as is) when it does not
        apply, e.g. no location to rewrite because the server refused the transaction."""
        if fault is FaultKind.RESET_AFTER_FORWARD:
            record(fault)
            reset(handler)
        elif fault is FaultKind.TRUNCATED_BODY and len(payload) > 1:
            record(fault)
            send_truncated(handler, status, headers, payload)
        elif fault is FaultKind.HTML_200:
            record(fault)
            send(handler, 200, {"Content-Type": "text/html; charset=utf-8"}, HTML_200)
        elif fault in TRANSACTION_ONLY and (rewritten := self._rewrite(fault, status, payload)):
            record(fault, rewritten[1])
            send(handler, status, headers, rewritten[0])
        else:
            send(handler, status, headers, payload)
            return False
        return True

    def _refund(self, plan: FaultPlan | None, fault: FaultKind) -> None:
        """Give a dealt fault back to the plan that dealt it (not the current one)."""
        with self._lock:
            if plan is not None:
                plan.refund(fault, self._dealt)

    def _rewrite(
        self, fault: FaultKind, status: int, payload: bytes
    ) -> tuple[bytes, tuple[str | None, ...]] | None:
        """The transaction-response with absolute or foreign locations and the original
        location of each entry, or None if it has none to rewrite."""
        if status != 200:
            return None
        try:
            bundle = json.loads(payload)
        except ValueError:
            return None
        answers = [e.get("response") for e in bundle.get("entry") or () if isinstance(e, dict)]
        located = [
            a
            for a in answers
            if isinstance(a, dict) and a.get("location") and "://" not in a["location"]
        ]
        if bundle.get("type") != "transaction-response" or not located:
            return None
        original = tuple(a.get("location") if isinstance(a, dict) else None for a in answers)
        if fault is FaultKind.LOCATION_ABSOLUTE_SAME_ORIGIN:
            for answer in located:
                answer["location"] = f"{self.base_url}/{answer['location']}"
        else:
            with self._lock:
                pick = self.plan.pick(len(located)) if self.plan is not None else 0
            answer = located[pick]
            answer["location"] = f"{FOREIGN_ORIGIN}{self.upstream.path}/{answer['location']}"
        return json.dumps(bundle).encode(), original

    def _forward(
        self, handler: _Handler, method: str, body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        headers = {
            k: v
            for k, v in handler.headers.items()
            if k.lower() not in _HOP_BY_HOP and k.lower() not in ("host", "accept-encoding")
        }
        url = f"{self.upstream.scheme}://{self.upstream.netloc.decode()}{handler.path}"
        response = self._http.request(method, url, content=body or None, headers=headers)
        kept = {k: v for k, v in response.headers.items() if k.lower() not in _HOP_BY_HOP}
        return response.status_code, kept, response.content


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ThreadingHTTPServer

    def _proxy(self) -> None:
        self.server.proxy.handle(self)  # type: ignore[attr-defined]

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _proxy

    def handle(self) -> None:
        with suppress(OSError, ValueError):  # reset on purpose, or the client gave up
            super().handle()

    def finish(self) -> None:
        with suppress(OSError, ValueError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # request lines carry query strings: never log them


def _path_only(target: str) -> str:
    return target.split("?", 1)[0].rstrip("/")


def _entries(body: bytes) -> tuple[tuple[str | None, str | None], ...]:
    try:
        bundle = json.loads(body)
    except ValueError:
        return ()
    return tuple(
        (e.get("fullUrl"), (e.get("request") or {}).get("url"))
        for e in bundle.get("entry") or ()
        if isinstance(e, dict)
    )
