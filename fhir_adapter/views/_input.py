"""Read FHIR resources from NDJSON files (one resource per line), streaming line by line.

The input is a folder of ``*.ndjson`` files (read in name order, not recursively) or one
file. A resource's type is read from the resource itself, never from the file name. Blank
lines are skipped; a line that is not a JSON object with a ``resourceType`` is a
``SourceDataError`` naming the file and line (never the content). Decimals are read as
``Decimal`` so ``1.50`` keeps its precision through to the output.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from fhir_adapter.errors import SourceDataError


@dataclass(frozen=True)
class InputResource:
    file: Path
    line: int
    resource: dict[str, Any]

    @property
    def location(self) -> str:
        return f"{self.file.name}:{self.line}"


def ndjson_files(source: Path) -> list[Path]:
    """The NDJSON files of ``source`` (a folder or one file), in name order."""
    if source.is_file():
        return [source]
    if not source.is_dir():
        raise SourceDataError("no such file or folder", file=str(source), rule="unreadable")
    return sorted(p for p in source.iterdir() if p.is_file() and p.suffix.lower() == ".ndjson")


def read_ndjson(source: Path, resource_type: str | None = None) -> Iterator[InputResource]:
    """Resources from ``source``, only those of ``resource_type`` when it is given."""
    for file in ndjson_files(source):
        try:
            handle = file.open(encoding="utf-8")
        except OSError as error:
            raise SourceDataError(
                f"cannot open ({type(error).__name__})", file=str(file), rule="unreadable"
            ) from None
        with handle:
            line_no = 0
            try:
                for line_no, line in enumerate(handle, start=1):  # noqa: B007 (used below)
                    if not line.strip():
                        continue
                    resource = _parse(line, file, line_no)
                    if resource_type is None or resource["resourceType"] == resource_type:
                        yield InputResource(file, line_no, resource)
            except UnicodeDecodeError:
                raise SourceDataError(
                    "not UTF-8 text", file=str(file), row=line_no + 1, rule="unreadable"
                ) from None


def _parse(line: str, file: Path, line_no: int) -> dict[str, Any]:
    try:
        resource = json.loads(line, parse_float=Decimal)
    except json.JSONDecodeError as error:
        raise SourceDataError(
            f"not JSON (column {error.colno}: {error.msg})",
            file=str(file),
            row=line_no,
            rule="invalid NDJSON",
        ) from None
    if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
        raise SourceDataError(
            "not a FHIR resource (a JSON object with resourceType)",
            file=str(file),
            row=line_no,
            rule="invalid NDJSON",
        )
    return resource
