"""Keep credentials out of what we print and store about a JDBC URL."""

from __future__ import annotations

import re

_USERINFO = re.compile(r"//[^/@]*@")
_SECRET_PARAM = re.compile(r"((?:password|pwd|user|username)=)[^&;]*", re.IGNORECASE)


def redact_jdbc_url(url: str) -> str:
    """``url`` with user names and passwords replaced by ``***``."""
    return _SECRET_PARAM.sub(r"\1***", _USERINFO.sub("//***@", url))
