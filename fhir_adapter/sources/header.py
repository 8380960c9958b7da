"""Header checks shared by every reader: each column needs one name, and no name twice.

A row is read into a dict keyed by header name, so a repeated name would let the later
column silently overwrite the earlier one (a second 'Sex' column made every patient female),
and a blank name would hold values nobody can map. Both refuse the file, naming the header
cells by position and letter; header names are not participant data and may be shown.
"""

from __future__ import annotations

from collections.abc import Sequence

from fhir_adapter.errors import SourceDataError


def column_letter(position: int) -> str:
    """Spreadsheet letter of a 1-based column position (1 → A, 27 → AA)."""
    letters = ""
    while position:
        position, rest = divmod(position - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _cell(position: int) -> str:
    return f"{position} ({column_letter(position)})"


def check_header_names(header: Sequence[str], file: str) -> None:
    """Refuse blank or repeated header names (``header`` already stripped)."""
    blank = [n for n, name in enumerate(header, start=1) if not name]
    if blank:
        cells = ", ".join(_cell(n) for n in blank)
        raise SourceDataError(
            f"header cell(s) {cells} have no column name; name every column (a delimiter at "
            "the end of each line also makes an empty last column)",
            file=file,
            row=1,
            rule="header",
        )
    seen: dict[str, list[int]] = {}
    for n, name in enumerate(header, start=1):
        seen.setdefault(name, []).append(n)
    repeated = {name: cells for name, cells in seen.items() if len(cells) > 1}
    if repeated:
        listing = "; ".join(
            f"{_shown(name)} in cells {', '.join(_cell(n) for n in cells)}"
            for name, cells in repeated.items()
        )
        raise SourceDataError(
            f"header repeats column name(s): {listing}; each column needs its own name, or "
            "one column's values would silently replace the other's",
            file=file,
            row=1,
            rule="header",
        )


def _shown(name: str) -> str:
    return repr(name if len(name) <= 40 else name[:37] + "...")
