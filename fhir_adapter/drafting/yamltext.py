"""Render a small commented YAML tree as text, by hand.

A draft is read and edited by a person, so its comments carry the reasoning (why a value is
TODO, what the choices are). ruamel can keep comments, but attaching them through its API is
longer than writing the few shapes a mapping needs: block mappings, lists of block mappings,
inline ``{k: v}`` mappings and inline ``[a, b]`` lists. Every scalar goes through ``scalar``,
which quotes whatever YAML could read as something other than the same string.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

TODO = "TODO"

Scalar = str | int | bool


@dataclass(frozen=True)
class Flow:
    """An inline mapping, ``{column: X, required: false}``."""

    items: dict[str, Scalar | list[Scalar] | Flow]


@dataclass(frozen=True)
class Entry:
    """One ``key: value`` line (or block), its comment and comment lines above it.

    ``disabled`` writes the entry commented out: an optional key shown for the reader to
    turn on, which the file does not set.
    """

    key: str
    value: Value
    comment: str | None = None
    above: tuple[str, ...] = ()
    disabled: bool = False


@dataclass
class Block:
    """A block mapping: entries in the order they are written."""

    entries: list[Entry] = field(default_factory=list)

    def add(
        self,
        key: str,
        value: Value,
        comment: str | None = None,
        above: Sequence[str] = (),
        disabled: bool = False,
    ) -> None:
        self.entries.append(Entry(key, value, comment, tuple(above), disabled))


Value = Scalar | Flow | list[Scalar] | Block | list[Block]

# A plain scalar is safe when it starts with a letter or digit, holds no YAML indicator
# that could end or change it, and is not one of the words YAML 1.1 reads as a boolean/null.
_PLAIN = re.compile(r"^[A-Za-z][A-Za-z0-9_./ -]*[A-Za-z0-9_)./]$|^[A-Za-z]$")
_SPECIAL = {
    "y",
    "n",
    "yes",
    "no",
    "on",
    "off",
    "true",
    "false",
    "null",
    "~",
}


def scalar(value: Scalar) -> str:
    """The YAML text of one scalar: plain when it reads back as the same string, else quoted."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if _PLAIN.match(value) and value.lower() not in _SPECIAL and "  " not in value:
        return value
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a YAML double-quoted one


def _inline(value: Scalar | list[Scalar] | Flow) -> str:
    if isinstance(value, Flow):
        return "{" + ", ".join(f"{scalar(k)}: {_inline(v)}" for k, v in value.items.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    return scalar(value)


def _comment(text: str | None) -> str:
    return f"  # {text}" if text else ""


def _block_lines(block: Block, indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    for entry in block.entries:
        lines.extend(f"{pad}# {line}" if line else "" for line in entry.above)
        head = f"{scalar(entry.key)}:"
        value = entry.value
        if isinstance(value, Block):
            body = _block_lines(value, indent + 2)
            if not body:
                own = [f"{pad}{head} {{}}{_comment(entry.comment)}"]
            else:
                own = [f"{pad}{head}{_comment(entry.comment)}", *body]
        elif isinstance(value, list) and value and all(isinstance(v, Block) for v in value):
            own = [f"{pad}{head}{_comment(entry.comment)}"]
            for item in value:
                assert isinstance(item, Block)
                item_lines = _block_lines(item, indent + 4)
                own.extend(_as_list_item(item_lines, indent + 2))
        else:
            own = [f"{pad}{head} {_inline(value)}{_comment(entry.comment)}"]  # type: ignore[arg-type]
        if entry.disabled:
            own = [_disable(line, pad) for line in own]
        lines.extend(own)
    return lines


def _as_list_item(lines: list[str], indent: int) -> list[str]:
    """Turn the first non-comment line of an item's block into ``- key: value``."""
    out, marked = [], False
    for line in lines:
        if not marked and not line.lstrip().startswith("#") and line.strip():
            out.append(" " * indent + "- " + line[indent + 2 :])
            marked = True
        else:
            out.append(line)
    return out


def _disable(line: str, pad: str) -> str:
    return f"{pad}# {line[len(pad) :]}" if line.startswith(pad) else f"# {line}"


def render(block: Block, header: Sequence[str] = ()) -> str:
    """The whole document: ``header`` as comment lines, then the block at the left margin."""
    lines = [f"# {line}" if line else "#" for line in header]
    lines.extend(_block_lines(block, 0))
    return "\n".join(lines) + "\n"
