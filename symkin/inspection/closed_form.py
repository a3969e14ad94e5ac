"""The closed form's arithmetic: the column program written out entry by entry, after one CSE.

This is the textbook measure of a kinematic model's cost (SymPyBotics and OpenSYMORO report it):
every pose entry and Jacobian entry of every tip as scalar expressions, common subexpressions
eliminated once over all of them. It is computed from the same column program the generated code
runs (:mod:`symkin.compiler.derive`), on demand, for ``symkin report`` and comparisons; the
generated code itself evaluates the columns as 4-lane vectors (its own counts are in its header).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sympy as sp

from symkin.compiler.column_program import Kinematics


@dataclass(frozen=True)
class OpCount:
    """Arithmetic per configuration. A subtraction counts as an addition, a division as
    a multiplication; negations and multiplications by ±1 are free."""

    mul: int
    add: int
    sin: int
    cos: int

    @property
    def arithmetic(self) -> int:
        """Multiplications plus additions."""
        return self.mul + self.add

    def __str__(self) -> str:
        return f"{self.mul} mul, {self.add} add, {self.sin} sin, {self.cos} cos"


@dataclass(frozen=True)
class ClosedForm:
    """The outputs as a straight-line scalar program after CSE.

    Attributes:
        assignments: ``(symbol, expression)`` pairs, each using only q, the sines and cosines of
            ``trig`` and earlier symbols.
        outputs: per tip the 16 pose entries (row-major), then, with Jacobians, per tip its 6·n
            entries.
        trig: ``(symbol, sin(angle) or cos(angle))`` for every sine and cosine the program uses.
        ops: the operation count per configuration.
    """

    assignments: tuple[tuple[sp.Symbol, sp.Expr], ...]
    outputs: tuple[sp.Expr, ...]
    trig: tuple[tuple[sp.Symbol, sp.Expr], ...]
    ops: OpCount

    def evaluate(self, q: dict[sp.Symbol, float]) -> list[float]:
        """The outputs at one configuration (``q``: each joint symbol's value), in float64: the
        program run as written, one assignment after the other."""
        values: dict[sp.Symbol, float] = dict(q)
        for symbol, call in self.trig:
            values[symbol] = float(call.xreplace(values))
        for symbol, expression in self.assignments:
            values[symbol] = float(expression.xreplace(values))
        return [float(output.xreplace(values)) for output in self.outputs]


def simplify(kinematics: Kinematics, jacobian: bool = True) -> ClosedForm:
    """CSE the poses (and, if ``jacobian``, the Jacobians) of all tips at once, entry by entry."""
    entries = _EntrySymbols(kinematics)
    outputs = entries.outputs(jacobian)
    definitions = entries.definitions_for(outputs)
    calls = sorted(
        {c for e in (*definitions.values(), *outputs) for c in e.atoms(sp.sin, sp.cos)},
        key=sp.default_sort_key,
    )
    trig = {
        call: sp.Symbol(f"_{type(call).__name__}{k}", real=True) for k, call in enumerate(calls)
    }
    expressions = [e.xreplace(trig) for e in (*definitions.values(), *outputs)]
    replacements, reduced = sp.cse(expressions, symbols=sp.numbered_symbols("_t", real=True))
    assignments = _in_dependency_order(
        [*replacements, *zip(definitions, reduced[: len(definitions)], strict=True)]
    )
    final = tuple(reduced[len(definitions) :])
    mul, add = _count([e for _, e in assignments] + list(final))
    angles = {call.args[0] for call in calls}
    angle_mul, angle_add = _count(a for a in angles if not a.is_Symbol)
    sin = sum(isinstance(c, sp.sin) for c in calls)
    cos = sum(isinstance(c, sp.cos) for c in calls)
    ops = OpCount(mul + angle_mul, add + angle_add, sin, cos)
    return ClosedForm(assignments, final, tuple((s, c) for c, s in trig.items()), ops)


def _in_dependency_order(
    assignments: list[tuple[sp.Symbol, sp.Expr]],
) -> tuple[tuple[sp.Symbol, sp.Expr], ...]:
    """The assignments ordered so that each comes after those it uses (the CSE's temporaries may
    use entries defined after them, and entries temporaries)."""
    defined = dict(assignments)
    ordered: list[tuple[sp.Symbol, sp.Expr]] = []
    done: set[sp.Symbol] = set()
    for symbol, _ in assignments:
        stack = [(symbol, False)]
        while stack:
            current, expanded = stack.pop()
            if current in done:
                continue
            if expanded:
                done.add(current)
                ordered.append((current, defined[current]))
                continue
            stack.append((current, True))
            uses = sorted(defined[current].free_symbols & defined.keys(), key=str, reverse=True)
            stack += [(used, False) for used in uses if used not in done]
    return tuple(ordered)


def unsimplified_ops(kinematics: Kinematics, jacobian: bool = True) -> OpCount:
    """The operation count of the outputs written out in closed form, without any shared
    subexpression."""
    closed = [kinematics.pose(tip) for tip in kinematics.tips]
    if jacobian:
        closed += [kinematics.jacobian(tip) for tip in kinematics.tips]
    entries = [e for matrix in closed for e in matrix]
    mul, add = _count_tree(entries)
    sin = sum(_count_tree_calls(e, sp.sin) for e in entries)
    cos = sum(_count_tree_calls(e, sp.cos) for e in entries)
    return OpCount(mul, add, sin, cos)


class _EntrySymbols:
    """Each vector's entries, a fresh symbol for every one that is not trivial to print.

    Fresh symbols keep expression size, and the CSE's time, linear in the number of joints: a
    14-joint chain as one expression tree takes minutes to CSE.
    """

    def __init__(self, kinematics: Kinematics) -> None:
        self.kinematics = kinematics
        self.definitions: dict[sp.Symbol, sp.Expr] = {}
        self.entries: list[tuple[sp.Expr, sp.Expr, sp.Expr]] = []
        for index, vector in enumerate(kinematics.vectors):
            if vector.constant is not None:
                x, y, z, _ = vector.constant
                self.entries.append((x, y, z))
                continue
            lanes = []
            for lane in range(3):
                expr = sp.Add(*(c * self.entries[s][lane] for c, s in vector.terms))
                if _is_trivial(expr):
                    lanes.append(expr)
                else:
                    symbol = sp.Symbol(f"_v{index}_{'xyz'[lane]}", real=True)
                    self.definitions[symbol] = expr
                    lanes.append(symbol)
            self.entries.append((lanes[0], lanes[1], lanes[2]))

    def outputs(self, jacobian: bool) -> list[sp.Expr]:
        """Every tip's pose entries, then (``jacobian``) every tip's Jacobian entries, by rows."""
        tips, entries = self.kinematics.tips, self.entries.__getitem__
        outputs = [e for tip in tips for e in self.kinematics.pose(tip, entries)]
        if jacobian:
            outputs += [e for tip in tips for e in self.kinematics.jacobian(tip, entries)]
        return outputs

    def definitions_for(self, outputs: list[sp.Expr]) -> dict[sp.Symbol, sp.Expr]:
        """The definitions the outputs depend on, in definition order."""
        reached: set[sp.Symbol] = set()
        stack = [s for o in outputs for s in o.free_symbols if s in self.definitions]
        while stack:
            symbol = stack.pop()
            if symbol not in reached:
                reached.add(symbol)
                stack.extend(
                    s for s in self.definitions[symbol].free_symbols if s in self.definitions
                )
        return {s: e for s, e in self.definitions.items() if s in reached}


def _is_trivial(expr: sp.Expr) -> bool:
    if expr.is_Atom or isinstance(expr, (sp.sin, sp.cos)):
        return True
    return expr.is_Mul and len(expr.args) == 2 and expr.args[0] == -1 and _is_trivial(expr.args[1])


def _expr_ops(expr: sp.Expr) -> tuple[int, int]:
    """(mul, add) at the top of ``expr``, as a straight-line program would compute it."""
    if expr.is_Add:
        return 0, len(expr.args) - 1
    if expr.is_Mul:
        factors = [a for a in expr.args if a not in (sp.Integer(1), sp.Integer(-1))]
        return max(len(factors) - 1, 0), 0
    if expr.is_Pow:
        exponent = expr.args[1]
        if exponent.is_Integer:
            return abs(int(exponent)) - 1 + (1 if exponent.is_negative else 0), 0
        return 1, 0
    return 0, 0


def _count(expressions: Iterable[sp.Expr]) -> tuple[int, int]:
    """Total (mul, add) of the expressions, each subtree counted where it appears."""
    mul = add = 0
    for expr in expressions:
        for node in sp.preorder_traversal(expr):
            m, a = _expr_ops(node)
            mul, add = mul + m, add + a
    return mul, add


def _count_tree(expressions: list[sp.Expr]) -> tuple[int, int]:
    """Like :func:`_count`, memoised on shared nodes so a huge closed form is counted quickly."""
    memo: dict[sp.Expr, tuple[int, int]] = {}

    def count(expr: sp.Expr) -> tuple[int, int]:
        if expr not in memo:
            mul, add = _expr_ops(expr)
            for arg in expr.args:
                m, a = count(arg)
                mul, add = mul + m, add + a
            memo[expr] = (mul, add)
        return memo[expr]

    totals = [count(e) for e in expressions]
    return sum(m for m, _ in totals), sum(a for _, a in totals)


def _count_tree_calls(expr: sp.Expr, function: type) -> int:
    memo: dict[sp.Expr, int] = {}

    def count(node: sp.Expr) -> int:
        if node not in memo:
            memo[node] = isinstance(node, function) + sum(count(a) for a in node.args)
        return memo[node]

    return count(expr)
