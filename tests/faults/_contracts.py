"""The Location contracts, checked against the ledger after every faulty run.

A transaction-response ``location`` may be absolute (https://hl7.org/fhir/R4/http.html#
transaction-response): one on the server's own origin is valid and must be read for the
server id and version it carries; one on a foreign origin must not be trusted, so the
participant fails and the ledger records nothing of it (a later run sends it again).
"""

from __future__ import annotations

from fhir_adapter.sync import SyncReport, WriteMode

from ._plan import FaultKind, Injection
from ._study import Key, LedgerState


def location_violations(
    mode: WriteMode,
    injections: list[Injection],
    entry_keys: dict[str, Key],
    before: LedgerState,
    after: LedgerState,
    report: SyncReport | None,
    error: BaseException | None,
) -> list[str]:
    """Broken contracts of one run's location faults (whose answers reached the client).

    ``before``/``after`` are the ledger around the run; ``report`` is None when the run
    raised ``error``.
    """
    recorded = recorded_by_run(before, after)
    violations = []
    for injection in injections:
        keys = _keys_of(injection, entry_keys)
        if injection.kind is FaultKind.LOCATION_FOREIGN_ORIGIN:
            if keys & recorded:
                violations.append(
                    f"{mode}: a transaction answered with a foreign-origin Location was "
                    f"accepted ({len(keys & recorded)} of {len(keys)} resources recorded "
                    "in the ledger)"
                )
            elif report is not None and not report.failures:
                violations.append(
                    f"{mode}: a foreign-origin Location was refused but the run reported no failure"
                )
        elif error is None:
            violations += _accepted(mode, injection, entry_keys, recorded, after)
    return violations


def recorded_by_run(before: LedgerState, after: LedgerState) -> set[Key]:
    """Resources the run recorded as written: only a confirmed write puts a new, non-empty
    content hash in the ledger. (The run's audit may change entries too: it forgets what the
    server lost and clears the hash of what the server holds at another version.)"""
    return {
        key
        for key, (content_hash, _, _) in after.items()
        if content_hash and content_hash != before.get(key, ("", "", None))[0]
    }


def _accepted(
    mode: WriteMode,
    injection: Injection,
    entry_keys: dict[str, Key],
    recorded: set[Key],
    after: LedgerState,
) -> list[str]:
    """Absolute same-origin Locations are valid FHIR: the ledger must hold each entry with
    the server id and version the server gave."""
    refused = wrong = 0
    for (full, url), location in zip(injection.entries, injection.locations, strict=False):
        key = entry_keys.get(full or "") or entry_keys.get(url or "")
        if key is None or not location:
            continue
        parts = location.split("/")  # Type/id/_history/version, as the server wrote it
        version = parts[3] if len(parts) > 3 else after.get(key, ("", "", None))[2]
        if key not in recorded:
            refused += 1
        elif after[key][1:] != (parts[1], version):
            wrong += 1
    violations = []
    if refused:
        violations.append(
            f"{mode}: a transaction answered with absolute same-origin Locations was not "
            f"accepted ({refused} of {len(injection.entries)} resources not recorded)"
        )
    if wrong:
        violations.append(
            f"{mode}: absolute same-origin Locations were misread: {wrong} of "
            f"{len(injection.entries)} resources recorded with another server id or version "
            "than the Location gave"
        )
    return violations


def _keys_of(injection: Injection, entry_keys: dict[str, Key]) -> set[Key]:
    """The resources of an injected transaction, by full URL or request URL."""
    keys = set()
    for full, url in injection.entries:
        for reference in (full, url):
            if reference in entry_keys:
                keys.add(entry_keys[reference])
    return keys
