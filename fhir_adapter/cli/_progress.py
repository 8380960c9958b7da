"""Terminal progress and summary tables (rich), kept out of the library."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

stderr = Console(stderr=True)
# Tables stay readable when piped: rich would otherwise assume 80 columns.
stdout = Console(width=None if sys.stdout.isatty() else 120)


class RateColumn(ProgressColumn):
    """Items per second over the last moments (rich keeps the samples)."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.speed
        return Text(f"{speed:,.0f} {self.unit}/s" if speed else "", style="dim")


@contextlib.contextmanager
def row_progress(
    label: str, enabled: bool = True, unit: str = "rows"
) -> Iterator[Callable[[int], None]]:
    """A spinner counting ``unit`` (rows read, participants sent, resources checked) with
    the rate and elapsed time (just the time when ``unit`` is empty); silent when disabled
    or not on a terminal."""
    if not enabled or not sys.stderr.isatty():
        yield lambda n: None
        return
    counted = [TextColumn(f"{{task.completed:,}} {unit}"), RateColumn(unit)] if unit else []
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        *counted,
        TimeElapsedColumn(),
        console=stderr,
        transient=True,
    ) as progress:
        task = progress.add_task(label, total=None)
        yield lambda n: progress.advance(task, n)


@contextlib.contextmanager
def count_progress(label: str, total: int, enabled: bool = True) -> Iterator[Callable[[int], None]]:
    """A bar over a known number of items (participants, resources)."""
    if not enabled or not sys.stderr.isatty():
        yield lambda n: None
        return
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=stderr,
        transient=True,
    ) as progress:
        task = progress.add_task(label, total=total)
        yield lambda n: progress.advance(task, n)
