"""Keyed pseudonyms: HMAC-SHA256 under a per-registry secret, one purpose label per use.

Every pseudonym is ``HMAC(key, "fhir-adapter/deid/v1" 0x00 purpose 0x00 input)``: the
purposes (resource id, identifier value, date offset, fingerprint) are separated, so one
pseudonym never reveals another. Without the key nothing can be recomputed or reversed; with
it, the same input always gives the same pseudonym, so re-syncs stay idempotent.
"""

from __future__ import annotations

import hashlib
import hmac

from fhir_adapter.deid._errors import DeidKeyError

MIN_KEY_BYTES = 32  # 256 bits, the HMAC-SHA256 block-size sweet spot (RFC 2104 section 3)
KEY_ENV = "FHIR_ADAPTER_DEID_KEY"  # read by the CLI only; the library never reads os.environ
_DOMAIN = b"fhir-adapter/deid/v1"

# Our own short names per type, fixed here (not read from the mapping's id rules) so that
# pseudonymised ids stay the same whatever the mapping side renames: a registry would
# otherwise see every resource as new. ``kind`` names the identifier pseudonym system.
ID_PREFIX = {
    "ResearchStudy": "study",
    "Patient": "pat",
    "ResearchSubject": "rs",
    "Condition": "cond",
    "Observation": "obs",
    "Procedure": "proc",
    "BiologicallyDerivedProduct": "bdp",
    "MedicationStatement": "med",
    "AdverseEvent": "ae",
    "Provenance": "prov",
}
IDENTIFIER_KIND = {
    "ResearchStudy": "study",
    "Patient": "subject",
    "ResearchSubject": "enrolment",
    "Condition": "diagnosis",
    "Observation": "observation",
    "Procedure": "procedure",
    "BiologicallyDerivedProduct": "cell-product",
    "MedicationStatement": "medication-line",
    "AdverseEvent": "adverse-event",
    "Provenance": "provenance",
}


def key_from_secret(secret: bytes | str) -> bytes:
    """The key from the contents of ``--deid-key-file`` or ``$FHIR_ADAPTER_DEID_KEY``:
    surrounding whitespace (a trailing newline) removed, at least ``MIN_KEY_BYTES`` left.

    The bytes are used as they are (a 64-character hex string from
    ``python -c 'import secrets; print(secrets.token_hex(32))'`` is a good key)."""
    raw = secret.encode() if isinstance(secret, str) else bytes(secret)
    raw = raw.strip()
    if len(raw) < MIN_KEY_BYTES:
        raise DeidKeyError(
            f"the de-identification key has fewer than {MIN_KEY_BYTES} bytes; generate one "
            "with: python -c 'import secrets; print(secrets.token_hex(32))' and keep it "
            f"in a file given with --deid-key-file (mode 0600) or in ${KEY_ENV}"
        )
    return raw


class Pseudonyms:
    """The keyed functions; holds the key and never shows it (no ``repr`` of it)."""

    def __init__(self, key: bytes):
        if not isinstance(key, bytes | bytearray) or len(key) < MIN_KEY_BYTES:
            raise DeidKeyError(f"the de-identification key must be at least {MIN_KEY_BYTES} bytes")
        self._key = bytes(key)

    def __repr__(self) -> str:
        return "Pseudonyms(<key hidden>)"

    def digest(self, purpose: str, value: str) -> bytes:
        message = b"\x00".join((_DOMAIN, purpose.encode(), value.encode()))
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def fingerprint(self) -> str:
        """16 hex characters naming the key (for ledger names and reports); not the key,
        and useless to recompute pseudonyms."""
        return self.digest("fingerprint", "").hex()[:16]

    def resource_id(self, resource_type: str, original_id: str) -> str:
        """``deid-<type prefix>-<32 hex>``: a valid FHIR id ([A-Za-z0-9-.]{1,64}, at most
        42 characters here) with letters, so never purely numeric (HAPI-0960)."""
        prefix = ID_PREFIX.get(resource_type, "res")
        tag = self.digest("resource-id", f"{resource_type}/{original_id}").hex()[:32]
        return f"deid-{prefix}-{tag}"

    def identifier_value(self, system: str, value: str) -> str:
        """32 hex characters for a business identifier (system and value both keyed, so the
        same subject number in two studies gives two pseudonyms)."""
        return self.digest("identifier", f"{system}|{value}").hex()[:32]

    def date_offset(self, participant: str, window: int) -> int:
        """Days in [-window, -1] or [1, window], never 0, fixed for one participant."""
        number = int.from_bytes(self.digest("date-offset", participant)[:8], "big")
        step = number % (2 * window)
        return step - window if step < window else step - window + 1
