"""Typed results of write requests (update, conditional update, delete)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fhir_adapter.errors import OutcomeIssue

_WEAK_ETAG = re.compile(r'^(?:W/)?"([^"]*)"$')
_HISTORY = re.compile(r"(?:^|/)_history/([A-Za-z0-9\-.]{1,64})/?$")


@dataclass(frozen=True)
class WriteResult:
    """What the server said about one write.

    ``location`` is the path relative to the base URL (``"Patient/p1/_history/2"``), checked
    to lie under it. ``version_id`` comes from the ETag, the Location or ``meta.versionId``,
    whichever the server sent. ``resource`` is the body when the server returned one (with
    ``return_representation=True``); ``issues`` come from an OperationOutcome body (e.g. the
    informational outcome of deleting an absent resource, or HAPI's no-change update).
    """

    status: int
    location: str | None = None
    version_id: str | None = None
    etag: str | None = None
    resource: dict[str, Any] | None = None
    issues: tuple[OutcomeIssue, ...] = ()

    @property
    def created(self) -> bool:
        """True when the server answered 201 Created."""
        return self.status == 201


def version_from(etag: str | None, location: str | None, body: Any) -> str | None:
    """The version id from a weak ETag (``W/"3"``), a ``.../_history/3`` path or ``meta``."""
    if etag:
        match = _WEAK_ETAG.match(etag.strip())
        if match and match.group(1):
            return match.group(1)
    if location:
        match = _HISTORY.search(location)
        if match:
            return match.group(1)
    if isinstance(body, dict) and isinstance(body.get("meta"), dict):
        version = body["meta"].get("versionId")
        if isinstance(version, str):
            return version
    return None


def if_match_header(version: str) -> str:
    """``If-Match`` for a version id: a bare id becomes ``W/"id"``, an ETag passes as is."""
    version = version.strip()
    if version.startswith(('W/"', '"')):
        return version
    return f'W/"{version}"'
