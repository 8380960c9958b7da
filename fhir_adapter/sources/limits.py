"""Resource limits for reading site exports, so a hostile or broken file fails fast.

Each limit, when broken, raises ``SourceDataError`` naming the file, the row, the column
and the rule (``file-size``, ``cell-size``, ``rows-per-participant``), never a cell value.
They are file-level errors: a file over a limit is not a file this tool should map.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fhir_adapter.errors import SourceDataError

KIB = 1024
GIB = 1024 * 1024 * 1024


@dataclass(frozen=True)
class SourceLimits:
    """The limits one read applies; the defaults sit far above any real site export."""

    # On disk; for .xlsx also the declared unpacked size of the workbook (a zip bomb guard).
    max_file_bytes: int = 2 * GIB
    # Excel itself stops at 32,767 characters per cell. csv's own field limit (128 Ki
    # characters by default) stays untouched: it is process-wide state.
    max_cell_chars: int = 64 * KIB
    # Per table: more usually means the subject column is not the participant id.
    max_rows_per_participant: int = 100_000


DEFAULT_LIMITS = SourceLimits()


def check_file_size(path: Path, file: str, limits: SourceLimits) -> None:
    """Refuse a file over ``limits.max_file_bytes`` before reading any of it."""
    if path.stat().st_size > limits.max_file_bytes:
        raise SourceDataError(
            f"the file is larger than the {limits.max_file_bytes:,}-byte limit; split the export",
            file=file,
            rule="file-size",
        )


def check_cells(
    header: Sequence[object], cells: Sequence[object], file: str, row: int, limits: SourceLimits
) -> None:
    """Refuse a text cell over ``limits.max_cell_chars``, naming its column (never its text)."""
    for column, cell in zip(header, cells, strict=False):
        if isinstance(cell, str) and len(cell) > limits.max_cell_chars:
            raise SourceDataError(
                f"a cell is longer than the {limits.max_cell_chars:,}-character limit",
                file=file,
                row=row,
                column=str(column)[:40],
                rule="cell-size",
            )


def check_header(header: Sequence[object], file: str, limits: SourceLimits) -> None:
    """Refuse an oversized header cell, naming its position: its text may not be a name."""
    check_cells([f"#{n}" for n in range(1, len(header) + 1)], header, file, 1, limits)
