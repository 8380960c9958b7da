"""SMART Backend Services: OAuth 2.0 client credentials with a signed JWT assertion.

https://hl7.org/fhir/smart-app-launch/backend-services.html (SMART App Launch 2.x). The
client discovers the token endpoint in ``[base]/.well-known/smart-configuration``, signs a
short-lived assertion (RS384 or ES384; ``iss`` = ``sub`` = client id, ``aud`` = token
endpoint, a fresh ``jti``, ``exp`` at most five minutes ahead), posts it with
``grant_type=client_credentials`` and the scopes, and sends the access token as a bearer
token until shortly before it expires.

It is an ``httpx.Auth`` flow, so every request the ``FhirClient`` makes goes through it: the
discovery and token requests are sent by the same httpx client (same TLS trust, proxies and
timeouts). A 401 renews the token once and replays the request once, never more; a 403 that
says ``insufficient_scope`` (RFC 6750 §3.1) becomes an ``AccessDeniedError`` naming the
scopes the token has. The key, the assertion and the token are held in ``Secret``/
``SigningKey`` and never logged or put in an error.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

from fhir_adapter.client._auth import AuthKind, Secret
from fhir_adapter.client._keys import SigningKey
from fhir_adapter.client._urls import BaseUrl
from fhir_adapter.errors import AccessDeniedError, ConfigError, TerminalServerError

logger = logging.getLogger("fhir_adapter.client.smart")

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_ASSERTION_LIFETIME = 300.0  # seconds; SMART: "no more than five minutes in the future"
DEFAULT_TOKEN_LIFETIME = 300  # when the server leaves out expires_in
RENEW_MARGIN = 60.0  # renew this long before expiry (at most half the token's life)

# v1: system/Observation.read|write|*  v2: system/Observation.cruds (letters in this order,
# optionally narrowed by a query, e.g. system/Observation.rs?category=laboratory).
_SCOPE = re.compile(
    r"^system/(\*|[A-Z][A-Za-z]{1,63})\."
    r"(read|write|\*|(?=[cruds])c?r?u?d?s?)(\?[^\s]+)?$"
)
_ERROR_CODE = re.compile(r"^[\x20-\x21\x23-\x5B\x5D-\x7E]{1,64}$")  # RFC 6749 §5.2 charset
_JWT_LIKE = re.compile(r"[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")
_WWW_AUTH_PARAM = re.compile(r'(\w+)="([^"]*)"')


def parse_scopes(scopes: str | Iterable[str]) -> tuple[str, ...]:
    """Scopes from one space-separated string or several; checked, in order, without repeats.

    ``system/`` scopes must follow SMART v1 (``system/*.read``) or v2 (``system/*.rs``);
    ``patient/`` and ``user/`` scopes are refused (a backend service has no user); other
    scopes pass as they are (servers define their own). Raises ``ConfigError``.
    """
    words = scopes.split() if isinstance(scopes, str) else [w for s in scopes for w in s.split()]
    result: list[str] = []
    for word in words:
        if word.startswith(("patient/", "user/")):
            raise ConfigError(
                f"scope {word!r}: a backend service asks for system/ scopes "
                "(e.g. system/*.rs system/Observation.cu)"
            )
        if word.startswith("system/") and not _SCOPE.match(word):
            raise ConfigError(
                f"scope {word!r} is not a SMART system scope: use v2 "
                "system/<Type or *>.<c r u d s in this order> (e.g. system/*.rs) "
                "or v1 system/<Type or *>.read|write|*"
            )
        if word not in result:
            result.append(word)
    if not result:
        raise ConfigError(
            "give the scopes to request, e.g. --scope 'system/*.rs "
            "system/*.cu' (docs/auth.md lists what each command needs)"
        )
    return tuple(result)


@dataclass(frozen=True, repr=False)
class _Token:
    header: Secret  # "Bearer <access token>"
    renew_at: float  # wall clock
    scope: str  # as granted (or as requested when the server does not say)

    def __repr__(self) -> str:
        return f"_Token(scope={self.scope!r}, renew_at={self.renew_at})"


def _is_loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


def _checked_endpoint(url: object, what: str) -> httpx.URL:
    """An absolute https URL (http only on loopback) without credentials, query or fragment."""
    try:
        parsed = httpx.URL(url) if isinstance(url, str) else None
    except httpx.InvalidURL:
        parsed = None
    if parsed is None or not parsed.host or parsed.scheme not in ("http", "https"):
        raise TerminalServerError(f"the {what} is not an absolute http(s) URL")
    if parsed.userinfo or parsed.fragment:
        raise TerminalServerError(f"the {what} carries credentials or a fragment; refusing it")
    if parsed.scheme == "http" and not _is_loopback(parsed.host):
        raise TerminalServerError(
            f"the {what} ({parsed.host}) is plain http: a client assertion is only sent over "
            "https, or over http to this machine (127.0.0.1, localhost)"
        )
    return parsed


def _oauth_error(response: httpx.Response) -> str:
    """``error: description`` of an OAuth error answer (RFC 6749 §5.2), shortened and with
    anything shaped like a JWT removed; '' when the body is not one."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict) or not isinstance(body.get("error"), str):
        return ""
    code = body["error"] if _ERROR_CODE.match(body["error"]) else "invalid"
    description = body.get("error_description")
    if isinstance(description, str) and description.strip():
        text = _JWT_LIKE.sub("<redacted>", " ".join(description.split()))[:160]
        return f"{code}: {text}"
    return code


_TOKEN_ADVICE = {
    "invalid_client": "the server did not accept this client and key: check --client-id, "
    "that the public JWKS of this very key is registered (same kid) and "
    "the client not revoked, and that this machine's clock is right",
    "invalid_scope": "the client may not have these scopes: request only scopes it was "
    "registered with (docs/auth.md lists what each command needs)",
    "unauthorized_client": "this client may not use client_credentials: ask the server's "
    "administrator to enable SMART Backend Services for it",
    "invalid_grant": "the server refused the grant: check the client registration",
}


class SmartBackendAuth(httpx.Auth):
    """An ``httpx.Auth`` for SMART Backend Services (sync clients; thread-safe).

    ``base_url`` is the FHIR base whose ``.well-known/smart-configuration`` names the token
    endpoint; ``token_url`` skips the discovery. ``clock`` (epoch seconds) is injectable for
    tests. The token is cached and renewed ``RENEW_MARGIN`` seconds (at most half its life)
    before it expires; one thread fetches while others wait.
    """

    kind: AuthKind = "smart"
    requires_request_body = True  # a request replayed after a 401 resends its body
    requires_response_body = True  # the token answer and OperationOutcomes are read here

    def __init__(
        self,
        *,
        base_url: str,
        client_id: str,
        key: SigningKey,
        scopes: str | Iterable[str],
        token_url: str | None = None,
        clock: Callable[[], float] = time.time,
        assertion_lifetime: float = MAX_ASSERTION_LIFETIME,
    ) -> None:
        if not client_id or not client_id.strip():
            raise ConfigError("SMART Backend Services needs a client id (--client-id)")
        if not 0 < assertion_lifetime <= MAX_ASSERTION_LIFETIME:
            raise ConfigError("the assertion lifetime must be between 0 and 300 seconds")
        self.base = BaseUrl(base_url)
        self.client_id = client_id
        self.scopes = parse_scopes(scopes)
        self._key = key
        self._clock = clock
        self._lifetime = assertion_lifetime
        self._token_url = (
            _checked_endpoint(token_url, "token URL") if token_url is not None else None
        )
        self._token: _Token | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"SmartBackendAuth(client_id={self.client_id!r}, key={self._key!r}, "
            f"scopes={' '.join(self.scopes)!r})"
        )

    # -- httpx.Auth ------------------------------------------------------------------------

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        with self._lock:
            token = self._token
            if token is None or self._clock() >= token.renew_at:
                token = yield from self._obtain(request)
        request.headers["Authorization"] = token.header.reveal()
        response = yield request
        if response.status_code == 401:
            with self._lock:
                if self._token is token:  # nobody renewed it meanwhile
                    self._token = None
                    logger.info(
                        "%s %s answered 401: renewing the access token once",
                        request.method,
                        request.url.path,
                    )
                    fresh = yield from self._obtain(request)
                else:
                    fresh = self._token or (yield from self._obtain(request))
            replay = httpx.Request(
                request.method,
                request.url,
                headers=request.headers,
                content=request.content,
                extensions=request.extensions,
            )
            replay.headers["Authorization"] = fresh.header.reveal()
            response = yield replay  # a second 401 is the caller's AccessDeniedError
            token = fresh
        if response.status_code == 403:
            self._raise_if_insufficient_scope(request, response, token)

    async def async_auth_flow(self, request: httpx.Request) -> Any:  # pragma: no cover
        # The lock above is a thread lock: holding it across an await would block the loop.
        raise NotImplementedError("SmartBackendAuth works with the synchronous FhirClient")
        yield request

    # -- obtaining a token -----------------------------------------------------------------

    def _sub_request(
        self, method: str, url: httpx.URL, template: httpx.Request, **kwargs: Any
    ) -> httpx.Request:
        """A request of our own with the timeouts of the request being authorised."""
        extensions = (
            {"timeout": template.extensions["timeout"]} if "timeout" in template.extensions else {}
        )
        headers = {
            "Accept": "application/json",
            "User-Agent": template.headers.get("User-Agent", "fhir-adapter"),
        }
        return httpx.Request(method, url, headers=headers, extensions=extensions, **kwargs)

    def _discover(
        self, template: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, httpx.URL]:
        url = self.base.join(".well-known/smart-configuration")
        response = yield self._sub_request("GET", url, template)
        if response.status_code != 200:
            raise TerminalServerError(
                f"the server publishes no SMART configuration (answered {response.status_code})"
                "; it may not support SMART Backend Services, or give its token endpoint "
                "with --token-url",
                method="GET",
                path=url.path,
                status=response.status_code,
            )
        try:
            config = response.json()
        except ValueError:
            config = None
        if not isinstance(config, dict) or "token_endpoint" not in config:
            raise TerminalServerError(
                "the SMART configuration has no token_endpoint",
                method="GET",
                path=url.path,
                status=200,
            )
        methods = config.get("token_endpoint_auth_methods_supported")
        if isinstance(methods, list) and "private_key_jwt" not in methods:
            raise AccessDeniedError(
                "the server does not accept private_key_jwt client "
                "authentication, which SMART Backend Services needs",
                method="GET",
                path=url.path,
                status=200,
            )
        algs = config.get("token_endpoint_auth_signing_alg_values_supported")
        if isinstance(algs, list) and algs and self._key.algorithm not in algs:
            raise AccessDeniedError(
                f"the server does not accept {self._key.algorithm} assertions (it lists "
                f"{', '.join(str(a) for a in algs)[:80]}); make a key with "
                "'fhir-adapter auth keygen --alg' of one of those",
                method="GET",
                path=url.path,
                status=200,
            )
        endpoint = _checked_endpoint(config["token_endpoint"], "token endpoint")
        logger.debug("SMART configuration: token endpoint %s%s", endpoint.host, endpoint.path)
        return endpoint

    def assertion(self, token_url: httpx.URL) -> Secret:
        """A signed client assertion for ``token_url`` (a new ``jti`` every time)."""
        now = int(self._clock())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": str(token_url),
            "jti": secrets.token_urlsafe(24),
            "iat": now,
            "exp": now + int(self._lifetime),
        }
        signed = jwt.encode(
            claims,
            self._key.key,
            algorithm=self._key.algorithm,
            headers={"kid": self._key.key_id, "typ": "JWT"},
        )
        return Secret(signed)

    def _obtain(self, template: httpx.Request) -> Generator[httpx.Request, httpx.Response, _Token]:
        if self._token_url is None:
            self._token_url = yield from self._discover(template)
        url = self._token_url
        form = {
            "grant_type": "client_credentials",
            "scope": " ".join(self.scopes),
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self.assertion(url).reveal(),
        }
        requested_at = self._clock()
        response = yield self._sub_request("POST", url, template, data=form)
        token = self._token_from(response, url, requested_at)
        self._token = token
        logger.info(
            "access token granted by %s%s (scopes %s; renewed in %.0f s)",
            url.host,
            url.path,
            token.scope,
            token.renew_at - requested_at,
        )
        return token

    def _token_from(self, response: httpx.Response, url: httpx.URL, requested_at: float) -> _Token:
        status = response.status_code
        if status != 200:
            error = _oauth_error(response)
            code = error.split(":", 1)[0]
            advice = _TOKEN_ADVICE.get(code, "check the client registration on the server")
            kind = AccessDeniedError if status in (400, 401, 403) else TerminalServerError
            raise kind(
                f"the token endpoint refused the client ({error or 'no OAuth error'}); {advice}",
                method="POST",
                path=url.path,
                status=status,
            )
        try:
            body = response.json()
        except ValueError:
            body = None
        access = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(access, str) or not access or not isinstance(body, dict):
            raise TerminalServerError(
                "the token endpoint's answer has no access_token",
                method="POST",
                path=url.path,
                status=status,
            )
        if str(body.get("token_type", "")).lower() != "bearer":
            raise TerminalServerError(
                "the token endpoint did not issue a bearer token",
                method="POST",
                path=url.path,
                status=status,
            )
        expires_in = body.get("expires_in", DEFAULT_TOKEN_LIFETIME)
        if (
            isinstance(expires_in, bool)
            or not isinstance(expires_in, int | float)
            or expires_in <= 0
        ):
            expires_in = DEFAULT_TOKEN_LIFETIME
        margin = min(RENEW_MARGIN, expires_in / 2)
        scope = body.get("scope")
        return _Token(
            header=Secret(f"Bearer {access}"),
            renew_at=requested_at + expires_in - margin,
            scope=scope if isinstance(scope, str) and scope else " ".join(self.scopes),
        )

    # -- a 403 for want of a scope -----------------------------------------------------------

    def _raise_if_insufficient_scope(
        self, request: httpx.Request, response: httpx.Response, token: _Token
    ) -> None:
        challenge = response.headers.get("WWW-Authenticate", "")
        params = dict(_WWW_AUTH_PARAM.findall(challenge))
        if params.get("error") != "insufficient_scope":
            return
        needed = params.get("scope", "")
        needs = f" it needs {needed};" if _SCOPE.match(needed.split(" ")[0] or "-") else ""
        raise AccessDeniedError(
            f"the access token's scopes ({token.scope}) do not allow this request;{needs} "
            "register the client with the scopes the command needs and pass them with "
            "--scope (docs/auth.md)",
            method=request.method,
            path=request.url.path,
            status=403,
        )
