"""The base URL and the rule that confines every followed URL to it.

A FHIR server hands us absolute URLs (paging ``next`` links, ``Location`` headers). Following
one to another origin would send our credentials there, so every such URL must share the base
URL's scheme, host and port and lie under its path. See fhir-py's refusal of foreign URLs.
"""

from __future__ import annotations

import httpx

from fhir_adapter.errors import UnsafeUrlError

_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return (url.scheme, url.host.lower(), url.port or _DEFAULT_PORTS.get(url.scheme))


def _has_dot_segments(path: str) -> bool:
    return any(segment in (".", "..") for segment in path.split("/"))


class BaseUrl:
    """The service base URL (``https://host/fhir``), normalised without a trailing slash."""

    def __init__(self, url: str) -> None:
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL:
            raise ValueError("the FHIR base URL cannot be parsed") from None
        if parsed.scheme not in _DEFAULT_PORTS or not parsed.host:
            raise ValueError("the FHIR base URL must be an absolute http(s) URL")
        if parsed.query or parsed.fragment:
            raise ValueError("the FHIR base URL must not carry a query or fragment")
        if parsed.userinfo:
            raise ValueError("the FHIR base URL must not carry credentials; use the auth settings")
        self.path = parsed.path.rstrip("/")
        self.url = parsed.copy_with(path=self.path + "/")
        self.root = parsed.copy_with(path=self.path or "/")  # "POST [base]" for transactions

    def __str__(self) -> str:
        return str(self.url).rstrip("/")

    def __repr__(self) -> str:
        return f"BaseUrl({str(self)!r})"

    def join(self, relative: str) -> httpx.URL:
        """The URL of ``relative`` (``"Patient/p1"``, ``"metadata"``) under the base."""
        if "://" in relative or relative.startswith("/") or _has_dot_segments(relative):
            raise ValueError("a request path must be relative to the base URL")
        return self.url.join(relative)

    def confine(self, url: str, *, what: str) -> httpx.URL:
        """Resolve ``url`` against the base and check that it stays under it.

        Raises ``UnsafeUrlError`` when it points to another origin, outside the base path or
        through ``..`` segments; ``what`` (e.g. "paging link") says where it came from. The
        message never contains the URL itself: its query may carry identifiers.
        """
        try:
            resolved = self.url.join(url)
        except httpx.InvalidURL:
            raise UnsafeUrlError(f"the server sent an unparsable {what}") from None
        inside = resolved.path == self.path or resolved.path.startswith(self.path + "/")
        if _origin(resolved) != _origin(self.url):
            raise UnsafeUrlError(
                f"the server sent a {what} to another origin (host {resolved.host}, port "
                f"{_origin(resolved)[2]}, {resolved.scheme}) than the base URL; refusing to "
                "follow it. If the server sits behind a proxy, configure its advertised "
                "address to match the base URL",
                path=resolved.path,
            )
        if not inside or _has_dot_segments(resolved.path):
            raise UnsafeUrlError(
                f"the server sent a {what} outside the base path {self.path or '/'}; "
                "refusing to follow it",
                path=resolved.path,
            )
        return resolved

    def relative_path(self, url: httpx.URL) -> str:
        """The part of a confined URL's path after the base path (``"Patient/p1/_history/2"``)."""
        return url.path[len(self.path) :].lstrip("/")
