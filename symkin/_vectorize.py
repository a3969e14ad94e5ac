"""Turn derived kinematics into a column program: the straight-line program the generated code runs.

Small batches are dominated by the fixed cost of each tensor operation, not by arithmetic,
so the generated code works on whole columns: every rotation column, joint axis and origin
is one homogeneous 4-vector tensor, computed as a linear combination of earlier ones with
scalar coefficients (cosines, sines, constants), one tensor op per term. Constant vectors
(the base frame, fixed offsets) are folded at generation time. The program is the
:class:`~symkin._derive.VectorDefinition` list of the derivation with aliases resolved,
constants folded and the compound coefficients CSE'd.

Names: ``q1…qn``, ``s1, c23…`` as in :mod:`symkin._simplify`; ``R_<link>_0`` (rotation column 0),
``J_<link>_0`` (a joint frame's column), ``o_<link>`` (joint origin), ``p_<link>`` (moved origin or
tip origin), ``z_<link>`` (joint axis) for vectors; ``k0, k1…`` for compound coefficients.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import sympy as sp

from ._derive import JacobianTerm, Kinematics, VectorDefinition
from ._simplify import sanitize, trig_replacements, trigonometry, unique_name

Lanes = tuple[float, float, float, float]


@dataclass(frozen=True)
class Ref:
    """A vector by name, possibly negated (a negated alias costs nothing until it is output)."""

    name: str
    negated: bool = False


@dataclass(frozen=True)
class Combination:
    """``target = Σ coefficient · source`` over 4-vectors.

    Each coefficient is a number or a number times one scalar symbol (a joint, sine, cosine or
    compound coefficient); each source is a constant or an earlier combination, never negated
    (the sign is in the coefficient).
    """

    target: str
    terms: tuple[tuple[sp.Expr, str], ...]


@dataclass(frozen=True)
class TipJacobian:
    """How to assemble one tip's 6×n Jacobian.

    Columns ``[z × (p_tip − o); z]`` for each ``(z, o)`` in ``revolute``, then ``[z; 0]`` for each
    ``z`` in ``prismatic``, in that order; ``column_map`` (one row per q column, one entry per
    joint above) sums them into q's columns with the mimic multipliers, or is None when they
    already are q's columns in order.
    """

    tip_origin: Ref
    revolute: tuple[tuple[Ref, Ref], ...]
    prismatic: tuple[Ref, ...]
    column_map: tuple[tuple[float, ...], ...] | None


@dataclass(frozen=True)
class ColumnProgram:
    """A straight-line program over 4-vector columns computing the poses (and Jacobians).

    Attributes:
        robot_name, base, tips, joint_names, lower, upper, q: as in :class:`~symkin._derive.Kinematics`.
        angles, angle_names, sines, cosines: as in :class:`~symkin._simplify.Program`.
        scalars: ``(symbol, expr)`` compound coefficients, in q, the sines and cosines.
        constants: ``(name, lanes)`` constant vectors, used by name.
        combinations: the vector assignments, each using only constants and earlier targets.
        poses: per tip, its rotation columns 0, 1, 2 and its origin.
        jacobians: per tip, its Jacobian, when requested; else empty.
        names: the identifier of every scalar symbol.
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
    scalars: tuple[tuple[sp.Symbol, sp.Expr], ...]
    constants: tuple[tuple[str, Lanes], ...]
    combinations: tuple[Combination, ...]
    poses: tuple[tuple[Ref, Ref, Ref, Ref], ...]
    jacobians: tuple[TipJacobian, ...]
    names: dict[sp.Symbol, str]


def vectorize(kinematics: Kinematics, jacobian: bool = True) -> ColumnProgram:
    """The column program of the poses (and, if ``jacobian``, the Jacobians) of all tips.

    A vector that the outputs (poses and Jacobians) use negated more often than not is stored
    negated when that costs nothing: a negated output is a tensor op. Without ``jacobian`` the
    program is the full one with what only the Jacobians need removed: the poses are computed
    identically, bit for bit, and both programs share their constants and angles.
    """
    trial = _Vectorizer(kinematics, frozenset())
    preferred = trial.negated_outputs(trial.run())
    full = _Vectorizer(kinematics, preferred).run()
    return full if jacobian else poses_only(full)


def poses_only(program: ColumnProgram) -> ColumnProgram:
    """``program`` without its Jacobians and the combinations and scalars only they need."""
    targets = {step.target: step for step in program.combinations}
    needed: set[str] = set()
    stack = [ref.name for tip in program.poses for ref in tip]
    while stack:
        name = stack.pop()
        if name in targets and name not in needed:
            needed.add(name)
            stack.extend(source for _, source in targets[name].terms)
    combinations = tuple(step for step in program.combinations if step.target in needed)
    definitions = dict(program.scalars)
    used: set[sp.Symbol] = set()
    stack = [s for step in combinations for c, _ in step.terms for s in c.free_symbols]
    while stack:
        symbol = stack.pop()
        if symbol in definitions and symbol not in used:
            used.add(symbol)
            stack.extend(definitions[symbol].free_symbols)
    scalars = tuple((symbol, expr) for symbol, expr in program.scalars if symbol in used)
    return replace(program, combinations=combinations, scalars=scalars, jacobians=())


class _Vectorizer:
    def __init__(self, kinematics: Kinematics, prefer_negated: frozenset[int]) -> None:
        self.kinematics = kinematics
        self.prefer_negated = prefer_negated
        self.index_of: dict[str, int] = {}
        self.vectors = kinematics.vectors
        self.constant_value: dict[int, Lanes] = {}
        self.ref: dict[int, Ref] = {}
        self.constant_names: dict[Lanes, str] = {}
        self.constant_owner: dict[Lanes, VectorDefinition] = {}
        self.combinations: list[Combination] = []
        self.taken: set[str] = set()
        self.link_identifiers: dict[str, str] = {}
        self.trig: dict[sp.Expr, sp.Symbol] = {}
        self.compound: dict[sp.Expr, sp.Expr] = {}

    def run(self) -> ColumnProgram:
        kinematics = self.kinematics
        roots = [i for tip in kinematics.pose_vectors for i in tip]
        roots += [i for terms in kinematics.jacobian_terms for t in terms for i in (t.z, t.origin)]
        needed = self._needed(roots)
        coefficients = [c for i in needed for c, _ in self.vectors[i].terms]
        angles, angle_names, sines, cosines = trigonometry(coefficients, kinematics.q)
        self.trig = trig_replacements(angles, sines, cosines)
        scalars, self.compound = _coefficient_cse([c.xreplace(self.trig) for c in coefficients])
        names = {s: s.name for s in (*kinematics.q, *sines, *cosines)} | {s: s.name for s, _ in scalars}
        self.taken |= set(names.values())
        for index in needed:
            self._resolve(index)
        poses = tuple(tuple(self._output(i) for i in tip) for tip in kinematics.pose_vectors)
        jacobians = tuple(self._jacobian(p[3], terms) for p, terms in zip(poses, kinematics.jacobian_terms))
        return ColumnProgram(
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
            scalars=scalars,
            constants=tuple((name, lanes) for lanes, name in self.constant_names.items()),
            combinations=tuple(self.combinations),
            poses=poses,
            jacobians=jacobians,
            names=names,
        )

    def _needed(self, roots: list[int]) -> list[int]:
        """The vectors the roots depend on, in definition order (which is dependency order)."""
        reached: set[int] = set()
        stack = list(roots)
        while stack:
            index = stack.pop()
            if index not in reached:
                reached.add(index)
                stack.extend(source for _, source in self.vectors[index].terms)
        return sorted(reached)

    def _resolve(self, index: int) -> None:
        """Record vector ``index`` as a constant, an alias of another vector or a new combination."""
        vector = self.vectors[index]
        if vector.constant is not None:
            self._constant(index, tuple(float(v) for v in vector.constant))
            return
        # Terms on constant vectors are folded per scalar factor: Σ k_i·s·C_i = s·(Σ k_i·C_i).
        on_constants: dict[sp.Expr, list[tuple[sp.Expr, int]]] = {}
        terms: list[tuple[sp.Expr, str]] = []
        for coefficient, source in vector.terms:
            coefficient = self.compound.get(coefficient.xreplace(self.trig), coefficient.xreplace(self.trig))
            if source in self.constant_value:
                number, factor = coefficient.as_coeff_Mul()
                on_constants.setdefault(factor, []).append((number, source))
            else:
                ref = self.ref[source]
                terms.append((-coefficient if ref.negated else coefficient, ref.name))
        offset = self._fold(on_constants.pop(sp.Integer(1), []))
        for factor, parts in on_constants.items():
            if len(parts) == 1:
                number, source = parts[0]
                terms.append((number * factor, self._constant_name(self.constant_value[source], self.vectors[source])))
            elif any(lanes := self._fold(parts)):
                terms.append((factor, self._constant_name(lanes, vector, f"_{factor}")))
        if not terms:
            self._constant(index, offset)
            return
        if any(offset):
            terms.insert(0, (sp.Integer(1), self._constant_name(offset, vector, "_offset")))
        if len(terms) == 1 and terms[0][0] in (1, -1):
            self.ref[index] = Ref(terms[0][1], negated=terms[0][0] == -1)
            return
        signs = [c.as_coeff_Mul()[0] < 0 for c, _ in terms]
        negated = all(signs) or (index in self.prefer_negated and any(signs))
        if negated:
            # Store the negative: a use absorbs the sign in its coefficient, a negation is an op.
            # With a negative term left to start from, the negative is as cheap as the vector.
            terms = [(-c, source) for c, source in terms]
        name = self._vector_name(vector, prefix="neg_" if negated else "")
        self.combinations.append(Combination(name, tuple(terms)))
        self.ref[index] = Ref(name, negated)
        self.index_of[name] = index

    def negated_outputs(self, program: ColumnProgram) -> frozenset[int]:
        """The vectors that ``program``'s outputs use negated more often than as they are.

        Signs are taken relative to each vector's value, not to how this run stored it.
        """
        balance: dict[int, int] = {}
        outputs = [ref for tip in program.poses for ref in tip]
        outputs += [z for jacobian in program.jacobians for z, _ in jacobian.revolute]
        outputs += [z for jacobian in program.jacobians for z in jacobian.prismatic]
        for ref in outputs:
            if ref.name in self.index_of:
                index = self.index_of[ref.name]
                wants_negative = ref.negated != self.ref[index].negated
                balance[index] = balance.get(index, 0) + (1 if wants_negative else -1)
        return frozenset(index for index, b in balance.items() if b > 0)

    def _fold(self, parts: list[tuple[sp.Expr, int]]) -> Lanes:
        """``Σ number · constant vector``, evaluated."""
        lanes = [0.0] * 4
        for number, source in parts:
            for lane, value in enumerate(self.constant_value[source]):
                lanes[lane] += float(number) * value
        return tuple(lanes)

    def _output(self, index: int) -> Ref:
        if index in self.constant_value:
            return Ref(self._constant_name(self.constant_value[index], self.vectors[index]))
        return self.ref[index]

    def _jacobian(self, tip_origin: Ref, terms: tuple[JacobianTerm, ...]) -> TipJacobian:
        revolute = [t for t in terms if t.revolute]
        prismatic = [t for t in terms if not t.revolute]
        n = len(self.kinematics.q)
        ordered = revolute + prismatic
        column_map = [[0.0] * len(ordered) for _ in range(n)]
        for k, term in enumerate(ordered):
            column_map[term.column][k] += float(term.multiplier)
        identity = [[float(r == c) for c in range(n)] for r in range(n)]
        return TipJacobian(
            tip_origin=tip_origin,
            revolute=tuple((self._output(t.z), self._output(t.origin)) for t in revolute),
            prismatic=tuple(self._output(t.z) for t in prismatic),
            column_map=None if column_map == identity else tuple(tuple(row) for row in column_map),
        )

    def _constant(self, index: int, lanes: Lanes) -> None:
        self.constant_value[index] = lanes
        self.constant_owner.setdefault(lanes, self.vectors[index])

    def _constant_name(self, lanes: Lanes, vector: VectorDefinition, suffix: str = "") -> str:
        """The name of a constant vector: after the first vector with that value, else ``vector`` and ``suffix``."""
        if lanes not in self.constant_names:
            owner = self.constant_owner.get(lanes)
            self.constant_names[lanes] = self._vector_name(owner) if owner else self._vector_name(vector, suffix=suffix)
        return self.constant_names[lanes]

    def _vector_name(self, vector: VectorDefinition, prefix: str = "", suffix: str = "") -> str:
        link = vector.link
        if link not in self.link_identifiers:
            self.link_identifiers[link] = unique_name(sanitize(link), set(self.link_identifiers.values()))
        letter, column = vector.quantity[0], vector.quantity[1:]
        name = f"{prefix}{letter}_{self.link_identifiers[link]}" + (f"_{column}" if column else "") + suffix
        name = unique_name(name, self.taken)
        self.taken.add(name)
        return name


def _coefficient_cse(coefficients: list[sp.Expr]) -> tuple[tuple[tuple[sp.Symbol, sp.Expr], ...], dict[sp.Expr, sp.Expr]]:
    """Name every compound coefficient (anything but a number times one symbol) once.

    Returns the scalar assignments and a map from each compound coefficient to its
    replacement (a number times a new symbol).
    """
    compound = sorted({c for c in coefficients if not _is_simple(c)}, key=sp.default_sort_key)
    if not compound:
        return (), {}
    replacements, reduced = sp.cse(compound, symbols=sp.numbered_symbols("k", real=True))
    assignments = list(replacements)
    mapping: dict[sp.Expr, sp.Expr] = {}
    counter = len(assignments)
    for original, value in zip(compound, reduced):
        if not _is_simple(value):
            symbol = sp.Symbol(f"k{counter}", real=True)
            counter += 1
            assignments.append((symbol, value))
            value = symbol
        mapping[original] = value
    return tuple(assignments), mapping


def _is_simple(coefficient: sp.Expr) -> bool:
    """A number, or a number times a single symbol: a coefficient the emitter prints without an op of its own."""
    _, rest = coefficient.as_coeff_Mul()
    return rest == 1 or rest.is_Symbol
