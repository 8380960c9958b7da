"""Part files: the resources one step fetched, ``OUT/.pull/parts/<Type>/<step>.ndjson``.

A part file exists under its final name only when complete (written to a temporary file and
renamed), and its step is recorded as done only after that; the merge reads every part of a
type, in name order, and keeps the first copy of each id.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from fhir_adapter.pull._files import write_ndjson

_UNSAFE = re.compile(r"[^A-Za-z0-9.-]")


class Parts:
    """The part files of one pull folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, resource_type: str, step: str) -> Path:
        return self.root / resource_type / f"{_UNSAFE.sub('-', step)}.ndjson"

    def write(self, resource_type: str, step: str, resources: Iterable[dict[str, Any]]) -> int:
        return write_ndjson(self.path(resource_type, step), resources)

    def count(self, resource_type: str, step: str) -> int:
        """Resources in a finished part (for the progress of a resumed pull)."""
        path = self.path(resource_type, step)
        if not path.exists():
            return 0
        with path.open("rb") as handle:
            return sum(1 for line in handle if line.strip())

    def files(self, resource_type: str) -> list[Path]:
        folder = self.root / resource_type
        if not folder.is_dir():
            return []
        return sorted(
            p for p in folder.iterdir() if p.suffix == ".ndjson" and not p.name.startswith(".")
        )

    def read(self, resource_type: str) -> Iterator[dict[str, Any]]:
        """Every resource in the finished parts of ``resource_type``."""
        for path in self.files(resource_type):
            with path.open(encoding="utf-8") as handle:
                for line in handle:
                    if line.strip():
                        yield json.loads(line, parse_float=Decimal)
