"""What readable forms of the kinematics share: formats, the textbook abbreviations
(``c1 = cos(q1)``, ``s23 = sin(q2 + q3)``), exact constants where a float is within 1e-12 of a
simple one (π/2, √2/2, 1/3), titles and printers."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from fractions import Fraction
from typing import Any

import sympy as sp
from sympy.printing.pycode import PythonCodePrinter

from symkin.errors import SymkinError
from symkin.inspection.describe import shown
from symkin.names import comment_text, joint_label

WHATS = ("pose", "position", "rotation", "jacobian", "com")
FORMATS = ("pretty", "latex", "python")
_EXACT_TOLERANCE = 1e-12


class Readable(ABC):
    """What both readable forms share: one text per format."""

    @abstractmethod
    def pretty(self) -> str: ...

    @abstractmethod
    def latex(self) -> str: ...

    @abstractmethod
    def python(self) -> str: ...

    def render(self, format: str) -> str:
        """The text in ``format``: one of pretty, latex, python. LaTeX starts with a comment line
        saying what it is and which q is which joint (pretty and python say it in their own
        first line)."""
        if format not in FORMATS:
            raise SymkinError(f"unknown format {format!r} (expected one of {', '.join(FORMATS)})")
        if format == "latex":
            return f"% {comment_text(title(self))}\n{self.latex()}\n"
        return {"pretty": self.pretty, "python": self.python}[format]()


def one_line(expr: sp.Expr) -> str:
    """An expression on one line: SymPy's Unicode form where it fits on one (c₁⋅s₂₃), its plain
    form where the Unicode one would stack fractions or powers over several lines."""
    text = sp.pretty(expr, use_unicode=True, wrap_line=False)
    return text if "\n" not in text else sp.sstr(expr)


def abbreviate(
    matrix: sp.Matrix, q: tuple[sp.Symbol, ...]
) -> tuple[sp.Matrix, dict[sp.Symbol, sp.Expr]]:
    """Replace ``cos(q2 + q3)`` by ``c23`` and ``sin(q1)`` by ``s1`` where the angle is a plain sum
    of joints.

    The abbreviations come back ordered like a textbook: single joints first, then sums, by joint.
    """
    position = {s: i for i, s in enumerate(q)}
    found: dict[sp.Expr, sp.Symbol] = {}
    for entry in matrix:
        for call in entry.atoms(sp.sin, sp.cos):
            label = joint_label(call.args[0], q, ",")
            if label is not None:
                found[call] = sp.Symbol(
                    ("c" if isinstance(call, sp.cos) else "s") + label, real=True
                )

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
        if candidate != 0 and abs(float(candidate) - value) <= _EXACT_TOLERANCE * max(
            1.0, abs(value)
        ):
            return candidate
    return sp.Float(value)


def latex_text(label: str) -> str:
    return label.replace("_", "\\_")


class PythonPrinter(PythonCodePrinter):
    """Python source with floats printed so that they read back bit for bit."""

    def _print_Float(self, expr: sp.Float) -> str:
        return repr(float(expr))


def joint_symbols(formula: Any) -> list[sp.Symbol]:
    return [sp.Symbol(f"q{i + 1}", real=True) for i in range(len(formula.joint_names))]


def title(formula: Any) -> str:
    """The first line of a readable form: what it is, of which tip in which base, and q."""
    joints = ", ".join(f"q{i + 1}={shown(n)}" for i, n in enumerate(formula.joint_names))
    if any(name.endswith(":qw") for name in formula.joint_names):
        joints += " (a ball joint's qw … qz: its quaternion, made unit before these formulas)"
    if formula.what == "com":
        free = " (a free body: in the world, c_world = X_world_base · c_base)"
        where = f"the centre of mass in {shown(formula.base)}, mass-weighted over the links"
        return f"c_base: {where}{free if formula.floating_base else ''}; {joints}"
    quantity = {"pose": "X", "position": "p", "rotation": "R", "jacobian": "J"}[formula.what]
    free = " (a free body: in the world, X_world_tip = X_world_base · X_base_tip)"
    where = f"{formula.what} of {shown(formula.tip)} in {shown(formula.base)}"
    return f"{quantity}_base_tip: {where}{free if formula.floating_base else ''}; {joints}"
