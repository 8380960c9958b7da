"""Strict FHIRPath syntax: the parse every FHIRPath expression of the project goes through.

fhirpathpy's own parser recovers silently from syntax errors (``name.where(`` compiles), so an
expression is first parsed here with fhirpathpy's ANTLR grammar and an error listener that
raises, and must be consumed to its end. Used by the view runner (``views._fhirpath``) and by
the mapping format's expressions (``mapping.expressions``); each translates
``FhirPathSyntaxError`` into its own error with its own location.
"""

from __future__ import annotations

from typing import Any

from antlr4 import CommonTokenStream, InputStream, Token
from antlr4.error.ErrorListener import ErrorListener
from fhirpathpy.parser.generated.FHIRPathLexer import FHIRPathLexer
from fhirpathpy.parser.generated.FHIRPathParser import FHIRPathParser


class FhirPathSyntaxError(ValueError):
    """An expression that does not parse. The message ("FHIRPath syntax error column 7: ...")
    says where and only ever quotes the expression itself."""


class _RaisingListener(ErrorListener):  # type: ignore[misc]
    def syntaxError(  # noqa: N802 (ANTLR's name)
        self, recognizer: Any, offendingSymbol: Any, line: int, column: int, msg: str, e: Any
    ) -> None:
        raise FhirPathSyntaxError(f"FHIRPath syntax error column {column + 1}: {msg}")


def tokens(expression: str) -> list[Any]:
    """The default-channel tokens of ``expression``; raises ``FhirPathSyntaxError``."""
    try:
        lexer = FHIRPathLexer(InputStream(expression))
        lexer.removeErrorListeners()
        lexer.addErrorListener(_RaisingListener())
        stream = CommonTokenStream(lexer)
        parser = FHIRPathParser(stream)
        parser.removeErrorListeners()
        parser.addErrorListener(_RaisingListener())
        parser.expression()
        if stream.LT(1).type != Token.EOF:
            raise FhirPathSyntaxError(
                f"FHIRPath syntax error column {stream.LT(1).column + 1}: "
                f"unexpected '{stream.LT(1).text}'"
            )
        stream.fill()
    except FhirPathSyntaxError:
        raise
    except Exception as error:  # ANTLR's own lexer errors (an unknown character)
        raise FhirPathSyntaxError(f"FHIRPath syntax error: {type(error).__name__}") from None
    return [t for t in stream.tokens if t.channel == Token.DEFAULT_CHANNEL and t.type != Token.EOF]


def identifier_name(token: Any) -> str:
    """The name a token spells, without the backticks (or quotes) that delimit it."""
    text: str = token.text
    if text[:1] in ("`", "'") and text[-1:] == text[:1]:
        return text[1:-1]
    return text
