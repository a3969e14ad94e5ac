"""Statements of a program as plain array arithmetic in the namespace ``xp`` (``jax.numpy`` or
``numpy``): products and sums, which ``jax.jit`` fuses. One array operation per operator."""

from __future__ import annotations

import sympy as sp

from symkin.compiler.frame_printing import SlicingStatements
from symkin.compiler.layout import (
    Call,
    Code,
    Infix,
    ListLiteral,
    float_literal,
    number_literal,
    slice_code,
)
from symkin.compiler.program import AngleTable, Assignment, Ref, Split


class ArrayPrinter(SlicingStatements):
    def angles(self, table: AngleTable) -> tuple[Code, int]:
        if table.source == "map":
            rows, ops = "angle_map @ joints", 1
        elif table.source == "joints":
            rows, ops = "joints", 0
        else:
            rows, ops = slice_code("joints", 0, *table.source), 1
        return (f"{rows} + angle_offsets", ops + 1) if table.offsets else (rows, ops)

    def trig(self) -> tuple[Code, int]:
        return "xp.concatenate([xp.sin(angles), xp.cos(angles)])", 3

    def split(self, split: Split) -> tuple[Code, int]:
        cuts, total = [], 0
        for size in split.sizes[:-1]:
            total += size
            cuts.append(str(total))
        cut = Call("xp.split", (split.base, ListLiteral(tuple(cuts)), f"axis={split.axis}"))
        return cut, 1

    def concatenation(self, refs: tuple[Ref, ...]) -> tuple[Code, int]:
        if not refs:
            return "xp.zeros((4, 0, batch), dtype=joints.dtype)", 1
        pieces = [self._piece(ref) for ref in refs]
        items = ListLiteral(tuple(code for code, _ in pieces))
        return Call("xp.concatenate", (items, "axis=1")), 1 + sum(ops for _, ops in pieces)

    def _piece(self, ref: Ref) -> tuple[str, int]:
        if ref.constant:
            return f"xp.broadcast_to({ref.name}, (4, 1, batch))", 1
        return (f"-{ref.name}", 1) if ref.negated else (ref.name, 0)

    def combination(self, assignment: Assignment, names: dict[sp.Symbol, str]) -> tuple[Code, int]:
        """``Σ coefficient · source`` as a sum of products, positive terms first."""
        terms = sorted(assignment.terms, key=lambda term: bool(term[0].as_coeff_Mul()[0] < 0))
        operands: list[Code] = []
        operators: list[str] = []
        ops = 0
        for k, (coefficient, source) in enumerate(terms):
            number, symbol = coefficient.as_coeff_Mul()
            negative = bool(number < 0)
            factors = [source]
            if symbol != 1:
                factors.append(names[symbol])
            if abs(number) != 1:
                factors.append(number_literal(abs(number)))
            ops += len(factors) - 1
            product = "*".join(factors)
            if k == 0:
                operands.append(f"-{product}" if negative else product)
                ops += negative
            else:
                operands.append(product)
                operators.append(" - " if negative else " + ")
        ops += len(operators)
        return (Infix(tuple(operands), tuple(operators)) if operators else operands[0]), ops

    def scalar(self, expression: sp.Expr, names: dict[sp.Symbol, str]) -> tuple[Code, int]:
        printer = _ScalarPrinter(names)
        return printer.doprint(expression), int(expression.count_ops())


class _ScalarPrinter(sp.printing.str.StrPrinter):
    """Python arithmetic over named arrays; floats printed so that they read back bit for bit."""

    def __init__(self, names: dict[sp.Symbol, str]) -> None:
        super().__init__()
        self.names = names

    def _print_Symbol(self, expr: sp.Symbol) -> str:
        return self.names[expr]

    def _print_Float(self, expr: sp.Float) -> str:
        return float_literal(float(expr))
