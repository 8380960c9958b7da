"""FHIRPath over one source row: the expressions a mapping file may write.

An expression sees the row as an object whose properties are the row's columns
(``Kind = 'INFUSION'``; a name with spaces in backticks: ```Dose unit```). Blank cells are
absent (so ``Date.exists()`` is false); every other cell is its text, an Excel date cell its
``YYYY-MM-DD`` text. Evaluation is fhirpathpy's sandbox: never Python ``eval``; an expression
can read the row and nothing else.

Every expression is parsed strictly (``fhir.fhirpath``) and compiled when the mapping is
loaded. Errors never quote a cell: fhirpathpy's own messages can, so only its error type is
kept.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import fhirpathpy
from fhirpathpy.engine.nodes import ResourceNode
from fhirpathpy.parser.generated.FHIRPathLexer import FHIRPathLexer

from fhir_adapter.fhir.fhirpath import FhirPathSyntaxError, identifier_name, tokens

_NAMES = (FHIRPathLexer.IDENTIFIER, FHIRPathLexer.DELIMITEDIDENTIFIER)
# Functions whose argument is a type name, not a column (``ofType(String)``).
_TYPE_ARGUMENTS = frozenset({"ofType", "is", "as"})


class ExpressionError(ValueError):
    """An expression that cannot be used; raised at load with a message for the file."""


class EvaluationError(Exception):
    """An expression that failed on a row; the message names the error type only."""


@dataclass(frozen=True)
class RowExpression:
    """One compiled expression and the columns it reads (checked against the header)."""

    text: str
    columns: tuple[str, ...]
    _run: Any

    def evaluate(self, values: Mapping[str, object], missing: Collection[str]) -> list[Any]:
        """Every value the expression gives on a row (``missing`` cell texts are blank)."""
        row = {}
        for name in self.columns:
            cell = as_fhirpath(values.get(name), missing)
            if cell is not None:
                row[name] = cell
        try:
            return list(self._run(ResourceNode.create_node(row), {}))
        except Exception as error:  # fhirpathpy raises bare Exceptions; they may quote cells
            raise EvaluationError(f"the expression failed ({type(error).__name__})") from None


@functools.lru_cache(maxsize=1024)
def compile_expression(text: str) -> RowExpression:
    """The compiled expression; raises ``ExpressionError`` (bad syntax, a ``%variable``)."""
    try:
        parsed = tokens(text)
    except FhirPathSyntaxError as error:
        raise ExpressionError(str(error)) from None
    if any(t.text == "%" for t in parsed):
        raise ExpressionError(
            "a row expression has no %variables: name the row's columns directly "
            "(a name with spaces in backticks: `Date of birth`)"
        )
    # With no model, fhirpathpy reads the row as plain JSON: no FHIR type is assumed.
    return RowExpression(text, _columns(parsed), fhirpathpy.compile(text, None, {}))


def _columns(parsed: list[Any]) -> tuple[str, ...]:
    """The names read from the row: identifiers that start a path and are no function,
    type name or keyword (``Kind = 'X' and Date.exists()`` reads Kind and Date)."""
    found: list[str] = []
    for index, token in enumerate(parsed):
        if token.type not in _NAMES:
            continue
        before = parsed[index - 1].text if index > 0 else None
        after = parsed[index + 1].text if index + 1 < len(parsed) else None
        call = parsed[index - 2].text if index > 1 else None
        if after == "(" or before in (".", "is", "as"):
            continue
        if before == "(" and call in _TYPE_ARGUMENTS:
            continue
        name = identifier_name(token)
        if name not in found:
            found.append(name)
    return tuple(found)


def as_fhirpath(cell: object, missing: Collection[str]) -> object | None:
    """A cell as the expression sees it; None when blank."""
    if cell is None:
        return None
    if isinstance(cell, str):
        text = cell.strip()
        return None if not text or text in missing else text
    if isinstance(cell, dt.datetime):
        return cell.date().isoformat()
    if isinstance(cell, dt.date):
        return cell.isoformat()
    if isinstance(cell, float):
        return Decimal(repr(cell))
    return cell


def single_value(results: list[Any]) -> object | None:
    """The one value a field takes from an expression's results, None for none.

    Text is returned as text (then read like a cell); numbers as int or Decimal; a boolean
    as 'true'/'false'; dates and times in their FHIRPath text. Raises ``EvaluationError``
    for several values or an element that is not a value.
    """
    if not results:
        return None
    if len(results) > 1:
        raise EvaluationError(f"the expression gave {len(results)} values; a field takes one")
    value = results[0]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict | list):
        raise EvaluationError("the expression gave an element, not a value")
    return str(value)  # FHIRPath dates, times and quantities: their literal text
