"""The one boundary to fhirpathpy: compile, check and evaluate FHIRPath for the view runner.

What fhirpathpy does not do, done here without writing a FHIRPath engine:
- strict syntax: every expression is first parsed by ``fhir.fhirpath`` (shared with the
  mapping format's expressions), because fhirpathpy's parser recovers silently from errors;
- ``%name`` references are checked against the view's constants and the environment
  variables the runner provides, before any resource is read;
- the SQL-on-FHIR functions ``getResourceKey()`` and ``getReferenceKey([type])`` are given to
  fhirpathpy through its ``userInvocationTable`` option;
- ``join()`` gives '' for an empty input (the suite's reading; fhirpathpy gives nothing),
  and a top-level ``$this`` works (fhirpathpy sets it only inside function arguments);
- ``lowBoundary()`` / ``highBoundary()`` (not in fhirpathpy) are evaluated as the last step
  of a path: the input and its ``type()`` by fhirpathpy, the boundary by ``_boundary``.

fhirpathpy errors become ``ViewDefinitionError`` (at compile time, with the parser's message:
it only quotes the expression) or ``ViewEvaluationError`` (at run time, with the error type
only: a message could quote resource content).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Mapping, Sequence
from decimal import Decimal
from typing import Any

import fhirpathpy
from fhirpathpy.models import models

from fhir_adapter.fhir.fhirpath import FhirPathSyntaxError, identifier_name, tokens
from fhir_adapter.views._boundary import boundary
from fhir_adapter.views._errors import ViewDefinitionError, ViewEvaluationError

R4_MODEL: dict[str, Any] = models["r4"]

# Environment variables the runner (or fhirpathpy itself) defines for every expression.
BUILTIN_VARIABLES = frozenset(
    {"rowIndex", "resource", "rootResource", "context", "ucum", "sct", "loinc"}
)
_BOUNDARY_FUNCTIONS = {"lowBoundary": False, "highBoundary": True}
# Reference.reference forms we resolve: relative "Type/id", absolute ".../Type/id",
# either with "/_history/version". https://hl7.org/fhir/R4/references.html#literal
_REFERENCE = re.compile(
    r"(?:^|/)(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$"
)


@functools.cache
def resource_types() -> frozenset[str]:
    """The R4 resource type names, from fhirpathpy's R4 model."""
    parents: Mapping[str, str] = R4_MODEL["type2Parent"]

    def is_resource(name: str) -> bool:
        while name in parents:
            name = parents[name]
            if name == "Resource":
                return True
        return False

    return frozenset(name for name in parents if is_resource(name))


def _key_functions() -> dict[str, dict[str, Any]]:
    def resource_key(inputs: list[Any]) -> list[Any]:
        return [
            r["id"] for r in inputs if isinstance(r, dict) and "resourceType" in r and "id" in r
        ]

    def reference_key(inputs: list[Any], type_info: Any = None) -> list[Any]:
        wanted = getattr(type_info, "name", None)
        keys = []
        for reference in inputs:
            text = reference.get("reference") if isinstance(reference, dict) else None
            match = _REFERENCE.search(text) if isinstance(text, str) else None
            if match and (wanted is None or match["type"] == wanted):
                keys.append(match["id"])
        return keys

    def join(inputs: list[Any], separator: Any = "") -> list[str]:
        # The SQL-on-FHIR suite (fhirpath.json, "string join") wants '' for an empty input,
        # where fhirpathpy gives an empty collection.
        if isinstance(separator, list):
            separator = separator[0] if separator else ""
        if not all(isinstance(item, str) for item in inputs):
            raise TypeError("join() takes strings only")
        return [str(separator).join(inputs)]

    return {
        "join": {"fn": join, "arity": {0: [], 1: ["String"]}},
        "getResourceKey": {"fn": resource_key, "arity": {0: []}},
        "getReferenceKey": {"fn": reference_key, "arity": {0: [], 1: ["TypeSpecifier"]}},
    }


_OPTIONS: dict[str, Any] = {"userInvocationTable": _key_functions()}
_RAW_OPTIONS: dict[str, Any] = {**_OPTIONS, "returnRawData": True}


class FhirPath:
    """One compiled FHIRPath expression of a view, located by its JSON path in the view file."""

    def __init__(self, expression: str, *, file: str, key: str, constants: Collection[str]):
        self.expression = expression
        self.file = file
        self.key = key
        try:
            parsed = tokens(expression)
        except FhirPathSyntaxError as problem:
            raise ViewDefinitionError(str(problem), file=file, key=key) from None
        self._check_variables(parsed, constants)
        self._boundary = self._split_boundary(parsed)
        body = self._boundary[0] if self._boundary else expression
        if any(t.text == "$this" for t in parsed):
            # fhirpathpy defines $this only inside function arguments (where, select...); at
            # the top of an expression it fails. select() sets it to the focus, nothing else.
            body = f"select({body})"
        self._values = fhirpathpy.compile(body, R4_MODEL, _OPTIONS)
        self._nodes = fhirpathpy.compile(body, R4_MODEL, _RAW_OPTIONS)
        self._types = (
            fhirpathpy.compile(f"({body}).type()", R4_MODEL, _OPTIONS) if self._boundary else None
        )

    def __repr__(self) -> str:
        return f"FhirPath({self.expression!r})"

    def _check_variables(self, tokens: Sequence[Any], constants: Collection[str]) -> None:
        for before, token in zip(tokens, tokens[1:], strict=False):
            if before.text != "%":
                continue
            name = identifier_name(token)
            if name not in constants and name not in BUILTIN_VARIABLES:
                raise ViewDefinitionError(
                    f"%{name} is neither a constant of this view nor a known variable "
                    f'({", ".join(sorted(BUILTIN_VARIABLES))}); define it under "constant"',
                    file=self.file,
                    key=self.key,
                )

    def _split_boundary(self, tokens: Sequence[Any]) -> tuple[str, bool, int | None] | None:
        """(input expression, high?, precision) when the path ends in a boundary function."""
        calls = [
            i
            for i, t in enumerate(tokens[:-1])
            if t.text in _BOUNDARY_FUNCTIONS and tokens[i + 1].text == "("
        ]
        if not calls:
            return None
        at = calls[-1]
        tail = [t.text for t in tokens[at + 2 :]]
        precision: int | None = None
        terminal = len(calls) == 1 and (
            tail == [")"] or (len(tail) == 2 and tail[1] == ")" and tail[0].isdigit())
        )
        if terminal and len(tail) == 2:
            precision = int(tail[0])
        prefix = tokens[: at - 1] if at > 0 else []
        if terminal and at > 0 and tokens[at - 1].text != ".":
            terminal = False
        if not terminal or not _is_invocation_chain(prefix):
            raise ViewDefinitionError(
                "lowBoundary()/highBoundary() are supported as the last step of a path only "
                "(e.g. birthDate.lowBoundary() or value.ofType(Quantity).value.highBoundary(2))",
                file=self.file,
                key=self.key,
            )
        body = self.expression[: tokens[at - 1].start] if at > 0 else "$this"
        return body, _BOUNDARY_FUNCTIONS[tokens[at].text], precision

    def nodes(self, focus: Any, variables: Mapping[str, Any]) -> list[Any]:
        """The result as fhirpathpy nodes (keeping FHIR types), to be used as a new focus."""
        return self._run(self._nodes, focus, variables)

    def values(self, focus: Any, variables: Mapping[str, Any]) -> list[Any]:
        """The result as plain values: str, bool, int, Decimal, dict, list."""
        values = [_plain(v) for v in self._run(self._values, focus, variables)]
        if self._boundary is None or self._types is None:
            return values
        _, high, precision = self._boundary
        types = self._run(self._types, focus, variables)
        if len(types) != len(values):  # fhirpathpy could not type some item: no boundary
            return []
        results = []
        for value, kind in zip(values, types, strict=True):
            name = kind.get("name") if isinstance(kind, dict) else None
            result = boundary(value, str(name), high=high, precision=precision)
            if result is not None:
                results.append(result)
        return results

    def _run(self, compiled: Any, focus: Any, variables: Mapping[str, Any]) -> list[Any]:
        try:
            result = compiled(focus, dict(variables))
        except Exception as error:  # fhirpathpy raises bare Exceptions: translate them here
            raise ViewEvaluationError(
                f"FHIRPath evaluation failed ({type(error).__name__}) in '{self.expression}'",
                file=self.file,
                key=self.key,
            ) from None
        return list(result)


def _is_invocation_chain(tokens: Sequence[Any]) -> bool:
    """True when ``tokens`` hold no operator outside brackets (so '.' binds to the whole)."""
    depth = 0
    for token in tokens:
        text = token.text
        if text in ("(", "[", "{"):
            depth += 1
        elif text in (")", "]", "}"):
            depth -= 1
        elif depth == 0 and not _is_term_token(text):
            return False
    return True


_OPERATOR_WORDS = frozenset(
    {"and", "or", "xor", "implies", "is", "as", "in", "contains", "div", "mod"}
)


def _is_term_token(text: str) -> bool:
    if text in _OPERATOR_WORDS:
        return False
    return (
        text in (".", "%")
        or text.startswith(("$", "@", "'", "`"))
        or re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*|\d+(\.\d+)?", text) is not None
    )


def _plain(value: Any) -> Any:
    """A fhirpathpy result item as a plain value; FHIRPath literals (dates, quantities) as text."""
    if value is None or isinstance(value, str | bool | int | Decimal | dict | list):
        return value
    if isinstance(value, float):
        return Decimal(str(value))
    return str(value)
