"""Expressions of a program as PyTorch code: fused tensor operations, one per term.

At small batch every tensor operation costs a dispatch (1–2 µs on a CPU), whatever its size, so
a sum ``acc + k·x`` is printed ``torch.add(acc, x, alpha=k)`` (no scalar tensor to make) and
``acc + k·x·y`` as ``torch.addcmul(acc, x, y, value=k)``.
"""

from __future__ import annotations

import sympy as sp

from symkin.compiler.frame_printing import SlicingStatements
from symkin.compiler.layout import (
    Call,
    Code,
    Infix,
    ListLiteral,
    number_literal,
    one_line,
    slice_code,
)
from symkin.compiler.program import AngleTable, Assignment, Ref, Split


class TorchPrinter(SlicingStatements):
    def angles(self, table: AngleTable) -> tuple[Code, int]:
        if table.source == "map":
            if table.offsets:
                return "torch.addmm(angle_offsets, angle_map, joints)", 1
            return "angle_map @ joints", 1
        if table.source == "joints":
            rows, ops = "joints", 0
        else:
            rows, ops = slice_code("joints", 0, *table.source), 1
        return (f"{rows} + angle_offsets", ops + 1) if table.offsets else (rows, ops)

    def trig(self) -> tuple[Code, int]:
        return "torch.cat([torch.sin(angles), torch.cos(angles)])", 3

    def concatenation(self, refs: tuple[Ref, ...]) -> tuple[Code, int]:
        if not refs:
            return "joints.new_zeros(4, 0, batch)", 1
        pieces = [self._piece(ref) for ref in refs]
        items = ListLiteral(tuple(code for code, _ in pieces))
        return Call("torch.cat", (items, "1")), 1 + sum(ops for _, ops in pieces)

    def _piece(self, ref: Ref) -> tuple[str, int]:
        if ref.constant:
            return f"{ref.name}.expand(-1, -1, batch)", 1
        return (f"-{ref.name}", 1) if ref.negated else (ref.name, 0)

    def combination(self, assignment: Assignment, names: dict[sp.Symbol, str]) -> tuple[Code, int]:
        """``Σ coefficient · source``, starting from a free term (coefficient 1) if there is one."""
        terms = sorted(
            assignment.terms,
            key=lambda term: (bool(term[0] != 1), bool(term[0].as_coeff_Mul()[0] < 0)),
        )
        (coefficient, source), rest = terms[0], terms[1:]
        number, symbol = coefficient.as_coeff_Mul()
        code: Code = source
        ops = 0
        if symbol != 1:
            code, ops = Infix((source, names[symbol]), ("*",)), ops + 1
        if number == -1:
            code, ops = "-" + one_line(code), ops + 1
        elif number != 1:
            code, ops = Infix((code, number_literal(number)), ("*",)), ops + 1
        for coefficient, source in rest:
            number, symbol = coefficient.as_coeff_Mul()
            if symbol == 1 and number in (1, -1):
                code = Infix((code, source), (" + " if number == 1 else " - ",))
            elif symbol == 1:
                code = Call("torch.add", (code, source, f"alpha={number_literal(number)}"))
            else:
                value = () if number == 1 else (f"value={number_literal(number)}",)
                code = Call("torch.addcmul", (code, source, names[symbol], *value))
            ops += 1
        return code, ops

    def scalar(self, expression: sp.Expr, names: dict[sp.Symbol, str]) -> tuple[Code, int]:
        printer = _ScalarPrinter(names)
        return printer(expression), printer.ops

    def split(self, split: Split) -> tuple[Code, int]:
        sizes = ListLiteral(tuple(map(str, split.sizes)))
        return Call(f"{split.base}.split", (sizes, str(split.axis))), 1


class _ScalarPrinter:
    """A SymPy expression over scalar tensors (joints, sines, cosines, ``k…``), sums accumulated
    left to right with fused operations."""

    def __init__(self, names: dict[sp.Symbol, str]) -> None:
        self.names = names
        self.ops = 0

    def __call__(self, expr: sp.Expr) -> Code:
        if expr.is_Symbol:
            return self.names[expr]
        if expr.is_Number:
            return number_literal(expr)
        if expr.is_Add:
            return self._add(expr)
        if expr.is_Mul:
            return self._mul(expr)
        if expr.is_Pow:
            return self._pow(expr)
        raise TypeError(f"cannot print {type(expr).__name__} in generated code: {expr}")

    def _add(self, expr: sp.Add) -> Code:
        terms = sorted(expr.args, key=_accumulation_order)
        code = self(terms[0])
        for term in terms[1:]:
            coefficient, factors = _coefficient_and_factors(term)
            self.ops += 1
            if term.is_Number:
                code = Infix((code, number_literal(abs(term))), (" - " if term < 0 else " + ",))
            elif len(factors) == 1 and coefficient in (1, -1):
                code = Infix(
                    (code, self._factor(factors[0])), (" + " if coefficient == 1 else " - ",)
                )
            elif len(factors) == 1:
                code = Call(
                    "torch.add", (code, self(factors[0]), f"alpha={number_literal(coefficient)}")
                )
            elif len(factors) == 2:
                value = () if coefficient == 1 else (f"value={number_literal(coefficient)}",)
                code = Call("torch.addcmul", (code, self(factors[0]), self(factors[1]), *value))
            elif term.could_extract_minus_sign():
                code = Infix((code, self._factor(-term)), (" - ",))
            else:
                code = Infix((code, self._factor(term)), (" + ",))
        return code

    def _mul(self, expr: sp.Mul) -> Code:
        coefficient, factors = _coefficient_and_factors(expr)
        printed = [self._factor(f) for f in factors]
        self.ops += len(printed) - 1
        if coefficient == -1:
            self.ops += 1
            return "-" + "*".join(printed)
        if coefficient != 1:
            self.ops += 1
            printed.insert(0, number_literal(coefficient))
        return "*".join(printed)

    def _factor(self, expr: sp.Expr) -> str:
        text = one_line(self(expr))
        return f"({text})" if expr.is_Add or (expr.is_Number and expr < 0) else text

    def _pow(self, expr: sp.Pow) -> Code:
        base, exponent = expr.args
        if exponent.is_Integer and exponent > 0:
            self.ops += int(exponent) - 1
            return "*".join([self._factor(base)] * int(exponent))
        if exponent.is_Integer and exponent < 0:
            self.ops += 1
            return f"1/({self._factor(base**-exponent)})"
        raise TypeError(f"cannot print power {expr} in generated code")


def _coefficient_and_factors(term: sp.Expr) -> tuple[sp.Number, tuple[sp.Expr, ...]]:
    """``k*x*y`` as ``(k, (x, y))``, with any numeric coefficient (integer, rational or float) in
    ``k``."""
    coefficient, rest = term.as_coeff_Mul()
    return coefficient, sp.Mul.make_args(rest) if rest != 1 else ()


def _accumulation_order(term: sp.Expr) -> tuple[bool, bool, bool]:
    """Start a sum with a plain positive tensor term if there is one; constants go last."""
    coefficient, _ = _coefficient_and_factors(term)
    return (term.is_Number, coefficient not in (1, -1), term.could_extract_minus_sign())
