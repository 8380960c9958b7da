"""Read a transaction-response Bundle: per entry, the status, the server id and the version.

By the spec (https://hl7.org/fhir/R4/bundle.html#transaction-response and
https://hl7.org/fhir/R4/http.html#transaction-response), ``entry.response.location`` may be
relative (``Patient/123/_history/1``) or absolute (``https://host/fhir/Patient/123``), with or
without ``_history``; the version may instead come only in ``etag``. An absolute location must
lie under our base URL: one on another origin is refused (``UnsafeUrlError``), and the caller
records nothing of that transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fhir_adapter.client import BaseUrl
from fhir_adapter.errors import TerminalServerError

_PATH = re.compile(
    r"^(?P<type>[A-Z][A-Za-z]{1,63})/(?P<id>[A-Za-z0-9\-.]{1,64})"
    r"(?:/_history/(?P<version>[A-Za-z0-9\-.]{1,64}))?/?$"
)
_ETAG = re.compile(r'^(?:W/)?"?(?P<version>[A-Za-z0-9\-.]{1,64})"?$')
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
# HAPI's storage response codes (https://hapifhir.io/fhir/CodeSystem/hapi-fhir-storage-response-code)
# say in the entry's outcome whether an update changed anything.
_STORAGE_CODES = "https://hapifhir.io/fhir/CodeSystem/hapi-fhir-storage-response-code"
_NO_CHANGE = "SUCCESSFUL_UPDATE_NO_CHANGE"
_CHANGED = frozenset({"SUCCESSFUL_UPDATE", "SUCCESSFUL_UPDATE_AS_CREATE", "SUCCESSFUL_CREATE"})


@dataclass(frozen=True, slots=True)
class EntryResult:
    """What the server said about one entry: ``server_id`` and ``version`` when it named them;
    ``changed`` when the server said whether the write changed the resource (else None)."""

    status: int
    server_id: str | None
    version: str | None
    changed: bool | None = None


def parse_transaction_response(
    response: dict[str, Any], expected: list[str], base: BaseUrl
) -> list[EntryResult]:
    """One ``EntryResult`` per entry, in order; ``expected`` holds each entry's resource type.

    Raises ``TerminalServerError`` when the answer does not fit the transaction (entry count,
    a location of another type or an unreadable one) and ``UnsafeUrlError`` for a location
    outside the base URL; in both cases the caller must not record anything.
    """
    entries = response.get("entry") or []
    if len(entries) != len(expected):
        raise TerminalServerError(
            f"the server answered {len(entries)} entries for a "
            f"transaction of {len(expected)}; nothing was recorded"
        )
    return [_entry_result(entry, kind, base) for entry, kind in zip(entries, expected, strict=True)]


def _entry_result(entry: Any, kind: str, base: BaseUrl) -> EntryResult:
    answer = entry.get("response") if isinstance(entry, dict) else None
    if not isinstance(answer, dict):
        raise TerminalServerError("a transaction-response entry has no response element")
    status = _status(answer.get("status"))
    server_id, version = _location(answer.get("location"), kind, base)
    etag = answer.get("etag")
    if isinstance(etag, str) and etag.strip():
        match = _ETAG.match(etag.strip())
        if match:
            version = match.group("version")
    return EntryResult(status, server_id, version, _changed(answer.get("outcome")))


def _changed(outcome: Any) -> bool | None:
    for coding in _storage_codings(outcome):
        if coding.get("code") == _NO_CHANGE:
            return False
        if coding.get("code") in _CHANGED:
            return True
    return None


def _storage_codings(outcome: Any) -> list[dict[str, Any]]:
    if not isinstance(outcome, dict):
        return []
    codings = []
    for issue in outcome.get("issue") or ():
        details = issue.get("details") if isinstance(issue, dict) else None
        if isinstance(details, dict):
            codings += [
                c
                for c in details.get("coding") or ()
                if isinstance(c, dict) and c.get("system") == _STORAGE_CODES
            ]
    return codings


def _status(value: Any) -> int:
    """``"201 Created"`` → 201 (the spec puts the code first, text optional)."""
    head = str(value or "").strip().split(" ", 1)[0]
    if not head.isascii() or not head.isdigit() or len(head) != 3:
        raise TerminalServerError("a transaction-response entry has no readable status")
    return int(head)


def _location(value: Any, kind: str, base: BaseUrl) -> tuple[str | None, str | None]:
    if not isinstance(value, str) or not value.strip():
        return None, None  # e.g. a DELETE: no location
    value = value.strip()
    if _SCHEME.match(value) or value.startswith("/"):
        value = base.relative_path(base.confine(value, what="transaction-response location"))
    match = _PATH.match(value)
    if not match:
        raise TerminalServerError("a transaction-response location is not Type/id[/_history/v]")
    if match.group("type") != kind:
        raise TerminalServerError(
            f"a transaction-response location names a {match.group('type')} for a {kind} entry"
        )
    return match.group("id"), match.group("version")
