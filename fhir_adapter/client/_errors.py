"""The one boundary where HTTP answers and httpx exceptions become our error types.

``error_for_response`` holds the only status → error-type map; ``error_for_transport`` the
only translation of httpx exceptions. Messages name method, path (never the query string),
status and HAPI code, and say what to do next.
"""

from __future__ import annotations

import json
import ssl
from typing import Any

import httpx

from fhir_adapter.client._outcome import hapi_code, parse_issues
from fhir_adapter.errors import (
    AccessDeniedError,
    BadRequestError,
    CertificateError,
    ConflictError,
    FhirServerError,
    NotFoundError,
    PreconditionFailedError,
    ResourceGoneError,
    TerminalServerError,
    TransientServerError,
    UnsafeUrlError,
)

_STATUS_ERRORS: dict[int, tuple[type[FhirServerError], str]] = {
    400: (BadRequestError, "the server refused the request; read the issues and fix the input"),
    401: (AccessDeniedError, "the server wants credentials; check the auth settings"),
    403: (AccessDeniedError, "the credentials are not allowed to do this; check the account"),
    404: (NotFoundError, "no such resource or endpoint; check the type, id and base URL"),
    405: (TerminalServerError, "the server does not allow this operation here"),
    409: (
        ConflictError,
        "conflict: the resource changed since it was read, or other resources still reference it",
    ),
    410: (ResourceGoneError, "the resource was deleted on the server"),
    412: (
        PreconditionFailedError,
        "a conditional match found more than one resource; make the match criteria unique",
    ),
    422: (BadRequestError, "the resource breaks a server rule or profile; fix the resource"),
    429: (
        TransientServerError,
        "the server is rate limiting; retry later or lower the concurrency",
    ),
    500: (TransientServerError, "the server failed internally; retry later"),
    502: (TransientServerError, "a proxy in front of the server got no valid answer; retry later"),
    503: (TransientServerError, "the server is unavailable; retry later"),
    504: (TransientServerError, "a proxy in front of the server timed out; retry later"),
}


def _json_body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def error_for_response(
    response: httpx.Response, method: str, path: str, *, retry_after: float | None = None
) -> FhirServerError:
    """The error for a non-2xx answer, carrying its parsed OperationOutcome (if any).

    ``retry_after`` (seconds, already parsed) is kept on transient errors only.
    """
    status = response.status_code
    issues = parse_issues(_json_body(response))
    context: dict[str, Any] = {
        "status": status,
        "method": method,
        "path": path,
        "issues": issues,
        "hapi_code": hapi_code(issues),
    }
    if 300 <= status < 400:
        return UnsafeUrlError(
            "the server answered with a redirect, which the client never "
            "follows; set the base URL to the server's final address",
            **context,
        )
    kind, hint = _STATUS_ERRORS.get(status, (None, ""))
    if kind is None:
        if status >= 500:
            kind, hint = TerminalServerError, "the server failed; see its logs"
        else:
            kind, hint = TerminalServerError, "the server gave an unexpected answer"
    if issubclass(kind, TransientServerError):
        return kind(hint, retry_after=retry_after, **context)
    return kind(hint, **context)


def _certificate_problem(error: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate verification failure behind an httpx error, if that is what it was."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            return current
        for arg in current.args:
            if isinstance(arg, ssl.SSLCertVerificationError):
                return arg
        current = current.__cause__ or current.__context__
    return None


def error_for_transport(error: httpx.HTTPError, method: str, path: str) -> FhirServerError:
    """The error for a request that got no HTTP answer (timeout, refused, reset, ...).

    A timeout says timeout; an untrusted TLS certificate is terminal at once (retrying the
    same handshake cannot succeed) and says how to trust the right authority.
    """
    if isinstance(error, httpx.TimeoutException):
        return TransientServerError(
            f"the request timed out ({type(error).__name__}); the server may be overloaded: "
            "raise --timeout or lower --concurrency, or retry later",
            method=method,
            path=path,
        )
    if isinstance(error, httpx.UnsupportedProtocol):
        return TerminalServerError(
            "the URL scheme is not supported; use http or https", method=method, path=path
        )
    certificate = _certificate_problem(error)
    if certificate is not None:
        reason = certificate.verify_message or certificate.reason or "verification failed"
        return CertificateError(
            f"certificate not trusted: {reason}; pass --ca-bundle FILE with the certificate "
            "authority that signed the server's certificate",
            method=method,
            path=path,
        )
    if isinstance(error, httpx.TransportError):
        return TransientServerError(
            f"the request failed in transport ({type(error).__name__}); check the server is "
            "reachable, or retry later",
            method=method,
            path=path,
        )
    return TerminalServerError(
        f"the request could not be made ({type(error).__name__})", method=method, path=path
    )
