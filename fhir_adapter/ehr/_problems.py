"""What went wrong for one participant or one value: a result, never an exception.

A problem names the MRN file's row (and, in the owner-only ``problems.csv`` only, the
subject id, the date and the analyte); never the MRN, a name or a measured value. Units and
LOINC codes are codes and may be shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One participant or value left out, and why.

    ``rule`` is a short key (``mrn-file``, ``patient-not-found``, ``patient-ambiguous``,
    ``status``, ``unit``, ``range``, ``conflict``, ``no-value``, ``no-date``); ``message`` says
    what to do and holds codes only, so it can go to the terminal and ``summary.json``.
    """

    row: int | None
    rule: str
    message: str
    subject: str | None = None
    analyte: str | None = None
    date: str | None = None

    @property
    def order(self) -> tuple[int, str, str, str]:
        """Sort key: MRN-file row, then rule, analyte and date."""
        return (self.row or 0, self.rule, self.analyte or "", self.date or "")

    def public(self) -> dict[str, Any]:
        """The part that may be printed: row, rule, analyte key and message."""
        shown: dict[str, Any] = {"row": self.row, "rule": self.rule, "message": self.message}
        if self.analyte:
            shown["analyte"] = self.analyte
        return shown
