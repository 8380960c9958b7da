"""Load and validate a SQL-on-FHIR v2 ViewDefinition into typed, compiled objects.

Checks, each failing with a ``ViewDefinitionError`` that names the JSON path:
- the shape of every element (types, required elements, unknown keys: a misspelt
  ``foreach`` must not silently become "no forEach");
- ``resource`` is an R4 resource type; at most one of ``forEach``/``forEachOrNull``/``repeat``
  per select (invariant sql-expressions); names match ``^[A-Za-z][A-Za-z0-9_]*$`` (sql-name);
- column names are unique across the view and every ``unionAll`` branch produces the same
  column names in the same order (the spec's "ValidateColumns");
- every FHIRPath expression parses and names only defined ``%constants``.
Structure: https://sql-on-fhir.org/ig/StructureDefinition-ViewDefinition.html
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from fhir_adapter.views._errors import ViewDefinitionError
from fhir_adapter.views._fhirpath import BUILTIN_VARIABLES, FhirPath, resource_types

MAX_VIEW_BYTES = 1 << 20  # a view is a small hand-written file; refuse anything larger
_SQL_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_ALWAYS_ALLOWED = frozenset({"id", "extension", "modifierExtension"})
_SELECT_KEYS = frozenset({"column", "select", "unionAll", "forEach", "forEachOrNull", "repeat"})
_COLUMN_KEYS = frozenset({"name", "path", "description", "collection", "type", "tags"})
_CONSTANT_TYPES = (
    "Base64Binary",
    "Boolean",
    "Canonical",
    "Code",
    "Date",
    "DateTime",
    "Decimal",
    "Id",
    "Instant",
    "Integer",
    "Integer64",
    "Oid",
    "String",
    "PositiveInt",
    "Time",
    "UnsignedInt",
    "Uri",
    "Url",
    "Uuid",
)


@dataclass(frozen=True)
class Tag:
    name: str
    value: str


@dataclass(frozen=True)
class Column:
    """One output column: its name, FHIRPath, declared FHIR type and collection flag."""

    name: str
    path: FhirPath
    collection: bool
    type: str | None
    tags: tuple[Tag, ...]
    key: str  # JSON path in the view file, for errors

    def tag(self, name: str) -> str | None:
        return next((t.value for t in self.tags if t.name == name), None)


@dataclass(frozen=True)
class Select:
    """A selection structure; the view itself is the root one (its ``select`` as children)."""

    columns: tuple[Column, ...]
    selects: tuple[Select, ...]
    union_all: tuple[Select, ...]
    for_each: FhirPath | None
    for_each_or_null: FhirPath | None
    repeat: tuple[FhirPath, ...]
    key: str

    def output_columns(self) -> tuple[Column, ...]:
        """Columns in output order: own columns, nested selects, then the first union branch."""
        ordered = list(self.columns)
        for child in self.selects:
            ordered.extend(child.output_columns())
        if self.union_all:
            ordered.extend(self.union_all[0].output_columns())
        return tuple(ordered)


@dataclass(frozen=True)
class ViewDefinition:
    name: str | None
    resource: str
    constants: Mapping[str, Any]
    where: tuple[FhirPath, ...]
    root: Select
    columns: tuple[Column, ...]
    file: str

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def load_view(path: Path) -> ViewDefinition:
    """Read and validate a ViewDefinition JSON file."""
    file = str(path)
    try:
        if path.stat().st_size > MAX_VIEW_BYTES:
            raise ViewDefinitionError(f"larger than {MAX_VIEW_BYTES} bytes", file=file)
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ViewDefinitionError(
            f"cannot read the view ({type(error).__name__})", file=file
        ) from None
    try:
        data = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as error:
        raise ViewDefinitionError(
            f"not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})", file=file
        ) from None
    return parse_view(data, file=file)


def parse_view(data: Any, *, file: str = "<view>") -> ViewDefinition:
    """Validate a parsed ViewDefinition (a JSON object) and compile its FHIRPath."""
    return _Parser(file).view(data)


class _Parser:
    def __init__(self, file: str):
        self.file = file
        self.constants: dict[str, Any] = {}

    def fail(self, key: str | None, message: str) -> ViewDefinitionError:
        return ViewDefinitionError(message, file=self.file, key=key)

    def view(self, data: Any) -> ViewDefinition:
        if not isinstance(data, dict):
            raise self.fail(None, "a ViewDefinition must be a JSON object")
        if data.get("resourceType", "ViewDefinition") != "ViewDefinition":
            raise self.fail("resourceType", 'must be "ViewDefinition"')
        resource = data.get("resource")
        if not isinstance(resource, str) or not resource:
            raise self.fail(
                "resource", 'required: the FHIR resource type the view reads, e.g. "Observation"'
            )
        if resource not in resource_types():
            raise self.fail("resource", f"'{resource}' is not a FHIR R4 resource type")
        name = data.get("name")
        if name is not None and (not isinstance(name, str) or not _SQL_NAME.match(name)):
            raise self.fail("name", "must match ^[A-Za-z][A-Za-z0-9_]*$")
        self.constants = self.constant_values(data.get("constant", []))
        where = tuple(
            self.where(item, f"where[{i}]")
            for i, item in enumerate(self.array(data.get("where", []), "where"))
        )
        selects = self.array(data.get("select"), "select", required=True)
        root = Select(
            columns=(),
            union_all=(),
            for_each=None,
            for_each_or_null=None,
            repeat=(),
            key="",
            selects=tuple(self.select(s, f"select[{i}]") for i, s in enumerate(selects)),
        )
        columns = self.validate_columns(root, [])
        return ViewDefinition(
            name=name,
            resource=resource,
            constants=self.constants,
            where=where,
            root=root,
            columns=tuple(columns),
            file=self.file,
        )

    def array(self, value: Any, key: str, *, required: bool = False) -> list[Any]:
        if value is None and not required:
            return []
        if not isinstance(value, list) or (required and not value):
            raise self.fail(key, "must be a non-empty array" if required else "must be an array")
        return value

    def obj(self, value: Any, key: str, allowed: frozenset[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, "must be a JSON object")
        unknown = sorted(set(value) - allowed - _ALWAYS_ALLOWED)
        if unknown:
            raise self.fail(
                f"{key}.{unknown[0]}",
                f"unknown element (expected one of {', '.join(sorted(allowed))})",
            )
        return value

    def string(self, value: Any, key: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "required: a non-empty string")
        return value

    def path(self, value: Any, key: str) -> FhirPath:
        return FhirPath(
            self.string(value, key), file=self.file, key=key, constants=self.constants.keys()
        )

    def constant_values(self, items: Any) -> dict[str, Any]:
        constants: dict[str, Any] = {}
        value_keys = frozenset(f"value{t}" for t in _CONSTANT_TYPES)
        for i, item in enumerate(self.array(items, "constant")):
            key = f"constant[{i}]"
            item = self.obj(item, key, frozenset({"name"}) | value_keys)
            name = self.string(item.get("name"), f"{key}.name")
            if not _SQL_NAME.match(name):
                raise self.fail(f"{key}.name", "must match ^[A-Za-z][A-Za-z0-9_]*$")
            if name in constants or name in BUILTIN_VARIABLES:
                raise self.fail(f"{key}.name", f"'{name}' is defined twice or is reserved")
            values = [k for k in item if k in value_keys]
            if len(values) != 1:
                raise self.fail(
                    key,
                    "needs exactly one value[x] (valueString, valueCode, "
                    "valueInteger, valueBoolean, valueDate, ...)",
                )
            constants[name] = item[values[0]]
        return constants

    def where(self, item: Any, key: str) -> FhirPath:
        item = self.obj(item, key, frozenset({"path", "description"}))
        return self.path(item.get("path"), f"{key}.path")

    def select(self, item: Any, key: str) -> Select:
        item = self.obj(item, key, _SELECT_KEYS)
        iterations = [k for k in ("forEach", "forEachOrNull", "repeat") if k in item]
        if len(iterations) > 1:
            raise self.fail(
                key,
                f"has both {iterations[0]} and {iterations[1]}; "
                "a select may have only one of forEach, forEachOrNull, repeat",
            )
        repeat = self.array(item.get("repeat"), f"{key}.repeat", required="repeat" in item)
        return Select(
            columns=tuple(
                self.column(c, f"{key}.column[{i}]")
                for i, c in enumerate(self.array(item.get("column"), f"{key}.column"))
            ),
            selects=tuple(
                self.select(s, f"{key}.select[{i}]")
                for i, s in enumerate(self.array(item.get("select"), f"{key}.select"))
            ),
            union_all=tuple(
                self.select(s, f"{key}.unionAll[{i}]")
                for i, s in enumerate(self.array(item.get("unionAll"), f"{key}.unionAll"))
            ),
            for_each=self.path(item["forEach"], f"{key}.forEach") if "forEach" in item else None,
            for_each_or_null=(
                self.path(item["forEachOrNull"], f"{key}.forEachOrNull")
                if "forEachOrNull" in item
                else None
            ),
            repeat=tuple(self.path(p, f"{key}.repeat[{i}]") for i, p in enumerate(repeat)),
            key=key,
        )

    def column(self, item: Any, key: str) -> Column:
        item = self.obj(item, key, _COLUMN_KEYS)
        name = self.string(item.get("name"), f"{key}.name")
        if not _SQL_NAME.match(name):
            raise self.fail(
                f"{key}.name",
                "must match ^[A-Za-z][A-Za-z0-9_]*$ (usable as a column name in any database)",
            )
        collection = item.get("collection", False)
        if not isinstance(collection, bool):
            raise self.fail(f"{key}.collection", "must be true or false")
        kind = item.get("type")
        if kind is not None:
            kind = self.string(kind, f"{key}.type")
        tags = []
        for i, tag in enumerate(self.array(item.get("tags"), f"{key}.tags")):
            tag = self.obj(tag, f"{key}.tags[{i}]", frozenset({"name", "value"}))
            tags.append(
                Tag(
                    self.string(tag.get("name"), f"{key}.tags[{i}].name"),
                    self.string(tag.get("value"), f"{key}.tags[{i}].value"),
                )
            )
        return Column(
            name=name,
            path=self.path(item.get("path"), f"{key}.path"),
            collection=collection,
            type=kind,
            tags=tuple(tags),
            key=key,
        )

    def validate_columns(self, select: Select, before: list[Column]) -> list[Column]:
        """The spec's ValidateColumns: unique names, consistent unionAll branches."""
        seen = list(before)

        def add(column: Column) -> None:
            if any(c.name == column.name for c in seen):
                raise self.fail(f"{column.key}.name", f"column '{column.name}' is already defined")
            seen.append(column)

        for column in select.columns:
            add(column)
        for child in select.selects:
            for column in self.validate_columns(child, seen)[len(seen) :]:
                add(column)
        if select.union_all:
            first = self.validate_columns(select.union_all[0], seen)[len(seen) :]
            for branch in select.union_all[1:]:
                names = [c.name for c in self.validate_columns(branch, seen)[len(seen) :]]
                if names != [c.name for c in first]:
                    raise self.fail(
                        branch.key,
                        f"unionAll branches differ: ({', '.join(names)})"
                        f" vs ({', '.join(c.name for c in first)}); "
                        "every branch needs the same columns in order",
                    )
            for column in first:
                add(column)
        return seen
