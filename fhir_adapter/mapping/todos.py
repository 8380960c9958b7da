"""Values still marked TODO (as ``fhir-adapter init`` leaves them) are refused at load.

Many fields take any text (a title, an arm name, an identifier system), so a left-over TODO
would otherwise validate and reach every resource. Each is reported with its key path.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

TODO = "TODO"


def todo_paths(document: Any, path: tuple[Any, ...] = ()) -> Iterator[list[Any]]:
    """Key paths of every scalar value that is exactly ``TODO`` (spaces aside)."""
    if isinstance(document, Mapping):
        for key, value in document.items():
            yield from todo_paths(value, (*path, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from todo_paths(value, (*path, index))
    elif isinstance(document, str) and document.strip() == TODO:
        yield list(path)
