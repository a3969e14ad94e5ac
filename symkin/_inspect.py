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
from ._model import Quaternion, RobotModel, Rotation, Translation, quarter_turns
from ._names import comment_text, joint_label

WHATS = ("pose", "position", "rotation", "jacobian")
FORMATS = ("pretty", "latex", "python")
_EXACT_TOLERANCE = 1e-12


def describe(model: RobotModel) -> str:
    """The kinematic tree as text: every joint with its type, axis, limits and mimic; actuated joints; leaves."""
    moving = [j for j in model.joints if j.moves]
    actuated = model.actuated_joints(model.root, model.leaves) if model.leaves != (model.root,) else ()
    lines = [
        f"robot {_shown(model.name)}: {len(model.links)} links, {len(model.joints)} joints "
        f"({len(moving)} moving, {len(model.joints) - len(moving)} fixed), root {_shown(model.root)}"
        + (" (a free body: compiled modules take its pose in the world)" if model.floating else ""),
        "",
        "tree:",
        *_tree_lines(model),
        "",
        "joints:",
    ]
    for joint in model.joints:
        details = [joint.type]
        if joint.moves:
            details.append(f"axis {axis_text(joint.axis)}")
            if joint.type != "continuous" and (math.isfinite(joint.lower) or math.isfinite(joint.upper)):
                details.append(f"limits [{short_number(joint.lower)}, {short_number(joint.upper)}]")
        if joint.origin:
            details.append(f"origin {placement_text(joint.origin)}")
        if joint.mimic is not None and joint.moves:
            details.append(
                f"mimics {_shown(joint.mimic.joint)} (×{short_number(joint.mimic.multiplier)} + {short_number(joint.mimic.offset)})"
            )
        lines.append(f"  {_shown(joint.name)}: {_shown(joint.parent)} -> {_shown(joint.child)}, " + ", ".join(details))
    lines += [
        "",
        f"actuated joints (q order, base {_shown(model.root)} to every leaf): "
        + (", ".join(f"q{i + 1}={_shown(n)}" for i, n in enumerate(actuated)) or "none"),
        "leaf links: " + ", ".join(_shown(leaf) for leaf in model.leaves),
        f"DOF: {len(actuated)}",
    ]
    return "\n".join(lines)


def _tree_lines(model: RobotModel) -> list[str]:
    children: dict[str, list] = {}
    for joint in model.joints:
        children.setdefault(joint.parent, []).append(joint)
    lines = [_shown(model.root)]
    stack = [(joint, "", i == len(children.get(model.root, [])) - 1) for i, joint in enumerate(children.get(model.root, []))]
    stack.reverse()
    while stack:
        joint, indent, last = stack.pop()
        lines.append(f"{indent}{'└─' if last else '├─'} {_shown(joint.child)}  [{_shown(joint.name)}, {joint.type}]")
        below = children.get(joint.child, [])
        deeper = indent + ("   " if last else "│  ")
        stack.extend(reversed([(child, deeper, i == len(below) - 1) for i, child in enumerate(below)]))
    return lines


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


def _shown(name: str) -> str:
    """A name as text on one line: printable characters as they are, the rest escaped."""
    return comment_text(name)


def short_number(value: float) -> str:
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.6g}"


def axis_text(axis: tuple[float, float, float]) -> str:
    for name, unit in (("x", (1.0, 0.0, 0.0)), ("y", (0.0, 1.0, 0.0)), ("z", (0.0, 0.0, 1.0))):
        if axis == unit:
            return f"+{name}"
        if axis == tuple(-u for u in unit):
            return f"-{name}"
    return "(" + " ".join(short_number(a) for a in axis) + ")"


def placement_text(steps) -> str:
    parts = []
    for step in steps:
        if isinstance(step, Translation):
            parts.append("T(" + " ".join(short_number(v) for v in step.xyz) + ")")
        elif isinstance(step, Quaternion):
            parts.append("Q(" + " ".join(short_number(v) for v in step.wxyz) + ")")
        elif isinstance(step, Rotation):
            k = quarter_turns(step.angle)
            angle = sp.Rational(k, 2) * sp.pi if k is not None else _exact_number(step.angle)
            parts.append(f"R{step.axis}({angle})")
    return "·".join(parts)
