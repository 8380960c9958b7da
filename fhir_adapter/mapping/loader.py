"""Load a mapping file: parse YAML keeping line numbers, merge code catalogues, validate.

Every problem is raised as ``MappingSpecError`` naming the file, the line and the key path,
before any data is read. A hostile file is refused before anything is built from it: at most
``MAX_MAPPING_BYTES``, no YAML aliases, at most ``MAX_NESTING`` levels; included catalogues
follow the same rules and must sit in the mapping's folder or below it.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.events import (
    AliasEvent,
    MappingEndEvent,
    MappingStartEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)

from fhir_adapter.errors import MappingSpecError
from fhir_adapter.mapping.checks import path_problem, semantic_problems
from fhir_adapter.mapping.spec import CodeCatalogue, MappingSpec
from fhir_adapter.mapping.todos import todo_paths


@dataclass(frozen=True)
class MappingFile:
    """A loaded mapping file: its validated ``MappingSpec`` with where it came from (for
    errors and Provenance) and the digest of its bytes."""

    spec: MappingSpec
    path: Path
    digest: str  # sha256 of the mapping file and its includes, for Provenance and the ledger

    @property
    def name(self) -> str:
        return self.path.name


# The name before "mapping" got one meaning (issue 13): kept for code written against it.
LoadedMapping = MappingFile


# The shipped mappings and catalogue are 4-7 KiB. ruamel parses some 50-100 KiB a second
# (a 5 MB file took over 3 minutes), so the cap bounds the time a hostile file can cost.
MAX_MAPPING_BYTES = 1024 * 1024
# Real mapping files nest about 6 levels; the cap keeps ruamel's recursive composer safe.
MAX_NESTING = 32


def _read_bounded(path: Path) -> bytes:
    """The file's bytes, refusing a non-regular file or one over ``MAX_MAPPING_BYTES``."""
    file = str(path)
    if path.exists() and not path.is_file():
        raise MappingSpecError("not a regular file", file=file)
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_MAPPING_BYTES + 1)
    except FileNotFoundError:
        raise MappingSpecError("file not found", file=file) from None
    except OSError as exc:
        raise MappingSpecError(
            f"cannot read the file ({exc.__class__.__name__})", file=file
        ) from None
    if len(raw) > MAX_MAPPING_BYTES:
        raise MappingSpecError(
            f"larger than the {MAX_MAPPING_BYTES // (1024 * 1024)} MiB limit for mapping "
            "files; a mapping or code catalogue is normally a few KiB",
            file=file,
        )
    return raw


def _refuse_aliases_and_depth(text: str, file: str) -> None:
    """Scan the YAML events before building anything: aliases and deep nesting are refused.

    An alias re-uses an anchored node, so a few lines of ``&a``/``*a`` can stand for billions
    of values ("billion laughs") once the document is copied or validated; mapping files
    need none. Parsing is event by event, so a hostile file stops at its first alias.
    """
    depth = 0
    for event in YAML(typ="rt").parse(text):
        line = event.start_mark.line + 1 if event.start_mark is not None else None
        if isinstance(event, AliasEvent):
            raise MappingSpecError(
                f"YAML alias '*{event.anchor}' is not allowed in mapping files (nor merge "
                "keys '<<: *name'); write the values out in full",
                file=file,
                line=line,
            )
        if isinstance(event, (MappingStartEvent, SequenceStartEvent)):
            depth += 1
            if depth > MAX_NESTING:
                raise MappingSpecError(
                    f"nested more than {MAX_NESTING} levels deep", file=file, line=line
                )
        elif isinstance(event, (MappingEndEvent, SequenceEndEvent)):
            depth -= 1


def _parse(path: Path) -> tuple[Any, bytes]:
    """The YAML document (ruamel round-trip, keeping lines) and the raw bytes it came from."""
    raw = _read_bounded(path)
    file = str(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise MappingSpecError(
            "cannot read the file (UnicodeDecodeError): save it as UTF-8", file=file
        ) from None
    try:
        _refuse_aliases_and_depth(text, file)
        return YAML(typ="rt").load(text), raw
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        raise MappingSpecError(f"not valid YAML: {exc.problem}", file=file, line=line) from None


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
    """Report every problem pydantic found, each with file:line [key]; an unknown key (likely
    a typo) says which known key it may mean."""
    errors = exc.errors()
    problems: list[MappingSpecError] = []
    seen: set[tuple[str, str]] = set()
    for error in errors:
        loc = [p for p in error["loc"] if not (isinstance(p, str) and p in _PYDANTIC_TAGS)]
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            missing = [
                str(e["loc"][-1])
                for e in errors
                if e["type"] == "missing" and list(e["loc"][:-1]) == list(error["loc"][:-1])
            ]
            guess = difflib.get_close_matches(
                str(loc[-1]), missing, n=1
            ) or difflib.get_close_matches(str(loc[-1]), _known_keys(), n=1)
            message = f"unknown key '{loc[-1]}'" + (
                f" (did you mean '{guess[0]}'?)" if guess else ""
            )
        elif error["type"] == "missing" and any(
            e["type"] == "extra_forbidden" and list(e["loc"][:-1]) == list(error["loc"][:-1])
            for e in errors
        ):
            continue  # the typo above explains it
        key = _key_path(loc)
        if (key, message) in seen:
            continue  # a union reports the same problem once per branch
        seen.add((key, message))
        problems.append(
            MappingSpecError(message, file=file, line=line_of(document, loc), key=key or None)
        )
    raise _all(problems)


@functools.cache
def _known_keys() -> list[str]:
    """Every key the mapping format knows, anywhere (for did-you-mean)."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            found.update(k for k in (node.get("properties") or {}) if isinstance(k, str))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(MappingSpec.model_json_schema())
    return sorted(found)


def _load_catalogue(path: Path) -> tuple[dict[str, Any], bytes]:
    document, raw = _parse(path)
    if not isinstance(document, Mapping) or set(document) != {"codes"}:
        raise MappingSpecError(
            "an included file must hold a single top-level key 'codes'", file=str(path), line=1
        )
    try:
        CodeCatalogue.model_validate(document["codes"])
    except ValidationError as exc:
        _raise_validation(exc, document, str(path))
    return _plain(document["codes"]), raw


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


def load_catalogue(path: str | Path) -> CodeCatalogue:
    """One code catalogue file on its own, checked as an included one is."""
    codes, _ = _load_catalogue(Path(path))
    return CodeCatalogue.model_validate(codes)


def _merge_codes(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Included catalogues first, then the mapping's own entries (which win, per key)."""
    merged = {section: dict(entries) for section, entries in base.items()}
    for section, entries in extra.items():
        merged.setdefault(section, {}).update(entries)
    return merged


def _include_path(document: Any, index: int, include: Any, path: Path) -> Path:
    """Where include ``index`` points, confined to the mapping's folder (symlinks resolved).

    A catalogue is part of the mapping, so it sits beside it or below; a mapping file from
    elsewhere must not make the tool read other files on this machine.
    """
    where: dict[str, Any] = {
        "file": str(path),
        "line": line_of(document, ["include", index]),
        "key": "include",
    }
    problem = path_problem(str(include))
    if problem:
        raise MappingSpecError(
            f"included file '{include}' {problem}; name a catalogue in this mapping's folder "
            "or below it",
            **where,
        )
    folder = path.parent.resolve()
    target = (folder / str(include)).resolve()
    if not target.is_relative_to(folder):
        raise MappingSpecError(
            f"included file '{include}' resolves outside this mapping's folder (a symlink?); "
            "copy the catalogue beside the mapping",
            **where,
        )
    if not target.is_file():
        raise MappingSpecError(f"included file not found: {include}", **where)
    return target


def load_mapping(path: str | Path) -> MappingFile:
    """Read, merge and validate a mapping file; raise ``MappingSpecError`` on any problem."""
    path = Path(path)
    document, raw = _parse(path)
    file = str(path)
    if not isinstance(document, Mapping):
        raise MappingSpecError(
            "the file must hold a mapping of keys (format, study, tables, ...)", file=file, line=1
        )
    todos = [
        MappingSpecError(
            "still TODO: fill in this value (the draft's comment beside it says what it needs)",
            file=file,
            line=line_of(document, loc),
            key=".".join(str(p) for p in loc),
        )
        for loc in todo_paths(document)
    ]
    if todos:
        raise _all(todos)
    digest = hashlib.sha256(raw)
    includes = document.get("include") or []
    if not isinstance(includes, list):
        raise MappingSpecError(
            "'include' must be a list of file names",
            file=file,
            line=line_of(document, ["include"]),
            key="include",
        )
    codes: dict[str, Any] = {}
    for index, include in enumerate(includes):
        included, included_raw = _load_catalogue(_include_path(document, index, include, path))
        digest.update(included_raw)
        codes = _merge_codes(codes, included)
    plain = _plain(document)
    plain["codes"] = _merge_codes(codes, plain.get("codes") or {})
    try:
        spec = MappingSpec.model_validate(plain)
    except ValidationError as exc:
        _raise_validation(exc, document, file)
        raise  # unreachable: _raise_validation always raises
    problems = [
        MappingSpecError(
            message, file=file, line=line_of(document, loc), key=".".join(str(p) for p in loc)
        )
        for message, loc in semantic_problems(spec)
    ]
    if problems:
        raise _all(problems)
    return MappingFile(spec=spec, path=path, digest=digest.hexdigest())


def check_against_data(loaded: MappingFile, data_dir: Path) -> None:
    """Checks that need the data folder (REDCap dictionaries, ``mapping.redcapcheck``);
    raise ``MappingSpecError`` with the mapping's lines, as loading does."""
    from fhir_adapter.mapping.redcapcheck import redcap_problems

    found = list(redcap_problems(loaded.spec, Path(data_dir)))
    if not found:
        return
    document, _ = _parse(loaded.path)
    file = str(loaded.path)
    raise _all(
        [
            MappingSpecError(
                message,
                file=file,
                line=line_of(document, loc),
                key=".".join(str(p) for p in loc),
            )
            for message, loc in found
        ]
    )


def _all(problems: list[MappingSpecError]) -> MappingSpecError:
    """One error carrying every problem, in file order (the first one leads)."""
    ordered = sorted(problems, key=lambda p: (p.line is None, p.line or 0))
    first = ordered[0]
    return MappingSpecError(
        first.detail, file=first.file, line=first.line, key=first.key, others=ordered[1:]
    )
