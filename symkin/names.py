"""Names shared by the stages that print things: identifiers, angle labels, safe comment text."""

from __future__ import annotations

import re
import unicodedata

import sympy as sp

IDENTIFIER_LENGTH = 40
"""Longest identifier fragment made from an input name, so generated lines stay short."""


def sanitize(name: str) -> str:
    """An ASCII identifier fragment for ``name``: accents dropped, other characters replaced by
    ``_``, at most :data:`IDENTIFIER_LENGTH` characters."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    fragment = re.sub(r"[^A-Za-z0-9]+", "_", ascii_name).strip("_")[:IDENTIFIER_LENGTH].rstrip("_")
    return fragment or "link"


def unique_name(name: str, taken: set[str]) -> str:
    """``name``, or ``name_2``, ``name_3`` … whichever is not in ``taken``."""
    candidate, suffix = name, 2
    while candidate in taken:
        candidate, suffix = f"{name}_{suffix}", suffix + 1
    return candidate


def joint_label(angle: sp.Expr, q: tuple[sp.Symbol, ...], separator: str) -> str | None:
    """``"23"`` for the angle q2 + q3, None for an angle that is not a plain sum of joints.

    With 10 or more joints the indices are separated (``"2_3"`` with ``separator="_"``), so that
    q2 + q3 and q23 never share a label.
    """
    index = {s: i + 1 for i, s in enumerate(q)}
    terms = sp.Add.make_args(angle)
    if not all(t in index for t in terms):
        return None
    return ("" if len(q) < 10 else separator).join(str(i) for i in sorted(index[t] for t in terms))


def comment_text(value: str) -> str:
    """``value`` made safe for a ``#`` comment: control characters and line breaks escaped."""
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in str(value))
