"""``DeidReport``: what de-identification removed and changed, in counts (never values)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class DeidReport:
    """Counts over every participant and study resource de-identified so far.

    ``removed`` counts elements by path (``AdverseEvent.event.text``, no indices) and reason
    (free-text, identifying, not-in-catalogue, source-provenance, age-90-or-over, ...);
    ``changed`` counts what was rewritten (resource ids, references, identifiers, dates).
    """

    profile: str
    key_fingerprint: str
    participants: int = 0
    resources: int = 0
    removed: Counter[tuple[str, str]] = field(default_factory=Counter)
    changed: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, sorted: for ``summary.json`` and ``--json``."""
        return {
            "profile": self.profile,
            "key_fingerprint": self.key_fingerprint,
            "participants": self.participants,
            "resources": self.resources,
            "removed": [
                {"element": element, "reason": reason, "count": count}
                for (element, reason), count in sorted(self.removed.items())
            ],
            "changed": dict(sorted(self.changed.items())),
        }
