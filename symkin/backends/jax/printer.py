"""Expressions of a program as JAX code: plain array arithmetic, which ``jax.jit`` fuses."""

from __future__ import annotations

import sympy as sp

from symkin.compiler.emit import Call, Code, Infix, ListLiteral, float_literal, number_literal
from symkin.compiler.program import Assignment, Ref, Split


class JaxPrinter:
    def combination(self, assignment: Assignment, names: dict[sp.Symbol, str]) -> tuple[Code, int]:
        """``Σ coefficient · source`` as a sum of products, positive terms first."""
        terms = sorted(assignment.terms, key=lambda term: bool(term[0].as_coeff_Mul()[0] < 0))
        operands: list[Code] = []
        operators: list[str] = []
        for k, (coefficient, source) in enumerate(terms):
            number, symbol = coefficient.as_coeff_Mul()
            negative = number < 0
            factors = (
                [source]
                + ([names[symbol]] if symbol != 1 else [])
                + ([number_literal(abs(number))] if abs(number) != 1 else [])
            )
            product = "*".join(factors)
            if k == 0:
                operands.append(f"-{product}" if negative else product)
            else:
                operands.append(product)
                operators.append(" - " if negative else " + ")
        ops = sum(len(operand.split("*")) - 1 for operand in operands) + len(operators)  # type: ignore[union-attr]
        return (Infix(tuple(operands), tuple(operators)) if operators else operands[0]), ops

    def scalar(self, expression: sp.Expr, names: dict[sp.Symbol, str]) -> tuple[Code, int]:
        printer = _ScalarPrinter(names)
        return printer.doprint(expression), expression.count_ops()

    def output(self, ref: Ref) -> str:
        if ref.constant:
            return f"jnp.broadcast_to({ref.name}, (4, 1, batch))"
        return f"-{ref.name}" if ref.negated else ref.name

    def split(self, split: Split) -> Code:
        cuts, total = [], 0
        for size in split.sizes[:-1]:
            total += size
            cuts.append(str(total))
        return Call("jnp.split", (split.base, ListLiteral(tuple(cuts)), f"axis={split.axis}"))


class _ScalarPrinter(sp.printing.str.StrPrinter):
    """Python arithmetic over named arrays; floats printed so that they read back bit for bit."""

    def __init__(self, names: dict[sp.Symbol, str]) -> None:
        super().__init__()
        self.names = names

    def _print_Symbol(self, expr: sp.Symbol) -> str:
        return self.names[expr]

    def _print_Float(self, expr: sp.Float) -> str:
        return float_literal(float(expr))
