"""The result of a mapping run: counts and row errors, never cell values."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from fhir_adapter.mapping.records import RowError
from fhir_adapter.mapping.schedule import ScheduleFinding


@dataclass
class MapReport:
    mapping: str
    mapping_version: str
    rows_read: int = 0
    rows_rejected: int = 0  # rows that broke a rule
    rows_left_out: int = 0  # rows that broke none, not mapped with a rejected one
    participants_mapped: int = 0  # of which participants_partial miss some rows
    participants_partial: int = 0
    participants_rejected: int = 0
    rejects_written: int | None = None  # rows in the rejects folder, when one was asked for
    resources: Counter[str] = field(default_factory=Counter)
    errors: list[RowError] = field(default_factory=list)
    model_problems: list[str] = field(default_factory=list)
    # Study-level statements the data contradict (e.g. a completed study with participants
    # still on study): reported, not errors, so they do not change the exit code.
    warnings: list[str] = field(default_factory=list)
    # Visits against the protocol's schedule (``study.schedule``): deviations to review, not
    # errors, so they do not change the exit code either.
    schedule: list[ScheduleFinding] = field(default_factory=list)
    # Patient ids of participants left out for row errors: the sync must not take them for
    # participants removed from the source.
    rejected_keys: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.model_problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "mapping": self.mapping,
            "mapping_version": self.mapping_version,
            "rows_read": self.rows_read,
            "rows_rejected": self.rows_rejected,
            "rows_left_out": self.rows_left_out,
            "participants_mapped": self.participants_mapped,
            "participants_partial": self.participants_partial,
            "participants_rejected": self.participants_rejected,
            "rejects_written": self.rejects_written,
            "resources": dict(sorted(self.resources.items())),
            "resources_total": sum(self.resources.values()),
            "errors": [
                {
                    "file": e.file,
                    "row": e.row,
                    "column": e.column,
                    "rule": e.rule,
                    "message": e.message,
                    "participant_row": e.subject_row.row if e.subject_row else None,
                }
                for e in self.errors
            ],
            "model_problems": self.model_problems,
            "warnings": self.warnings,
            "schedule": {
                "counts": dict(sorted(Counter(f.rule for f in self.schedule).items())),
                "findings": [f.as_dict() for f in self.schedule],
            },
        }
