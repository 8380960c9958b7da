"""Load a mapping file: parse YAML keeping line numbers, merge code catalogues, validate.

Every problem is raised as ``MappingSpecError`` naming the file, the line and the key path,
before any data is read.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError

from fhir_adapter.errors import MappingSpecError
from fhir_adapter.mapping.checks import semantic_problems
from fhir_adapter.mapping.spec import CodeCatalogue, MappingSpec


@dataclass(frozen=True)
class LoadedMapping:
    """A validated mapping with where it came from (for errors and Provenance)."""

    spec: MappingSpec
    path: Path
    digest: str  # sha256 of the mapping file and its includes, for Provenance and the ledger

    @property
    def name(self) -> str:
        return self.path.name


def _parse(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MappingSpecError("file not found", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingSpecError(
            f"cannot read the file ({exc.__class__.__name__})", file=str(path)
        ) from None
    try:
        return YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        raise MappingSpecError(
            f"not valid YAML: {exc.problem}", file=str(path), line=line
        ) from None


def line_of(document: Any, path: Iterable[Any]) -> int | None:
    """1-based line of the deepest node on ``path`` that exists in a ruamel document."""
    node, line = document, None
    for key in path:
        lc = getattr(node, "lc", None)
        try:
            if isinstance(node, Mapping) and key in node:
                if lc is not None:
                    line = lc.key(key)[0] + 1
                node = node[key]
            elif isinstance(node, list) and isinstance(key, int) and key < len(node):
                if lc is not None:
                    line = lc.item(key)[0] + 1
                node = node[key]
            else:
                break
        except (KeyError, IndexError, TypeError):
            break
    if line is None and getattr(document, "lc", None) is not None:
        line = document.lc.line + 1
    return line


def _key_path(loc: Iterable[Any]) -> str:
    parts = [str(p) for p in loc if not (isinstance(p, str) and p in _PYDANTIC_TAGS)]
    return ".".join(parts)


# Tags pydantic inserts into error locations for unions and shorthand validators.
_PYDANTIC_TAGS = {"wide", "long", "function-before[_shorthand()]", "str"}


def _raise_validation(exc: ValidationError, document: Any, file: str) -> None:
    """Report the most useful problem: an unknown key (likely a typo) before anything else."""
    errors = exc.errors()
    errors.sort(key=lambda e: e["type"] != "extra_forbidden")
    first = errors[0]
    loc = [p for p in first["loc"] if not (isinstance(p, str) and p in _PYDANTIC_TAGS)]
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        missing = [
            e["loc"][-1]
            for e in errors
            if e["type"] == "missing" and list(e["loc"][:-1]) == list(first["loc"][:-1])
        ]
        guess = difflib.get_close_matches(str(loc[-1]), [str(m) for m in missing], n=1)
        message = f"unknown key '{loc[-1]}'" + (f" (did you mean '{guess[0]}'?)" if guess else "")
    count = len(errors)
    more = f" (and {count - 1} more problem{'s' if count > 2 else ''})" if count > 1 else ""
    raise MappingSpecError(
        message + more, file=file, line=line_of(document, loc), key=_key_path(loc) or None
    )


def _load_catalogue(path: Path) -> tuple[dict[str, Any], bytes]:
    document = _parse(path)
    if not isinstance(document, Mapping) or set(document) != {"codes"}:
        raise MappingSpecError(
            "an included file must hold a single top-level key 'codes'", file=str(path), line=1
        )
    try:
        CodeCatalogue.model_validate(document["codes"])
    except ValidationError as exc:
        _raise_validation(exc, document, str(path))
    return _plain(document["codes"]), path.read_bytes()


def _plain(node: Any) -> Any:
    """ruamel's commented containers and scalar subclasses as plain Python values."""
    if isinstance(node, Mapping):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return str(node)


def _merge_codes(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Included catalogues first, then the mapping's own entries (which win, per key)."""
    merged = {section: dict(entries) for section, entries in base.items()}
    for section, entries in extra.items():
        merged.setdefault(section, {}).update(entries)
    return merged


def load_mapping(path: str | Path) -> LoadedMapping:
    """Read, merge and validate a mapping file; raise ``MappingSpecError`` on any problem."""
    path = Path(path)
    document = _parse(path)
    file = str(path)
    if not isinstance(document, Mapping):
        raise MappingSpecError(
            "the file must hold a mapping of keys (format, study, tables, ...)", file=file, line=1
        )
    digest = hashlib.sha256(path.read_bytes())
    codes: dict[str, Any] = {}
    for index, include in enumerate(document.get("include") or []):
        include_path = (path.parent / str(include)).resolve()
        if not include_path.is_file():
            raise MappingSpecError(
                f"included file not found: {include}",
                file=file,
                line=line_of(document, ["include", index]),
                key="include",
            )
        included, raw = _load_catalogue(include_path)
        digest.update(raw)
        codes = _merge_codes(codes, included)
    plain = _plain(document)
    plain["codes"] = _merge_codes(codes, plain.get("codes") or {})
    try:
        spec = MappingSpec.model_validate(plain)
    except ValidationError as exc:
        _raise_validation(exc, document, file)
        raise  # unreachable: _raise_validation always raises
    for message, loc in semantic_problems(spec):
        raise MappingSpecError(
            message, file=file, line=line_of(document, loc), key=".".join(str(p) for p in loc)
        )
    return LoadedMapping(spec=spec, path=path, digest=digest.hexdigest())
