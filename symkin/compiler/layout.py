"""Generated code as a small tree, laid out in lines of at most :data:`LINE_WIDTH` characters.

Printers build :data:`Code` (calls, infix chains, list literals, plain text); templates lay it out
with :func:`layout`, :func:`unpack` and :func:`listing`, so that long expressions wrap the way a
formatter would wrap them. Numbers are printed so that they read back bit for bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import sympy as sp

LINE_WIDTH = 100
"""Longest line of generated code (a name from the input is cut to 40 characters to keep it so)."""


@dataclass(frozen=True)
class Call:
    """``function(arguments...)`` in generated code; an argument may be ``"name=value"``."""

    function: str
    arguments: tuple[Code, ...]


@dataclass(frozen=True)
class Infix:
    """``operands[0] operators[0] operands[1] …`` with operators such as ``" + "``."""

    operands: tuple[Code, ...]
    operators: tuple[str, ...]


@dataclass(frozen=True)
class ListLiteral:
    """``[items...]`` in generated code."""

    items: tuple[str, ...]


Code = str | Call | Infix | ListLiteral
"""Generated code as a small tree, so that long expressions can be wrapped."""


def one_line(code: Code) -> str:
    if isinstance(code, str):
        return code
    if isinstance(code, Call):
        return f"{code.function}({', '.join(one_line(a) for a in code.arguments)})"
    if isinstance(code, ListLiteral):
        return f"[{', '.join(code.items)}]"
    text = one_line(code.operands[0])
    for operator, operand in zip(code.operators, code.operands[1:], strict=True):
        text += operator + one_line(operand)
    return text


def layout(code: Code, indent: int, prefix: str = "", width: int = LINE_WIDTH) -> str:
    """``prefix + code`` at ``indent`` spaces, broken over lines (black style) where too long."""
    pad = " " * indent
    line = pad + prefix + one_line(code)
    if len(line) <= width or isinstance(code, str):
        return line
    if isinstance(code, ListLiteral):
        inner = " " * (indent + 4)
        items = pack(inner, list(code.items), ",", continuation=inner, width=width)
        return "\n".join([f"{pad}{prefix}[", items, f"{pad}]"])
    if isinstance(code, Call):
        together = " " * (indent + 4) + ", ".join(one_line(a) for a in code.arguments)
        if len(together) <= width:
            return "\n".join([f"{pad}{prefix}{code.function}(", together, f"{pad})"])
        arguments = [layout(a, indent + 4, width=width - 1) + "," for a in code.arguments]
        return "\n".join([f"{pad}{prefix}{code.function}(", *arguments, f"{pad})"])
    together = " " * (indent + 4) + one_line(code)
    if len(together) <= width:
        return "\n".join([f"{pad}{prefix}(", together, f"{pad})"])
    pieces = [layout(code.operands[0], indent + 4, width=width)]
    for operator, operand in zip(code.operators, code.operands[1:], strict=True):
        pieces.append(layout(operand, indent + 4, prefix=operator.strip() + " ", width=width))
    return "\n".join([f"{pad}{prefix}(", *pieces, f"{pad})"])


def unpack(names: list[str], value: Code, indent: int, width: int = LINE_WIDTH) -> str:
    """The statement ``names..., = value``, the names in parentheses when the line is too long."""
    pad = " " * indent
    line = f"{pad}{', '.join(names)}, = {one_line(value)}"
    if len(line) <= width:
        return line
    inner = listing(" " * (indent + 4), ", ".join(names), ",", width=width)
    return f"{pad}(\n{inner}\n" + layout(value, indent, prefix=") = ", width=width)


def listing(
    prefix: str,
    text: str,
    suffix: str = "",
    separator: str = ", ",
    continuation: str | None = None,
    width: int = LINE_WIDTH,
) -> str:
    """``prefix + text + suffix`` with ``text`` broken after each ``separator`` where a line would
    be too long. Continuation lines start with ``continuation``, by default four spaces deeper than
    ``prefix``; for a comment, pass ``"#   "`` (or the comment's indentation and that)."""
    return pack(prefix, text.split(separator), suffix, separator, continuation, width)


def pack(
    prefix: str,
    pieces: list[str],
    suffix: str = "",
    separator: str = ", ",
    continuation: str | None = None,
    width: int = LINE_WIDTH,
) -> str:
    """``prefix``, the ``pieces`` joined by ``separator`` and ``suffix``, broken between pieces
    where a line would be too long (continuation as for :func:`listing`)."""
    if continuation is None:
        continuation = " " * (len(prefix) - len(prefix.lstrip()) + 4)
    kept = separator.rstrip()
    lines, current = [], prefix + pieces[0]
    for k, piece in enumerate(pieces[1:], start=1):
        tail = len(suffix) if k == len(pieces) - 1 else len(kept)
        if len(current) + len(separator) + len(piece) + tail > width:
            lines.append(current + kept)
            current = continuation + piece
        else:
            current = f"{current}{separator}{piece}"
    lines.append(current + suffix)
    return "\n".join(lines)


def doc_entry(signature: str, text: str, column: int = 36, width: int = LINE_WIDTH) -> str:
    """A docstring line ``    signature   text``, the text starting at ``column`` (on the next line
    when the signature is longer) and wrapped there."""
    head = f"    {signature}"
    indent = " " * column
    words = _words(text)
    if len(head) + 2 > column:
        return head + "\n" + pack(indent, words, separator=" ", continuation=indent, width=width)
    return pack(head.ljust(column), words, separator=" ", continuation=indent, width=width)


def _words(text: str) -> list[str]:
    """``text`` split at its spaces, except those inside parentheses (a shape stays whole)."""
    words, depth, current = [], 0, ""
    for character in text:
        depth += {"(": 1, ")": -1}.get(character, 0)
        if character == " " and depth == 0:
            words.append(current)
            current = ""
        else:
            current += character
    return [*words, current]


def table_entry(name: str, values: list, indent: int = 4, width: int = LINE_WIDTH) -> str:
    """``"name": values,`` for a dict literal: on one line when it fits; a nested table one row
    per line otherwise (a row too long for a line wraps between its numbers, never mid-row into
    the next)."""
    pad = " " * indent
    line = f"{pad}{ascii(name)}: {literal(values)},"
    if len(line) <= width:
        return line
    if not values or not isinstance(values[0], list):
        return listing(f"{pad}{ascii(name)}: [", ", ".join(map(literal, values)), "],", width=width)
    rows = [
        listing(f"{pad}    [", ", ".join(map(literal, row)), "],", width=width) for row in values
    ]
    return "\n".join([f"{pad}{ascii(name)}: [", *rows, f"{pad}],"])


def literal(value: object) -> str:
    """A number, a bool or a nested list of them as Python source."""
    if isinstance(value, list | tuple):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    assert isinstance(value, float)
    return float_literal(value)


def slice_code(base: str, axis: int, start: int, stop: int, step: int = 1) -> str:
    """Rows ``start:stop:step`` (axis 0) or lanes (axis 1) of ``base``, as Python slicing: the same
    for torch, JAX and NumPy."""
    where = f"{start}:{stop}" + (f":{step}" if step != 1 else "")
    return f"{base}[{where}]" if axis == 0 else f"{base}[:, {where}]"


def number_literal(value: sp.Expr) -> str:
    """A SymPy number as Python source: an integer as such, else as :func:`float_literal`."""
    return str(int(value)) if value.is_Integer else float_literal(float(value))


def float_literal(value: float) -> str:
    """A float as Python source that reads back bit for bit (``float("inf")`` for infinities)."""
    if math.isinf(value):
        return 'float("inf")' if value > 0 else '-float("inf")'
    return repr(float(value) + 0.0)
