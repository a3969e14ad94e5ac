"""A formula built as a textbook builds it: through the frames along the way, each frame's axes
and origin a combination of its parent's, the Jacobian from the joints' axes and origins."""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from symkin.compiler.column_program import Kinematics, Located
from symkin.compiler.outputs import WeightedPoints
from symkin.errors import SymkinError
from symkin.inspection.readable import (
    PythonPrinter,
    Readable,
    abbreviate,
    exact_constants,
    joint_symbols,
    latex_text,
    one_line,
    title,
)
from symkin.names import comment_text, sanitize, unique_name


class FrameVector(sp.Symbol):
    """A named 3-vector of a frame (``p_forearm_link``), printed by its whole name, no subscript."""

    @classmethod
    def class_key(cls):
        # After plain symbols, so that products read ``c1⋅x_base_link``: scalar first.
        return 3, 0, cls.__name__

    def _pretty(self, printer):
        from sympy.printing.pretty.stringpict import prettyForm

        return prettyForm(self.name)

    def _latex(self, printer) -> str:
        quantity, _, frame = self.name.partition("_")
        return f"\\mathbf{{{quantity}}}_{{\\mathrm{{{latex_text(frame)}}}}}"


class Cross(sp.Function):
    """``a × b`` for two vectors named by symbols, left unevaluated in a framed formula."""

    nargs = 2

    def _sympystr(self, printer) -> str:
        return f"{printer._print(self.args[0])} × ({printer._print(self.args[1])})"

    def _latex(self, printer) -> str:
        return (
            f"{printer._print(self.args[0])} \\times \\left({printer._print(self.args[1])}\\right)"
        )

    def _pretty(self, printer):
        from sympy.printing.pretty.stringpict import prettyForm

        return prettyForm(f"{printer._print(self.args[0])} × ({printer._print(self.args[1])})")


@dataclass(frozen=True)
class FramedFormula(Readable):
    """One tip's pose, position, rotation or Jacobian through named intermediate frames, for long
    chains.

    Every vector is a column of some frame, as a textbook writes it: ``x_F``, ``y_F``, ``z_F`` the
    axes of frame F (its rotation's columns), ``p_F`` its origin, ``a_J`` the axis of joint J,
    ``o_F`` a constant offset of F's origin. Each is a combination of earlier ones with coefficients
    in the abbreviations (``c1``, ``s23``).

    Attributes:
        tip, base, what, joint_names, abbreviations, floating_base: as in :class:`Formula`.
        constants: vectors with constant entries: ``{symbol: (x, y, z)}``.
        frames: ``(symbol, expression)`` definitions, each in earlier symbols, in order.
        result: the quantity in the symbols: pose and rotation their columns (then the origin for a
            pose), position the origin; a Jacobian per q column its rows [v; ω], with ``Cross``.
    """

    tip: str
    base: str
    what: str
    constants: dict[sp.Symbol, tuple[sp.Expr, sp.Expr, sp.Expr]]
    frames: tuple[tuple[sp.Symbol, sp.Expr], ...]
    result: tuple[sp.Expr, ...]
    abbreviations: dict[sp.Symbol, sp.Expr]
    joint_names: tuple[str, ...]
    floating_base: bool = False

    def expanded(self) -> sp.Matrix:
        """The same matrix as :meth:`Formula.expanded`: every frame and abbreviation written out."""
        values = {symbol: sp.Matrix(value) for symbol, value in self.constants.items()}
        for symbol, expression in self.frames:
            values[symbol] = _vector_value(expression, values)
        columns = [_vector_value(e, values) for e in self.result]
        if self.what == "jacobian":
            matrix = sp.Matrix.hstack(
                *(
                    sp.Matrix.vstack(columns[2 * k], columns[2 * k + 1])
                    for k in range(len(columns) // 2)
                )
            )
        else:
            matrix = sp.Matrix.hstack(*columns)
            if self.what == "pose":
                matrix = sp.Matrix.vstack(matrix, sp.Matrix([[0, 0, 0, 1]]))
        return matrix.xreplace(self.abbreviations)

    def vectors(self) -> frozenset[sp.Symbol]:
        """The symbols that name vectors (the rest are joints and abbreviations)."""
        return frozenset(self.constants) | frozenset(s for s, _ in self.frames)

    def _results(self) -> list[tuple[str, sp.Expr]]:
        """The quantity's lines: a label and the expression in the frames' symbols."""
        if self.what == "jacobian":
            columns = []
            for k in range(len(self.joint_names)):
                columns += [
                    (f"v[q{k + 1}]", self.result[2 * k]),
                    (f"ω[q{k + 1}]", self.result[2 * k + 1]),
                ]
            return columns
        labels = {
            "pose": ("x_tip", "y_tip", "z_tip", "p_tip"),
            "rotation": ("x_tip", "y_tip", "z_tip"),
            "position": ("p_tip",),
            "com": ("c",),
        }[self.what]
        return list(zip(labels, self.result, strict=True))

    def pretty(self) -> str:
        """Unicode text: abbreviations, constant vectors, then one frame per line, then the
        quantity."""
        lines = [f"{title(self)}; through intermediate frames", ""]
        if self.abbreviations:
            lines += [
                "where "
                + ", ".join(
                    f"{sp.pretty(s)} = {sp.pretty(e)}" for s, e in self.abbreviations.items()
                ),
                "",
            ]
        lines += [
            f"{s} = ({', '.join(sp.pretty(v, full_prec=False) for v in value)})"
            for s, value in self.constants.items()
        ]
        lines += [f"{s} = {one_line(e)}" for s, e in self.frames]
        lines.append("")
        lines += [f"{label} = {one_line(e)}" for label, e in self._results()]
        return "\n".join(lines)

    def latex(self) -> str:
        """LaTeX: an ``aligned`` block of the constants, the frames and the quantity, then
        ``where``."""
        rows = [
            f"{sp.latex(s)} &= \\left({', '.join(sp.latex(v) for v in value)}\\right)^T"
            for s, value in self.constants.items()
        ]
        rows += [f"{sp.latex(s)} &= {sp.latex(e)}" for s, e in self.frames]
        rows += [
            f"\\mathrm{{{latex_text(label)}}} &= {sp.latex(e)}" for label, e in self._results()
        ]
        where = ", ".join(f"{sp.latex(s)} = {sp.latex(e)}" for s, e in self.abbreviations.items())
        body = "\\begin{aligned}" + " \\\\ ".join(rows) + "\\end{aligned}"
        return body + (f"\\quad\\text{{where }} {where}" if where else "")

    def python(self) -> str:
        """Plain Python (``math`` only) computing the matrix as nested lists, vectors as tuples."""
        printer = PythonPrinter()
        names = ", ".join(sp.pycode(q) for q in joint_symbols(self))
        lines = [
            f"# {comment_text(title(self))}",
            "import math",
            "",
            "",
            "def _sum(*terms):  # Σ k·v over 3-vectors",
            "    return tuple(sum(k * v[i] for k, v in terms) for i in range(3))",
            "",
            "",
            "def _cross(a, b):",
            "    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] "
            "* b[0])",
            "",
            "",
            f"def {self.what}({names}):",
        ]
        lines += [f"    {s} = {printer.doprint(e)}" for s, e in self.abbreviations.items()]
        lines += [
            f"    {s} = ({', '.join(printer.doprint(v) for v in value)})"
            for s, value in self.constants.items()
        ]
        vectors = self.vectors()
        lines += [f"    {s} = {_python_vector(e, vectors, printer)}" for s, e in self.frames]
        results = [_python_vector(e, vectors, printer) for _, e in self._results()]
        lines += [f"    _r{k} = {text}" for k, text in enumerate(results)]
        if self.what == "jacobian":
            rows = [
                [f"_r{2 * k + r // 3}[{r % 3}]" for k in range(len(results) // 2)] for r in range(6)
            ]
        else:
            rows = [[f"_r{k}[{r}]" for k in range(len(results))] for r in range(3)]
            if self.what == "pose":
                rows.append(["0", "0", "0", "1"])
        lines.append("    return [")
        lines += ["        [" + ", ".join(row) + "]," for row in rows]
        lines.append("    ]")
        return "\n".join(lines) + "\n"


def center_of_mass_points(kinematics: Kinematics) -> tuple[Located, ...]:
    """The weighted points of the kinematics' centre of mass; SymkinError when it has none."""
    for output in kinematics.of_kind("weighted_points"):
        if isinstance(output.request, WeightedPoints) and output.request.name == "center_of_mass":
            return output.located
    raise SymkinError("no centre of mass in these kinematics: derive them with center_of_mass")


def framed(kinematics: Kinematics, tip: str, what: str) -> FramedFormula:
    """``what`` for ``tip`` (or the centre of mass) through the frames along the way."""
    points = center_of_mass_points(kinematics) if what == "com" else ()
    frame = points[0] if what == "com" else kinematics.tip(tip)
    motions = [kinematics.motions[m] for m in frame.motions]
    if what == "jacobian":
        roots = [frame.columns[3]] + [i for m in motions for i in (m.axis, m.origin)]
    elif what == "com":
        roots = [point.columns[0] for point in points]
    else:
        roots = {
            "pose": list(frame.columns),
            "position": [frame.columns[3]],
            "rotation": list(frame.columns[:3]),
        }[what]
    symbols: dict[int, sp.Symbol] = {}
    taken: set[str] = set()
    constants, definitions = {}, []
    for index in kinematics.dependencies(roots):
        vector = kinematics.vectors[index]
        prefix = {"R0": "x", "R1": "y", "R2": "z", "p": "p", "axis": "a"}.get(vector.quantity, "o")
        name = unique_name(f"{prefix}_{sanitize(vector.frame)}", taken)
        taken.add(name)
        symbols[index] = FrameVector(name)
        if vector.constant is not None:
            constants[symbols[index]] = tuple(
                exact_constants(sp.sympify(v)) for v in vector.constant[:3]
            )
        else:
            definitions.append(
                (
                    symbols[index],
                    sp.Add(*(exact_constants(c) * symbols[s] for c, s in vector.terms)),
                )
            )
    if what == "jacobian":
        p_tip = symbols[frame.columns[3]]
        linear = [sp.Integer(0)] * len(kinematics.q)
        angular = [sp.Integer(0)] * len(kinematics.q)
        for m in motions:
            axis, scale = symbols[m.axis], exact_constants(m.scale)
            if m.revolute:
                linear[m.column] += scale * Cross(axis, p_tip - symbols[m.origin])
                angular[m.column] += scale * axis
            else:
                linear[m.column] += scale * axis
        result = tuple(e for pair in zip(linear, angular, strict=True) for e in pair)
    elif what == "com":
        total = sum(point.weight for point in points)
        result = (
            sp.Add(
                *(
                    exact_constants(sp.Float(point.weight / total)) * symbols[point.columns[0]]
                    for point in points
                )
            ),
        )
    else:
        result = tuple(symbols[i] for i in roots)
    # Abbreviations over every coefficient at once: c1, s23 ...
    expressions = sp.Matrix([e for _, e in definitions] + list(result))
    abbreviated, abbreviations = abbreviate(expressions, kinematics.q)
    count = len(definitions)
    frames = tuple((s, abbreviated[k]) for k, (s, _) in enumerate(definitions))
    return FramedFormula(
        tip,
        kinematics.base,
        what,
        constants,
        frames,
        tuple(abbreviated[count:]),
        abbreviations,
        kinematics.joint_names,
        kinematics.signature.floating_base,
    )


def _vector_value(expression: sp.Expr, values: dict[sp.Symbol, sp.Matrix]) -> sp.Matrix:
    """A framed expression (a combination of vector symbols, or cross products of them) as a 3×1
    matrix."""
    if expression.is_Symbol:
        return values[expression]
    if isinstance(expression, Cross):
        return _vector_value(expression.args[0], values).cross(
            _vector_value(expression.args[1], values)
        )
    if expression.is_Add:
        return sum((_vector_value(term, values) for term in expression.args), sp.zeros(3, 1))
    if expression == 0:
        return sp.zeros(3, 1)
    coefficient, rest = sp.S.One, []
    for factor in sp.Mul.make_args(expression):
        if factor.is_Symbol and factor in values or isinstance(factor, Cross) or factor.is_Add:
            rest.append(factor)
        else:
            coefficient *= factor
    assert len(rest) == 1, expression
    return coefficient * _vector_value(rest[0], values)


def _python_vector(expression: sp.Expr, vectors: frozenset[sp.Symbol], printer) -> str:
    """A framed expression as Python over 3-tuples: ``_sum((k, v), ...)`` and ``_cross(a, b)``."""
    if expression == 0:
        return "(0.0, 0.0, 0.0)"
    if expression in vectors:
        return str(expression)
    if isinstance(expression, Cross):
        a, b = (_python_vector(arg, vectors, printer) for arg in expression.args)
        return f"_cross({a}, {b})"
    terms = []
    for term in sp.Add.make_args(expression):
        coefficient, vector = sp.S.One, None
        for factor in sp.Mul.make_args(term):
            if factor in vectors or isinstance(factor, Cross):
                vector = factor
            else:
                coefficient *= factor
        terms.append(
            f"({printer.doprint(coefficient)}, {_python_vector(vector, vectors, printer)})"
        )
    return f"_sum({', '.join(terms)})"
