"""How a pull tells its caller what it is doing (the CLI draws it; the library never prints)."""

from __future__ import annotations

from typing import Protocol


class PullProgress(Protocol):
    """Receives counts as resources arrive; called from the fetching threads."""

    def stage(self, text: str) -> None:
        """A new stage began ("participants", "searching", "bulk export", "tables")."""

    def fetched(self, resource_type: str, count: int) -> None:
        """``count`` more resources of ``resource_type`` are on disk (resumed ones included)."""


class NoProgress:
    """The default: report nothing."""

    def stage(self, text: str) -> None:
        return None

    def fetched(self, resource_type: str, count: int) -> None:
        return None
