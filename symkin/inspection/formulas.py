"""Closed forms people can read: a tip's pose, position, rotation or Jacobian, or the centre of
mass, written out
(:class:`Formula`) or through the frames along the way (:class:`~symkin.inspection.framed.
FramedFormula`), in the textbook abbreviations of :mod:`symkin.inspection.readable`."""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from symkin.compiler.column_program import Kinematics
from symkin.errors import SymkinError
from symkin.inspection.framed import FramedFormula, center_of_mass_points, framed
from symkin.inspection.readable import (
    WHATS,
    PythonPrinter,
    Readable,
    abbreviate,
    exact_constants,
    joint_symbols,
    one_line,
    title,
)
from symkin.names import comment_text


@dataclass(frozen=True)
class Formula(Readable):
    """A readable closed form of one tip's pose, position, rotation or Jacobian, or of the centre
    of mass.

    Attributes:
        tip, base, what: which quantity (``what`` is one of pose, position, rotation, jacobian,
            com).
        floating_base: whether the base is a free body; the formula is relative to it all the same.
        expression: the matrix in the abbreviations and ``q1 … qn``, constants exact where simple.
        abbreviations: ``{c23: cos(q2 + q3), …}`` in the order they are first used.
        joint_names: the joint behind each ``q``.
    """

    tip: str
    base: str
    what: str
    expression: sp.Matrix
    abbreviations: dict[sp.Symbol, sp.Expr]
    joint_names: tuple[str, ...]
    floating_base: bool = False

    def expanded(self) -> sp.Matrix:
        """The same matrix with every abbreviation written out: a function of q alone."""
        return self.expression.xreplace(self.abbreviations)

    def latex(self) -> str:
        """LaTeX: the matrix, then ``where`` and the abbreviations."""
        body = sp.latex(self.expression, mat_delim="[")
        where = ", ".join(f"{sp.latex(s)} = {sp.latex(e)}" for s, e in self.abbreviations.items())
        return body + (f"\\quad\\text{{where }} {where}" if where else "")

    def pretty(self) -> str:
        """Unicode text, one matrix entry per line, after the abbreviations."""
        lines = [f"{title(self)}", ""]
        if self.abbreviations:
            lines.append(
                "where "
                + ", ".join(
                    f"{sp.pretty(s)} = {sp.pretty(e)}" for s, e in self.abbreviations.items()
                )
            )
            lines.append("")
        rows, cols = self.expression.shape
        lines += [
            f"[{r},{c}] = {one_line(self.expression[r, c])}"
            for r in range(rows)
            for c in range(cols)
        ]
        return "\n".join(lines)

    def python(self) -> str:
        """Plain Python (``math`` only) computing the matrix as nested lists, constants at full
        precision."""
        printer = PythonPrinter()
        names = ", ".join(sp.pycode(q) for q in joint_symbols(self))
        lines = [f"# {comment_text(title(self))}", "import math", "", f"def {self.what}({names}):"]
        lines += [f"    {s} = {printer.doprint(e)}" for s, e in self.abbreviations.items()]
        rows, cols = self.expression.shape
        lines.append("    return [")
        for r in range(rows):
            lines.append(
                "        ["
                + ", ".join(printer.doprint(self.expression[r, c]) for c in range(cols))
                + "],"
            )
        lines.append("    ]")
        return "\n".join(lines) + "\n"


FORMS = ("auto", "expanded", "frames")
EXPANDED_UP_TO = 7
"""With ``form="auto"``, a tip with more moving joints than this between it and the base is shown
through intermediate frames: its expanded entries grow too long to read (tens of thousands of
characters for a humanoid's hand)."""
READABLE_ENTRY = 400
"""With ``form="auto"``, a written-out form with an entry longer than this many characters is shown
through intermediate frames instead (a humanoid's 7-joint arm: 2,500)."""


def formula(
    kinematics: Kinematics, tip: str, what: str = "pose", form: str = "auto"
) -> Formula | FramedFormula:
    """The readable form of ``what`` for ``tip``: expanded, or through named intermediate frames
    (``form="frames"``; ``"auto"`` chooses frames beyond :data:`EXPANDED_UP_TO` moving joints, or
    when an entry written out would be longer than :data:`READABLE_ENTRY` characters).
    ``what="com"`` is the centre of mass, the same for every tip: the kinematics must have been
    derived with :func:`~symkin.compiler.outputs.center_of_mass`."""
    if what not in WHATS:
        raise SymkinError(f"unknown quantity {what!r} (expected one of {', '.join(WHATS)})")
    if form not in FORMS:
        raise SymkinError(f"unknown form {form!r} (expected one of {', '.join(FORMS)})")
    located = center_of_mass_points(kinematics) if what == "com" else [kinematics.tip(tip)]
    longest = max(len(place.motions) for place in located)
    if form == "frames" or (form == "auto" and longest > EXPANDED_UP_TO):
        return framed(kinematics, tip, what)
    if what == "jacobian":
        matrix = kinematics.jacobian(tip)
    elif what == "com":
        total = sum(place.weight for place in located)
        matrix = sum(
            (
                exact_constants(sp.Float(place.weight / total))
                * sp.Matrix(kinematics.entries(place.columns[0]))
                for place in located
            ),
            sp.zeros(3, 1),
        )
    else:
        pose = kinematics.pose(tip)
        matrix = {"pose": pose, "position": pose[:3, 3], "rotation": pose[:3, :3]}[what]
    exact = matrix.applyfunc(exact_constants)
    expression, abbreviations = abbreviate(exact, kinematics.q)
    if form == "auto" and max(len(sp.sstr(entry)) for entry in expression) > READABLE_ENTRY:
        return framed(kinematics, tip, what)
    return Formula(
        tip,
        kinematics.base,
        what,
        expression,
        abbreviations,
        kinematics.joint_names,
        kinematics.signature.floating_base,
    )
