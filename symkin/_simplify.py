"""Turn derived kinematics into a straight-line program with one CSE over all outputs.

The program is the closed form's arithmetic, entry by entry: the sines and
cosines of the angles, then assignments, each a small expression in earlier
names, then the flat list of outputs. Its operation count is what symkin reports
and what the generated file's header records (the generated code evaluates the
same kinematics column by column, see :mod:`symkin._vectorize`). Names are Python identifiers
decided here: ``q1…qn`` for the joints, ``s1, c23…`` for the sines and
cosines of q1, q2 + q3 … (the textbook abbreviations; ``s_angle8`` for any other
angle, such as a mimic joint's), ``R_<link>_01``, ``p_<link>_x``, ``z_<link>_x`` … for
frame entries (the link name sanitised; ``neg_R_<link>_01`` holds the entry's
negative, signs being moved into the sums that use them), ``t0, t1…`` for CSE
temporaries.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Iterable

import sympy as sp

from ._derive import Kinematics


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
class Program:
    """A straight-line program computing kinematic outputs from the joint vector q.

    Attributes:
        robot_name, base, tips, joint_names, lower, upper: as in :class:`Kinematics`.
        q: the joint symbols; ``q[i]`` is the input ``q[..., i]``.
        angles: the arguments of every sine and cosine, linear in ``q``.
        angle_names: an identifier for each angle: ``q5``, ``q23`` (for q2 + q3; ``q2_3`` on robots
            with 10 or more joints), ``angle8`` for any other angle.
        sines, cosines: ``sines[k] = sin(angles[k])``, likewise cosines: ``s5``, ``c23``, ``s_angle8``.
        assignments: ``(symbol, expr)`` pairs, each using only q, the sines and
            cosines and earlier symbols.
        outputs: the outputs, flattened: per tip the 16 pose entries (row-major), then,
            if ``jacobian``, per tip the 6·n Jacobian entries (row-major).
        jacobian: whether the Jacobians are among the outputs.
        names: the identifier of every symbol above.
        ops: the program's operation count per configuration.
    """

    robot_name: str
    base: str
    tips: tuple[str, ...]
    joint_names: tuple[str, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    q: tuple[sp.Symbol, ...]
    angles: tuple[sp.Expr, ...]
    angle_names: tuple[str, ...]
    sines: tuple[sp.Symbol, ...]
    cosines: tuple[sp.Symbol, ...]
    assignments: tuple[tuple[sp.Symbol, sp.Expr], ...]
    outputs: tuple[sp.Expr, ...]
    jacobian: bool
    names: dict[sp.Symbol, str]
    ops: OpCount


def flat_outputs(kinematics: Kinematics, jacobian: bool) -> list[sp.Expr]:
    """The derived outputs in the flat order of :attr:`Program.outputs`."""
    outputs = [entry for pose in kinematics.poses for entry in pose]
    if jacobian:
        outputs += [entry for jac in kinematics.jacobians for entry in jac]
    return outputs


def simplify(kinematics: Kinematics, jacobian: bool = True) -> Program:
    """CSE the poses (and, if ``jacobian``, the Jacobians) of all tips at once."""
    definitions = {d.symbol: d for d in kinematics.definitions}
    outputs = flat_outputs(kinematics, jacobian)
    needed = _needed_definitions(outputs, definitions)
    angles, angle_names, sines, cosines = trigonometry([definitions[s].expr for s in needed] + outputs, kinematics.q)
    trig = trig_replacements(angles, sines, cosines)
    expressions = [definitions[s].expr.xreplace(trig) for s in needed] + [o.xreplace(trig) for o in outputs]

    temporaries = sp.numbered_symbols("_t", real=True)
    replacements, reduced = sp.cse(expressions, symbols=temporaries)
    defined = dict(replacements)
    aliases: dict[sp.Symbol, sp.Symbol] = {}
    for symbol, expr in zip(needed, reduced[: len(needed)]):
        if expr in defined and expr not in aliases:
            # The whole definition was factored out: give the temporary the definition's name.
            aliases[expr] = symbol
            defined[symbol] = defined.pop(expr)
        else:
            defined[symbol] = expr
    defined = {aliases.get(s, s): e.xreplace(aliases) for s, e in defined.items()}
    final_outputs = tuple(o.xreplace(aliases) for o in reduced[len(needed) :])

    order = _dependency_order(final_outputs, defined, priority=[*needed, *(s for s, _ in replacements)])
    assignments, final_outputs, negated = _propagate_signs([(symbol, defined[symbol]) for symbol in order], final_outputs)
    names = _names(kinematics, definitions, assignments, sines, cosines, negated)
    counted = [e for _, e in assignments] + list(final_outputs) + [a for a in angles if not a.is_Symbol]
    mul, add = _count(counted)
    return Program(
        robot_name=kinematics.robot_name,
        base=kinematics.base,
        tips=kinematics.tips,
        joint_names=kinematics.joint_names,
        lower=kinematics.lower,
        upper=kinematics.upper,
        q=kinematics.q,
        angles=angles,
        angle_names=angle_names,
        sines=sines,
        cosines=cosines,
        assignments=assignments,
        outputs=final_outputs,
        jacobian=jacobian,
        names=names,
        ops=OpCount(mul, add, sin=len(angles), cos=len(angles)),
    )


def unsimplified_ops(kinematics: Kinematics, jacobian: bool = True) -> OpCount:
    """The operation count of the outputs written out in closed form, without any shared subexpression."""
    closed = [kinematics.pose(tip) for tip in kinematics.tips]
    if jacobian:
        closed += [kinematics.jacobian(tip) for tip in kinematics.tips]
    entries = [e for matrix in closed for e in matrix]
    mul, add = _count_tree(entries)
    sin = sum(_count_tree_calls(e, sp.sin) for e in entries)
    cos = sum(_count_tree_calls(e, sp.cos) for e in entries)
    return OpCount(mul, add, sin, cos)


def _propagate_signs(
    assignments: list[tuple[sp.Symbol, sp.Expr]], outputs: tuple[sp.Expr, ...]
) -> tuple[tuple[tuple[sp.Symbol, sp.Expr], ...], tuple[sp.Expr, ...], set[sp.Symbol]]:
    """Store negated values positive and flip their uses: a sum absorbs a sign for free, a tensor
    negation is an op of its own. Returns the assignments, the outputs, and the symbols that now
    hold the negative of what they are named after."""
    flipped: dict[sp.Symbol, sp.Expr] = {}
    result = []
    for symbol, expr in assignments:
        expr = expr.xreplace(flipped)
        if _needs_negation(expr):
            expr = -expr
            flipped[symbol] = -symbol
        result.append((symbol, expr))
    return tuple(result), tuple(o.xreplace(flipped) for o in outputs), set(flipped)


def _needs_negation(expr: sp.Expr) -> bool:
    """Whether printing ``expr`` takes a tensor negation: a product with a negative coefficient,
    or a sum of only negative terms (a sum with a positive term starts from it and subtracts)."""
    if expr.is_Mul:
        return expr.as_coeff_Mul()[0] < 0
    if expr.is_Add:
        return all(_needs_negation(term) for term in expr.args if not term.is_Number) and not any(
            term.is_Number and term > 0 for term in expr.args
        )
    return False


def _needed_definitions(outputs: list[sp.Expr], definitions: dict[sp.Symbol, object]) -> list[sp.Symbol]:
    """The definitions the outputs depend on, in definition order."""
    needed = _reachable(outputs, {s: d.expr for s, d in definitions.items()})
    return [s for s in definitions if s in needed]


def _reachable(outputs, expression_of: dict[sp.Symbol, sp.Expr]) -> set[sp.Symbol]:
    """The symbols of ``expression_of`` that the outputs use, directly or through each other."""
    reached: set[sp.Symbol] = set()
    stack = [s for o in outputs for s in o.free_symbols if s in expression_of]
    while stack:
        symbol = stack.pop()
        if symbol not in reached:
            reached.add(symbol)
            stack.extend(s for s in expression_of[symbol].free_symbols if s in expression_of)
    return reached


def trigonometry(
    expressions: Iterable[sp.Expr], q: tuple[sp.Symbol, ...]
) -> tuple[tuple[sp.Expr, ...], tuple[str, ...], tuple[sp.Symbol, ...], tuple[sp.Symbol, ...]]:
    """The angles of the sines and cosines in ``expressions`` with their names (see :class:`Program`):
    ``(angles, angle_names, sines, cosines)``."""
    angles = _angles(expressions, q)
    labels = tuple(_angle_label(a, q, k) for k, a in enumerate(angles))
    sines = tuple(sp.Symbol(f"s{label}", real=True) for label in labels)
    cosines = tuple(sp.Symbol(f"c{label}", real=True) for label in labels)
    angle_names = tuple(f"q{label}" if label[0].isdigit() else label[1:] for label in labels)
    return angles, angle_names, sines, cosines


def trig_replacements(angles, sines, cosines) -> dict[sp.Expr, sp.Symbol]:
    """``sin(angle) → s…`` and ``cos(angle) → c…``, for ``xreplace``."""
    return {sp.sin(a): s for a, s in zip(angles, sines)} | {sp.cos(a): c for a, c in zip(angles, cosines)}


def _angles(expressions: Iterable[sp.Expr], q: tuple[sp.Symbol, ...]) -> tuple[sp.Expr, ...]:
    """Every sine or cosine argument: the plain joints in q order, then the others as first met."""
    found: dict[sp.Expr, None] = {}
    for expr in expressions:
        for call in sorted(expr.atoms(sp.sin, sp.cos), key=sp.default_sort_key):
            found.setdefault(call.args[0], None)
    plain = [s for s in q if s in found]
    return tuple(plain + [a for a in found if a not in plain])


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


def _angle_label(angle: sp.Expr, q: tuple[sp.Symbol, ...], position: int) -> str:
    """What follows ``s``/``c`` in the names of the angle's sine and cosine: ``23`` or ``_angle8``."""
    return joint_label(angle, q, "_") or f"_angle{position + 1}"


def _dependency_order(
    outputs: tuple[sp.Expr, ...], defined: dict[sp.Symbol, sp.Expr], priority: list[sp.Symbol]
) -> list[sp.Symbol]:
    """The assignments the outputs need in ``priority`` order, each moved after what it uses."""
    rank = {symbol: i for i, symbol in enumerate(priority)}
    order: list[sp.Symbol] = []
    placed: set[sp.Symbol] = set()

    def place(root: sp.Symbol) -> None:
        stack = [(root, False)]
        while stack:
            symbol, ready = stack.pop()
            if symbol in placed:
                continue
            if ready:
                placed.add(symbol)
                order.append(symbol)
                continue
            stack.append((symbol, True))
            uses = sorted((s for s in defined[symbol].free_symbols if s in defined), key=rank.__getitem__)
            stack.extend((s, False) for s in reversed(uses) if s not in placed)

    for symbol in sorted(_reachable(outputs, defined), key=rank.__getitem__):
        place(symbol)
    return order


def _names(
    kinematics: Kinematics,
    definitions: dict,
    assignments: tuple[tuple[sp.Symbol, sp.Expr], ...],
    sines: tuple[sp.Symbol, ...],
    cosines: tuple[sp.Symbol, ...],
    negated: set[sp.Symbol],
) -> dict[sp.Symbol, str]:
    names: dict[sp.Symbol, str] = {s: s.name for s in (*kinematics.q, *sines, *cosines)}
    link_identifiers: dict[str, str] = {}
    taken: set[str] = set(names.values())
    temporaries = 0
    for symbol, _ in assignments:
        definition = definitions.get(symbol)
        if definition is None:
            name = f"t{temporaries}"
            temporaries += 1
        else:
            if definition.link not in link_identifiers:
                link_identifiers[definition.link] = unique_name(sanitize(definition.link), set(link_identifiers.values()))
            letter, entry = definition.quantity[0], definition.quantity[1:]
            sign = "neg_" if symbol in negated else ""
            name = unique_name(f"{sign}{letter}_{link_identifiers[definition.link]}_{entry}", taken)
        taken.add(name)
        names[symbol] = name
    return names


def sanitize(name: str) -> str:
    """An ASCII identifier fragment for ``name``: accents dropped, other characters replaced by ``_``."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    fragment = re.sub(r"[^A-Za-z0-9]+", "_", ascii_name).strip("_")
    return fragment or "link"


def unique_name(name: str, taken: set[str]) -> str:
    candidate, suffix = name, 2
    while candidate in taken:
        candidate, suffix = f"{name}_{suffix}", suffix + 1
    return candidate


def _expr_ops(expr: sp.Expr) -> tuple[int, int]:
    """(mul, add) at the top of ``expr``, as the emitter prints it."""
    if expr.is_Add:
        return 0, len(expr.args) - 1
    if expr.is_Mul:
        factors = [a for a in expr.args if a not in (sp.Integer(1), sp.Integer(-1))]
        return max(len(factors) - 1, 0), 0
    if expr.is_Pow:
        exponent = expr.args[1]
        return (int(abs(exponent)) - 1 + (exponent < 0), 0) if exponent.is_Integer else (1, 0)
    return 0, 0


def _count(expressions: Iterable[sp.Expr]) -> tuple[int, int]:
    """Total (mul, add) of the expressions as printed, each subtree counted where it appears."""
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
