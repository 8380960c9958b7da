"""``FhirClient``: the synchronous, thread-safe FHIR R4 REST client on one ``httpx.Client``."""

from __future__ import annotations

import json
import logging
import re
import ssl
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx

from fhir_adapter import __version__
from fhir_adapter.client._auth import Auth, NoAuth
from fhir_adapter.client._capabilities import ServerCapabilities, parse_capabilities
from fhir_adapter.client._errors import error_for_response, error_for_transport
from fhir_adapter.client._outcome import ValidationResult, parse_issues
from fhir_adapter.client._results import WriteResult, if_match_header, version_from
from fhir_adapter.client._retry import RetryPolicy, call_with_retries, parse_retry_after
from fhir_adapter.client._urls import BaseUrl
from fhir_adapter.errors import TerminalServerError, TransientServerError
from fhir_adapter.fhir.serialize import canonical_json

logger = logging.getLogger("fhir_adapter.client")

FHIR_JSON = "application/fhir+json"
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE"})
SearchParams = Mapping[str, str | Sequence[str]] | Sequence[tuple[str, str]]

# https://hl7.org/fhir/R4/datatypes.html#id and the resource-name rule.
_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_TYPE = re.compile(r"^[A-Z][A-Za-z]{1,63}$")


@dataclass(frozen=True)
class Timeouts:
    """Per-attempt httpx timeouts in seconds; each is also cut to what is left of the deadline."""

    connect: float = 10.0
    read: float = 60.0
    write: float = 60.0
    pool: float = 30.0


@dataclass(frozen=True)
class AsyncStatus:
    """One poll of an asynchronous request: still running (``progress``, ``retry_after`` in
    seconds, as the server sent them) or ``complete`` with the JSON ``body``."""

    complete: bool
    progress: str | None = None
    retry_after: float | None = None
    body: dict[str, Any] | None = None


def _query(params: SearchParams) -> httpx.QueryParams:
    """Search parameters in order; a mapping value that is a list repeats the parameter."""
    if isinstance(params, Mapping):
        items = tuple(
            (name, value)
            for name, values in params.items()
            for value in ([values] if isinstance(values, str) else values)
        )
    else:
        items = tuple((name, value) for name, value in params)
    return httpx.QueryParams(items)


def _check_type(resource_type: str) -> str:
    if not _TYPE.match(resource_type):
        raise ValueError("not a FHIR resource type name")
    return resource_type


def _check_id(resource_id: str) -> str:
    if not _ID.match(resource_id):
        raise ValueError("not a valid FHIR id (1-64 of A-Z a-z 0-9 - .)")
    return resource_id


class FhirClient:
    """A FHIR R4 REST client confined to one base URL.

    Safe to share between threads: at most ``max_concurrency`` requests are in flight at once
    (a bounded semaphore, held per attempt and released while backing off). Every request
    has a total ``deadline`` in seconds covering all its attempts; only idempotent requests
    are retried (GET, HEAD, PUT, DELETE, ``$validate``, and a transaction POST the caller
    marks idempotent). Redirects are never followed, and absolute URLs from the server
    (paging links, Location) must lie under the base URL, else ``UnsafeUrlError``.

    ``sleep``, ``clock`` (monotonic) and ``wall_clock`` (epoch seconds, for Retry-After
    dates) are injectable so tests never wait; ``transport`` is the httpx test seam.
    ``trust_env`` (off by default) lets httpx read proxy and CA settings from the
    environment; the library itself never reads it. Logs name method, path and status only.
    """

    def __init__(
        self,
        base_url: str,
        *,
        auth: Auth | None = None,
        timeouts: Timeouts = Timeouts(),  # noqa: B008 - frozen, shared safely
        deadline: float | None = 300.0,
        max_concurrency: int = 4,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen, shared safely
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        verify: ssl.SSLContext | bool = True,
        trust_env: bool = False,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.base = BaseUrl(base_url)
        self.auth: Auth = auth or NoAuth()
        self.timeouts = timeouts
        self.deadline = deadline
        self.retry = retry
        self._sleep, self._clock, self._wall_clock = sleep, clock, wall_clock
        self._slots = threading.BoundedSemaphore(max_concurrency)
        self.max_concurrency = max_concurrency
        self._http = httpx.Client(
            auth=self.auth,
            headers={"Accept": FHIR_JSON, "User-Agent": f"fhir-adapter/{__version__}"},
            timeout=httpx.Timeout(
                connect=timeouts.connect,
                read=timeouts.read,
                write=timeouts.write,
                pool=timeouts.pool,
            ),
            limits=httpx.Limits(
                max_connections=max_concurrency, max_keepalive_connections=max_concurrency
            ),
            follow_redirects=False,
            transport=transport,
            verify=verify,
            trust_env=trust_env,
        )

    def __repr__(self) -> str:
        return (
            f"FhirClient(base_url={str(self.base)!r}, auth={self.auth!r}, "
            f"max_concurrency={self.max_concurrency})"
        )

    def __enter__(self) -> FhirClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool; the client cannot be used afterwards."""
        self._http.close()

    # -- reading -------------------------------------------------------------------------

    def capabilities(self) -> ServerCapabilities:
        """``GET metadata`` summarised; ``UnsupportedServerError`` unless FHIR 4.0.x."""
        return parse_capabilities(self.capability_statement())

    def capability_statement(self) -> dict[str, Any]:
        """``GET metadata`` as the server sent it, for what the summary leaves out (e.g.
        which operations a resource type offers)."""
        return self._json(self._send("GET", self.base.join("metadata")))

    def read(self, resource_type: str, resource_id: str) -> dict[str, Any]:
        """The current version of ``Type/id``.

        Raises ``NotFoundError`` (404) or ``ResourceGoneError`` (410, deleted).
        """
        url = self.base.join(f"{_check_type(resource_type)}/{_check_id(resource_id)}")
        return self._json(self._send("GET", url))

    def vread(self, resource_type: str, resource_id: str, version_id: str) -> dict[str, Any]:
        """Version ``version_id`` of ``Type/id``."""
        url = self.base.join(
            f"{_check_type(resource_type)}/{_check_id(resource_id)}"
            f"/_history/{_check_id(version_id)}"
        )
        return self._json(self._send("GET", url))

    def history_count(self, resource_type: str, resource_id: str) -> int:
        """How many versions of ``Type/id`` the server keeps (``_history?_summary=count``)."""
        url = self.base.join(f"{_check_type(resource_type)}/{_check_id(resource_id)}/_history")
        bundle = self._bundle(self._send("GET", url.copy_merge_params({"_summary": "count"})))
        total = bundle.get("total")
        if not isinstance(total, int):
            raise TerminalServerError(
                "the history answer carries no total", method="GET", path=url.path
            )
        return total

    def search_bundle(
        self, resource_type: str, params: SearchParams | None = None, *, no_cache: bool = False
    ) -> dict[str, Any]:
        """The first page (a searchset Bundle) of ``GET Type?params``."""
        return next(self.search_pages(resource_type, params, no_cache=no_cache))

    def search_pages(
        self,
        resource_type: str,
        params: SearchParams | None = None,
        *,
        no_cache: bool = False,
        post: bool = False,
    ) -> Iterator[dict[str, Any]]:
        """Every page of a search, following the server's ``next`` links (never built here).

        ``no_cache`` sends ``Cache-Control: no-cache`` on every page: HAPI caches search
        results for a minute, so read-after-write needs it. ``post`` sends the parameters as a
        form to ``Type/_search`` (https://hl7.org/fhir/R4/http.html#search): for long id lists
        that would not fit a request line, and keeps them out of server access logs. A
        ``next`` link outside the base URL raises ``UnsafeUrlError``; one seen twice raises
        ``TerminalServerError``.
        """
        headers = {"Cache-Control": "no-cache"} if no_cache else {}
        url = self.base.join(_check_type(resource_type))
        if post:
            form = str(_query(params or {})).encode()
            response = self._send(
                "POST",
                self.base.join(f"{resource_type}/_search"),
                body=form,
                idempotent=True,
                headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
            )
        else:
            if params:
                url = url.copy_with(params=_query(params))
            response = self._send("GET", url, headers=headers)
        seen: set[str] = set()
        while True:
            bundle = self._bundle(response)
            yield bundle
            link = next(
                (
                    item.get("url")
                    for item in bundle.get("link") or ()
                    if isinstance(item, dict) and item.get("relation") == "next"
                ),
                None,
            )
            if not isinstance(link, str) or not link:
                return
            url = self.base.confine(link, what="paging link")
            if str(url) in seen:
                raise TerminalServerError(
                    "the server's paging links go round in a loop", method="GET", path=url.path
                )
            seen.add(str(url))
            response = self._send("GET", url, headers=headers)

    def search(
        self,
        resource_type: str,
        params: SearchParams | None = None,
        *,
        no_cache: bool = False,
        post: bool = False,
    ) -> Iterator[dict[str, Any]]:
        """The matching resources across all pages (entries with ``search.mode`` "match"
        or none; ``_include``-d resources and outcomes are left to ``search_pages``)."""
        for bundle in self.search_pages(resource_type, params, no_cache=no_cache, post=post):
            for entry in bundle.get("entry") or ():
                if not isinstance(entry, dict) or not isinstance(entry.get("resource"), dict):
                    continue
                mode = (entry.get("search") or {}).get("mode", "match")
                if mode == "match":
                    yield entry["resource"]

    # -- asynchronous requests (https://hl7.org/fhir/R4/async.html) ------------------------

    def kick_off(self, path: str, parameters: dict[str, Any]) -> str:
        """``POST [base]/path`` with ``Prefer: respond-async`` (e.g. ``Patient/$export`` with
        a Parameters body); the status URL from ``Content-Location``, checked to lie under
        the base URL. Not retried: a replay could start a second job.
        """
        url = self.base.join(path)
        response = self._send("POST", url, body=parameters, headers={"Prefer": "respond-async"})
        location = response.headers.get("Content-Location")
        if response.status_code != 202 or not location:
            raise TerminalServerError(
                "the server did not accept the request for asynchronous "
                "processing (no 202 with a Content-Location)",
                method="POST",
                path=url.path,
                status=response.status_code,
            )
        return str(self.base.confine(location, what="status URL"))

    def poll(self, status_url: str) -> AsyncStatus:
        """One ``GET`` of an asynchronous request's status URL (never waits itself).

        202: still running, with ``X-Progress`` and ``Retry-After`` (seconds) when sent.
        200: complete, with the JSON body (a bulk export manifest is plain JSON, not a FHIR
        resource). An error status raises as every request does (404: unknown or expired).
        """
        url = self.base.confine(status_url, what="status URL")
        response = self._send("GET", url, headers={"Accept": "application/json"})
        if response.status_code == 202:
            return AsyncStatus(
                complete=False,
                progress=response.headers.get("X-Progress"),
                retry_after=self._retry_after(response),
            )
        body = self._maybe_json(response)
        if response.status_code != 200 or not isinstance(body, dict):
            raise TerminalServerError(
                "the status answer is neither 202 nor 200 with a JSON object",
                method="GET",
                path=url.path,
                status=response.status_code,
            )
        return AsyncStatus(complete=True, body=body)

    def download(self, file_url: str, *, accept: str = "application/fhir+ndjson") -> bytes:
        """``GET`` a file the server produced (e.g. an export's NDJSON) under the base URL."""
        url = self.base.confine(file_url, what="file URL")
        return self._send("GET", url, headers={"Accept": accept}).content

    # -- writing -------------------------------------------------------------------------

    def transaction(
        self,
        bundle: dict[str, Any] | bytes,
        *,
        idempotent: bool = True,
        return_representation: bool = False,
    ) -> dict[str, Any]:
        """POST a transaction Bundle; the transaction-response Bundle.

        All-or-nothing on the server. Retried on transient errors only when ``idempotent``
        (every entry a PUT with a client-assigned id, so a replay changes nothing).
        ``return_representation`` asks for entry bodies (``Prefer: return=representation``).
        """
        if isinstance(bundle, dict) and (
            bundle.get("resourceType") != "Bundle" or bundle.get("type") != "transaction"
        ):
            raise ValueError("transaction() takes a Bundle of type 'transaction'")
        prefer = "return=representation" if return_representation else "return=minimal"
        response = self._send(
            "POST", self.base.root, body=bundle, idempotent=idempotent, headers={"Prefer": prefer}
        )
        result = self._bundle(response)
        if result.get("type") != "transaction-response":
            raise TerminalServerError(
                "the server did not answer with a transaction-response",
                method="POST",
                path=self.base.root.path,
                status=response.status_code,
            )
        return result

    def update(
        self,
        resource: dict[str, Any],
        *,
        if_match: str | None = None,
        return_representation: bool = False,
    ) -> WriteResult:
        """``PUT Type/id``: creates the resource if absent (update-as-create), else updates it.

        ``if_match`` (a version id or ETag) makes it a version-aware update; a stale version
        raises ``ConflictError`` on HAPI (409) or ``PreconditionFailedError`` elsewhere (412).
        """
        resource_type = _check_type(str(resource.get("resourceType", "")))
        resource_id = _check_id(str(resource.get("id", "")))
        headers = {"If-Match": if_match_header(if_match)} if if_match else {}
        return self._write(
            "PUT",
            self.base.join(f"{resource_type}/{resource_id}"),
            resource,
            headers,
            return_representation,
        )

    def conditional_update(
        self, resource: dict[str, Any], match: SearchParams, *, return_representation: bool = False
    ) -> WriteResult:
        """``PUT Type?match``: 0 matches create, 1 updates, several raise
        ``PreconditionFailedError`` (412)."""
        resource_type = _check_type(str(resource.get("resourceType", "")))
        if not match:
            raise ValueError("a conditional update needs match parameters")
        url = self.base.join(resource_type).copy_with(params=_query(match))
        return self._write("PUT", url, resource, {}, return_representation)

    def delete(self, resource_type: str, resource_id: str) -> WriteResult:
        """``DELETE Type/id``. Deleting an absent resource succeeds (HAPI: 200 + information);
        one still referenced raises ``ConflictError``."""
        url = self.base.join(f"{_check_type(resource_type)}/{_check_id(resource_id)}")
        return self._write("DELETE", url, None, {}, False)

    def validate(self, resource: dict[str, Any], profile: str | None = None) -> ValidationResult:
        """``POST Type/$validate`` (optionally against ``profile``); never writes anything.

        HAPI answers 200 with an OperationOutcome whatever the verdict; other servers answer
        400/412/422 with one. Both become a ``ValidationResult``; read ``valid``/``errors``.
        """
        resource_type = _check_type(str(resource.get("resourceType", "")))
        url = self.base.join(f"{resource_type}/$validate")
        body: dict[str, Any] = {
            "resourceType": "Parameters",
            "parameter": [{"name": "resource", "resource": resource}],
        }
        if profile:
            # The resource as the body and the profile in the URL, both allowed by the
            # operation's definition: HAPI (8.10) does not resolve a profile given inside a
            # Parameters body ("Failed to retrieve profile with url=UriType[...]"), and
            # with a Parameters body it checks the Parameters against a URL profile.
            url, body = url.copy_with(params={"profile": profile}), resource
        response = self._send(
            "POST",
            url,
            body=body,
            idempotent=True,
            passthrough=(400, 412, 422),
            passthrough_if=lambda r: bool(parse_issues(self._maybe_json(r))),
        )
        return ValidationResult(
            status=response.status_code, issues=parse_issues(self._json(response))
        )

    def _write(
        self,
        method: str,
        url: httpx.URL,
        body: dict[str, Any] | None,
        headers: dict[str, str],
        return_representation: bool,
    ) -> WriteResult:
        if body is not None:
            headers = {
                **headers,
                "Prefer": "return=representation" if return_representation else "return=minimal",
            }
        response = self._send(method, url, body=body, headers=headers)
        location = response.headers.get("Location") or response.headers.get("Content-Location")
        relative = (
            self.base.relative_path(self.base.confine(location, what="Location header"))
            if location
            else None
        )
        payload = self._maybe_json(response)
        resource = (
            payload
            if isinstance(payload, dict)
            and payload.get("resourceType") not in (None, "OperationOutcome")
            else None
        )
        etag = response.headers.get("ETag")
        return WriteResult(
            status=response.status_code,
            location=relative,
            etag=etag,
            version_id=version_from(etag, relative, resource),
            resource=resource,
            issues=parse_issues(payload),
        )

    # -- the one request path ------------------------------------------------------------

    def _send(
        self,
        method: str,
        url: httpx.URL,
        *,
        body: dict[str, Any] | bytes | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool = False,
        passthrough: Collection[int] = (),
        passthrough_if: Callable[[httpx.Response], bool] | None = None,
    ) -> httpx.Response:
        """Send one logical request (with retries); a 2xx or passed-through response, or raise."""
        content = None
        request_headers = dict(headers or {})
        if body is not None:
            # Pre-serialized bytes pass through; dicts may hold Decimals (exact FHIR decimals).
            content = body if isinstance(body, bytes) else canonical_json(body).encode()
            request_headers.setdefault("Content-Type", f"{FHIR_JSON}; charset=utf-8")
        deadline_at = None if self.deadline is None else self._clock() + self.deadline

        def attempt() -> httpx.Response:
            response = self._attempt(method, url, content, request_headers, deadline_at)
            status = response.status_code
            if 200 <= status < 300 or (
                status in passthrough and (passthrough_if is None or passthrough_if(response))
            ):
                return response
            raise error_for_response(
                response, method, url.path, retry_after=self._retry_after(response)
            )

        return call_with_retries(
            self.retry,
            attempt,
            idempotent=idempotent or method in IDEMPOTENT_METHODS,
            deadline_at=deadline_at,
            clock=self._clock,
            sleep=self._sleep,
        )

    def _attempt(
        self,
        method: str,
        url: httpx.URL,
        content: bytes | None,
        headers: dict[str, str],
        deadline_at: float | None,
    ) -> httpx.Response:
        timeouts = self.timeouts
        limits = [timeouts.connect, timeouts.read, timeouts.write, timeouts.pool]
        if deadline_at is not None:
            left = deadline_at - self._clock()
            if left <= 0:
                raise TransientServerError(
                    "the request deadline passed before it could be "
                    "sent; raise the deadline or retry later",
                    method=method,
                    path=url.path,
                )
            limits = [min(limit, left) for limit in limits]
        connect, read, write, pool = limits
        if not self._slots.acquire(timeout=pool if deadline_at is not None else None):
            raise TransientServerError(
                "no request slot became free in time; lower the "
                "number of workers or raise max_concurrency",
                method=method,
                path=url.path,
            )
        try:
            started = self._clock()
            response = self._http.request(
                method,
                url,
                content=content,
                headers=headers,
                timeout=httpx.Timeout(connect=connect, read=read, write=write, pool=pool),
            )
        except httpx.HTTPError as error:
            logger.info("%s %s failed: %s", method, url.path, type(error).__name__)
            raise error_for_transport(error, method, url.path) from None
        finally:
            self._slots.release()
        logger.debug(
            "%s %s -> %d (%.2f s)", method, url.path, response.status_code, self._clock() - started
        )
        return response

    def _retry_after(self, response: httpx.Response) -> float | None:
        return parse_retry_after(
            response.headers.get("Retry-After"),
            date=response.headers.get("Date"),
            now=self._wall_clock(),
        )

    # -- bodies --------------------------------------------------------------------------

    @staticmethod
    def _maybe_json(response: httpx.Response) -> Any:
        if not response.content:
            return None
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return None

    def _json(self, response: httpx.Response) -> dict[str, Any]:
        body = self._maybe_json(response)
        if not isinstance(body, dict) or not isinstance(body.get("resourceType"), str):
            raise TerminalServerError(
                "the server's answer is not a FHIR JSON resource; check the base URL",
                status=response.status_code,
                method=response.request.method,
                path=response.request.url.path,
            )
        return body

    def _bundle(self, response: httpx.Response) -> dict[str, Any]:
        body = self._json(response)
        if body["resourceType"] != "Bundle":
            raise TerminalServerError(
                "the server answered with a resource that is not a Bundle",
                status=response.status_code,
                method=response.request.method,
                path=response.request.url.path,
            )
        return body
