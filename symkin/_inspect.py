"""Inspecting kinematics: the tree as text, and closed forms people can read.

Readable forms use the textbook abbreviations ``c1 = cos(q1)``, ``s23 =
sin(q2 + q3)`` (angle sums appear where consecutive revolute axes are parallel:
the derivation builds those rotations from the sum, an exact identity), and
exact constants where a float is within 1e-12 of a simple one (π/2, √2/2, 1/3).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import sympy as sp
from sympy.printing.pycode import PythonCodePrinter

from ._derive import Kinematics
from ._errors import SymkinError
from ._describe import shown as _shown
from ._names import comment_text, joint_label

WHATS = ("pose", "position", "rotation", "jacobian")
FORMATS = ("pretty", "latex", "python")
_EXACT_TOLERANCE = 1e-12


@dataclass(frozen=True)
class Formula:
    """A readable closed form of one tip's pose, position, rotation or Jacobian.

    Attributes:
        tip, base, what: which quantity (``what`` is one of pose, position, rotation, jacobian).
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
        lines = [f"{_title(self)}", ""]
        if self.abbreviations:
            lines.append("where " + ", ".join(f"{sp.pretty(s)} = {sp.pretty(e)}" for s, e in self.abbreviations.items()))
            lines.append("")
        rows, cols = self.expression.shape
        for r in range(rows):
            for c in range(cols):
                entry = sp.pretty(self.expression[r, c], use_unicode=True, wrap_line=False)
                lines.append(f"[{r},{c}] = {entry}" if "\n" not in entry else f"[{r},{c}] =\n{entry}")
        return "\n".join(lines)

    def python(self) -> str:
        """Plain Python (``math`` only) computing the matrix as nested lists, constants at full precision."""
        printer = _PythonPrinter()
        names = ", ".join(sp.pycode(q) for q in _joint_symbols(self))
        lines = [f"# {comment_text(_title(self))}", "import math", "", f"def {self.what}({names}):"]
        lines += [f"    {s} = {printer.doprint(e)}" for s, e in self.abbreviations.items()]
        rows, cols = self.expression.shape
        lines.append("    return [")
        for r in range(rows):
            lines.append("        [" + ", ".join(printer.doprint(self.expression[r, c]) for c in range(cols)) + "],")
        lines.append("    ]")
        return "\n".join(lines) + "\n"

    def render(self, format: str) -> str:
        if format not in FORMATS:
            raise SymkinError(f"unknown format {format!r} (expected one of {', '.join(FORMATS)})")
        return {"pretty": self.pretty, "latex": self.latex, "python": self.python}[format]()


def formula(kinematics: Kinematics, tip: str, what: str = "pose") -> Formula:
    """The readable closed form of ``what`` for ``tip``."""
    if what not in WHATS:
        raise SymkinError(f"unknown quantity {what!r} (expected one of {', '.join(WHATS)})")
    if what == "jacobian":
        matrix = kinematics.jacobian(tip)
    else:
        pose = kinematics.pose(tip)
        matrix = {"pose": pose, "position": pose[:3, 3], "rotation": pose[:3, :3]}[what]
    exact = matrix.applyfunc(exact_constants)
    expression, abbreviations = abbreviate(exact, kinematics.q)
    return Formula(tip, kinematics.base, what, expression, abbreviations, kinematics.joint_names)


def abbreviate(matrix: sp.Matrix, q: tuple[sp.Symbol, ...]) -> tuple[sp.Matrix, dict[sp.Symbol, sp.Expr]]:
    """Replace ``cos(q2 + q3)`` by ``c23`` and ``sin(q1)`` by ``s1`` where the angle is a plain sum of joints.

    The abbreviations come back ordered like a textbook: single joints first, then sums, by joint.
    """
    position = {s: i for i, s in enumerate(q)}
    found: dict[sp.Expr, sp.Symbol] = {}
    for entry in matrix:
        for call in entry.atoms(sp.sin, sp.cos):
            label = joint_label(call.args[0], q, ",")
            if label is not None:
                found[call] = sp.Symbol(("c" if isinstance(call, sp.cos) else "s") + label, real=True)

    def textbook_order(call: sp.Expr) -> tuple:
        joints = sorted(position[t] for t in sp.Add.make_args(call.args[0]))
        return (len(joints), joints, isinstance(call, sp.sin))

    ordered = {found[call]: call for call in sorted(found, key=textbook_order)}
    return matrix.xreplace(found), ordered


def exact_constants(expr: sp.Expr) -> sp.Expr:
    """``expr`` with each float replaced by a simple exact number it is within 1e-12 of, if any."""
    return expr.xreplace({f: _exact_number(float(f)) for f in expr.atoms(sp.Float)})


def _exact_number(value: float) -> sp.Expr:
    candidates: list[sp.Expr] = []
    fraction = Fraction(value).limit_denominator(12)
    candidates.append(sp.Rational(fraction.numerator, fraction.denominator))
    turns = Fraction(value / math.pi).limit_denominator(12)
    candidates.append(sp.Rational(turns.numerator, turns.denominator) * sp.pi)
    for root in (2, 3):
        scaled = Fraction(value / math.sqrt(root)).limit_denominator(12)
        candidates.append(sp.Rational(scaled.numerator, scaled.denominator) * sp.sqrt(root))
    for candidate in candidates:
        if candidate != 0 and abs(float(candidate) - value) <= _EXACT_TOLERANCE * max(1.0, abs(value)):
            return candidate
    return sp.Float(value)


class _PythonPrinter(PythonCodePrinter):
    """Python source with floats printed so that they read back bit for bit."""

    def _print_Float(self, expr: sp.Float) -> str:
        return repr(float(expr))


def _joint_symbols(formula: Formula) -> list[sp.Symbol]:
    return [sp.Symbol(f"q{i + 1}", real=True) for i in range(len(formula.joint_names))]


def _title(formula: Formula) -> str:
    quantity = {"pose": "X", "position": "p", "rotation": "R", "jacobian": "J"}[formula.what]
    joints = ", ".join(f"q{i + 1}={_shown(n)}" for i, n in enumerate(formula.joint_names))
    return f"{quantity}_base_tip: {formula.what} of {_shown(formula.tip)} in {_shown(formula.base)}; {joints}"
