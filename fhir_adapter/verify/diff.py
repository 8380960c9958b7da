"""Which elements differ between the resource we built and the server's copy, by path.

Values are shown only where they cannot identify anyone: numbers, booleans, dates, and
strings under coded keys (``code``, ``system``, ``unit``, ``status`` ...). Any other string
(names, identifiers, free text) is masked, so a report can be pasted into a ticket.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

MASK = "<masked>"
_NUMBER = "#number"
_SAFE_KEYS = frozenset(
    {
        "code",
        "system",
        "unit",
        "status",
        "resourceType",
        "reference",
        "url",
        "use",
        "version",
        "gender",
        "comparator",
        "productCategory",
        "actuality",
        "intent",
        "periodUnit",
    }
)
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2}(T[0-9:.+\-Z]+)?)?)?$")
ABSENT = "(absent)"


@dataclass(frozen=True)
class ElementDifference:
    """One element that differs: its path, and both values as they may be shown."""

    path: str  # "valueQuantity.value", "component[1].code.coding[0].code"
    ours: str
    server: str

    def __str__(self) -> str:
        return f"{self.path}: source {self.ours}, server {self.server}"


def element_differences(
    ours: Any, theirs: Any, path: str = "", key: str = ""
) -> list[ElementDifference]:
    """The differing leaves of two normal-form trees, in document order."""
    if _is_leaf(ours) or _is_leaf(theirs):
        if ours == theirs:
            return []
        return [ElementDifference(path or "(resource)", _shown(ours, key), _shown(theirs, key))]
    if isinstance(ours, dict) and isinstance(theirs, dict):
        found: list[ElementDifference] = []
        for name in [*ours, *(k for k in theirs if k not in ours)]:
            found += element_differences(
                ours.get(name, _Absent),
                theirs.get(name, _Absent),
                f"{path}.{name}" if path else name,
                name,
            )
        return found
    if isinstance(ours, list) and isinstance(theirs, list):
        found = []
        for index in range(max(len(ours), len(theirs))):
            found += element_differences(
                ours[index] if index < len(ours) else _Absent,
                theirs[index] if index < len(theirs) else _Absent,
                f"{path}[{index}]",
                key,
            )
        return found
    return [ElementDifference(path or "(resource)", _shown(ours, key), _shown(theirs, key))]


class _AbsentType:
    def __repr__(self) -> str:
        return ABSENT


_Absent: Any = _AbsentType()


def _is_leaf(node: Any) -> bool:
    return (
        node is _Absent
        or not isinstance(node, (dict, list))
        or (isinstance(node, dict) and set(node) == {_NUMBER})
    )


def _shown(node: Any, key: str) -> str:
    if node is _Absent:
        return ABSENT
    if isinstance(node, dict) and set(node) == {_NUMBER}:
        return str(node[_NUMBER])
    if isinstance(node, bool) or node is None:
        return str(node).lower()
    if isinstance(node, str):
        return repr(node) if key in _SAFE_KEYS or _DATE.match(node) else MASK
    return "(structure)" if isinstance(node, (dict, list)) else MASK
