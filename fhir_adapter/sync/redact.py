"""Server refusal messages without business identifiers or values.

A FHIR server's OperationOutcome diagnostics echo what it was sent: HAPI-0988 quotes the
match URL ``Patient?identifier=urn:site|A-001``, HAPI-1821 the cell value it could not
parse. What we print and write to ``--json`` keeps the HAPI code and says in our words what
happened, naming only resource keys (``Type/id``: deterministic hashes, no PHI), FHIR element
paths and element names. A message without a known code keeps its text with quoted strings,
URLs, match URLs, identifier values, bracketed values and dates replaced by ``<redacted>``:
a deny-list, so known codes are the safer path and worth adding as they turn up (real
texts: tests/unit/sync/test_redact.py, tests/integration/test_hapi_behaviour.py).
"""

from __future__ import annotations

import re

from fhir_adapter.kinds import registry

REDACTED = "<redacted>"
MAX_LENGTH = 300

_DUPLICATES = (
    "the server holds more than one resource with this business identifier; remove the "
    "duplicates on the server"
)
# What each HAPI message means, in words that carry nothing from the request.
_KNOWN: dict[str, str] = {
    "HAPI-0420": "the id in the resource body does not match the request URL",
    "HAPI-0450": "the server could not parse the resource body",
    "HAPI-0515": "other resources on the server still refer to this resource",
    "HAPI-0541": "a urn:uuid reference does not resolve within the transaction",
    "HAPI-0550": "a concurrent write to the same resource conflicted; run sync again",
    "HAPI-0929": "the resource does not match its own conditional match URL",
    "HAPI-0958": f"the conditional create matched several resources: {_DUPLICATES}",
    "HAPI-0960": "the server refuses purely numeric client-assigned ids",
    "HAPI-0988": f"the conditional update matched several resources: {_DUPLICATES}",
    "HAPI-0989": "version conflict: the resource changed on the server since it was read; "
    "run sync again",
    "HAPI-1094": "a referenced resource does not exist on the server",
    "HAPI-1814": "the resource type in the body does not match the request URL",
    "HAPI-1821": "a value does not fit its FHIR data type: not a valid code, date or number",
    "HAPI-1861": "the request body is not valid JSON",
    "HAPI-2008": "two entries of the transaction have the same business identifier; check the "
    "source for duplicate rows",
    "HAPI-2207": f"a match URL matched several resources: {_DUPLICATES}",
    "HAPI-2279": "the resource id differs from the one its conditional match URL found",
    "HAPI-2282": "the server does not resolve inline match-URL references",
}

_HAPI_CODE = re.compile(r"\bHAPI-\d{4}\b")
# Deny-list for unknown messages, applied in this order (quotes first: they hold the most).
_SCRUB = (
    re.compile(r'"[^"]*(?:"|$)'),  # "...", or an opening quote the truncation left open
    re.compile(r"“[^”]*(?:”|$)"),
    re.compile(r"(?<![\w])'[^']*(?:'|$)"),  # '...' but not the apostrophe in "can't"
    re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://\S*"),  # URLs
    re.compile(r"\b(?:urn|oid|uuid):\S*", re.IGNORECASE),
    re.compile(r"\b[A-Z][A-Za-z]+\?\S*"),  # match URLs: Patient?identifier=...
    re.compile(r"\S*\|\S*"),  # system|value tokens
    re.compile(r"\[(?!\d+\]|x\])[^\]]*(?:\]|$)"),  # ID[...], [line: 1, ...]; not entry[2]
    re.compile(r"\b\d{4}-\d{2}-\d{2}(?:T[\d:.]+(?:Z|[+-]\d{2}:\d{2})?)?\b"),  # dates
)
_IDENTIFIER_VALUE = re.compile(r"\b(identifier=)\S*", re.IGNORECASE)
_NAME = r"[A-Za-z][A-Za-z0-9]*"  # a FHIR element name
_FHIR_PATH = r"[A-Z][A-Za-z]+(?:\.[a-z][A-Za-z0-9]*)+"  # Observation.subject
_ELEMENT = re.compile(rf'\[element="({_NAME})"\]')
_PATH = re.compile(rf"\bpath:?\s+({_FHIR_PATH})")
_TYPES = "|".join(sorted(registry.resource_types))
_KEY = re.compile(r"\b(" + _TYPES + r")/([A-Za-z0-9\-.]{1,64})\b")
# Our own output, recognised so that redacting twice changes nothing; its parts are re-checked.
_OWN = re.compile(r"(HAPI-\d{4}): ([^()]*?)(?: \(([^()]*)\))?")
_OWN_PART = re.compile(rf"{_KEY.pattern}|path {_FHIR_PATH}|element {_NAME}")


def scrub(text: str) -> str:
    """``text`` with everything that may quote a request value replaced by ``<redacted>``."""
    text = _IDENTIFIER_VALUE.sub(rf"\1{REDACTED}", text)
    for pattern in _SCRUB:
        text = pattern.sub(REDACTED, text)
    return text


def _context(raw: str, scrubbed: str) -> list[str]:
    """Resource keys, element paths and names: the parts of a message that help and are safe."""
    parts = [f"{kind}/{id_}" for kind, id_ in _KEY.findall(scrubbed)]
    parts += [f"path {path}" for path in _PATH.findall(scrubbed)]
    parts += [f"element {name}" for name in _ELEMENT.findall(raw)]
    return list(dict.fromkeys(parts))


def redact_diagnostics(text: str | None) -> str:
    """A server's diagnostics as we may show them: no business identifiers, no values.

    With a known HAPI code: ``"HAPI-1094: a referenced resource does not exist on the server
    (Patient/s-pat-1, path Observation.subject)"``. HAPI wraps codes (``HAPI-0450: ... HAPI-1821:
    ...``); the innermost known one says most. Idempotent.
    """
    if not text:
        return ""
    own = _OWN.fullmatch(text)
    if own and _KNOWN.get(own[1]) == own[2]:
        parts = [part for part in (own[3] or "").split(", ") if _OWN_PART.fullmatch(part)]
        return _explain(own[1], parts)
    scrubbed = scrub(text)
    known = [code for code in _HAPI_CODE.findall(text) if code in _KNOWN]
    if not known:
        return scrubbed[:MAX_LENGTH]
    return _explain(known[-1], _context(text, scrubbed))


def _explain(code: str, context: list[str]) -> str:
    detail = f" ({', '.join(context)})" if context else ""
    return f"{code}: {_KNOWN[code]}{detail}"[:MAX_LENGTH]
