"""Canonical JSON for resources: compact, key order as built, decimals written exactly.

``json`` cannot write a ``Decimal`` without going through float, which would turn a reported
"0.10" into 0.1; FHIR treats decimal precision as significant, so decimals are written from
their own text.
"""

from __future__ import annotations

import hashlib
import json
import re
from decimal import Decimal
from typing import Any

_MARK = "\u0000"
_MARKED = re.compile('"\\\\u0000([^"\\\\]*)\\\\u0000"')


def _decimal(value: Any) -> str:
    if isinstance(value, Decimal):
        return f"{_MARK}{value}{_MARK}"
    raise TypeError(f"cannot serialize {type(value).__name__}")


def canonical_json(resource: dict[str, Any]) -> str:
    text = json.dumps(resource, separators=(",", ":"), ensure_ascii=False, default=_decimal)
    return _MARKED.sub(r"\1", text) if "\\u0000" in text else text


def content_hash(resource: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(resource).encode()).hexdigest()
