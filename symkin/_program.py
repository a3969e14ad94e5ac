"""Lower the column program into the program a backend prints: named vectors, tables and outputs.

Nothing here knows a tensor library. The program is the derived column program
(:mod:`symkin._derive`) made ready to print:

- every vector the outputs need gets a name (``R_<link>_0`` rotation column 0, ``p_<link>``
  origin, ``axis_<joint>``, ``neg_…`` stored negated) and is assigned from earlier ones, in blocks,
  one block per joint crossed; what only the joint axes and origins need comes after what the
  poses need, so a pose-only evaluation stops early;
- the angles are one table (a view of q, plus offsets, or a constant map times q), with the
  textbook names of their sines and cosines (``s1``, ``c23``); compound coefficients (general
  axes, mimic joints) are named once (``k0, k1 …``);
- constant vectors are a table, used by name;
- the Jacobian and the closed-form backward are described by index tables: for every pair of a tip
  and a joint above it, the joint's axis, origin, q column and scale.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import sympy as sp

from ._derive import Kinematics, Signature, Vector
from ._names import joint_label, sanitize, unique_name

Lanes = tuple[float, float, float, float]


@dataclass(frozen=True)
class Ref:
    """A vector by name: an assigned vector (possibly stored negated) or a constant column."""

    name: str
    negated: bool = False
    constant: bool = False


@dataclass(frozen=True)
class Assignment:
    """``target = Σ coefficient · source`` over 4-vectors.

    Each coefficient is a number or a number times one scalar symbol (a joint, sine, cosine or
    compound coefficient); each source names a constant or an earlier assignment, never negated
    (the sign is in the coefficient).
    """

    target: str
    terms: tuple[tuple[sp.Expr, str], ...]


@dataclass(frozen=True)
class Block:
    """The assignments made while crossing one joint (``title`` says which), or at a tip."""

    title: str
    assignments: tuple[Assignment, ...]


@dataclass(frozen=True)
class AngleTable:
    """How the (rows, B) angle tensor is made from the (n, B) joint tensor.

    ``rows[r]`` is the angle in row r, None for a joint row that no angle needs (a view of the
    joints brings those along, cheaper than a gather). ``source`` is ``"joints"``, a slice
    ``(lo, hi)`` of the joint rows, or ``"map"`` (``matrix @ joints``); ``offsets`` (one per row)
    are added when any is nonzero.
    """

    rows: tuple[int | None, ...]
    source: str | tuple[int, int]
    offsets: tuple[float, ...] | None
    matrix: tuple[tuple[float, ...], ...] | None


@dataclass(frozen=True)
class MotionTables:
    """Index tables of the moving joints (M of them, in program order) and their pairs with tips.

    Attributes:
        joint_names: the moving joint of each motion.
        prismatic: per motion, whether it slides (else it turns).
        q_map: (M × n): motion m's rate per unit rate of q column i (mimic multiplier, −1 when
            crossed upward, −1 when its axis is stored negated).
        subtree: (M × T): 1 where the motion moves the tip.
        pairs: per (tip, motion) pair: ``(tip, motion, q column, scale)``, scale as in ``q_map``.
    """

    joint_names: tuple[str, ...]
    prismatic: tuple[bool, ...]
    q_map: tuple[tuple[float, ...], ...]
    subtree: tuple[tuple[float, ...], ...]
    pairs: tuple[tuple[int, int, int, float], ...]


@dataclass(frozen=True)
class Program:
    """The straight-line program a backend prints: poses of every tip, and joint axes and origins.

    Attributes:
        signature: robot, base, tips, joints and limits.
        joints: ``(column, name)`` of the q columns used directly as coefficients (prismatic joints).
        angles: the angle table, None when there is no angle.
        sines, cosines: per angle row, the name of its sine and cosine (``"_"`` for unused rows).
        angle_labels: per angle row, the angle as text, for a comment.
        scalars: ``(name, expression)`` compound coefficients, in joint, sine and cosine names.
        constants: ``(name, lanes)`` constant columns, in table order.
        pose_blocks: the assignments the poses need.
        motion_blocks: the assignments only the joint axes and origins need.
        pose_columns: per tip its rotation columns 0, 1, 2 and its origin, flattened.
        axes, origins: per motion, its axis and its origin.
        motions: the index tables of the Jacobian and the backward.
        symbol_names: the identifier of every scalar symbol (joints, sines, cosines, ``k…``).
    """

    signature: Signature
    joints: tuple[tuple[int, str], ...]
    angles: AngleTable | None
    sines: tuple[str, ...]
    cosines: tuple[str, ...]
    angle_labels: tuple[str, ...]
    scalars: tuple[tuple[str, sp.Expr], ...]
    constants: tuple[tuple[str, Lanes], ...]
    pose_blocks: tuple[Block, ...]
    motion_blocks: tuple[Block, ...]
    pose_columns: tuple[Ref, ...]
    axes: tuple[Ref, ...]
    origins: tuple[Ref, ...]
    motions: MotionTables
    symbol_names: dict[sp.Symbol, str]

    @property
    def assignments(self) -> tuple[Assignment, ...]:
        """Every assignment, pose part first."""
        return tuple(a for block in (*self.pose_blocks, *self.motion_blocks) for a in block.assignments)

    def lane_operations(self, motions: bool) -> int:
        """Multiplications and additions per configuration on the 4-lane columns of the frame program
        (with ``motions``, including what only the joint axes and origins need)."""
        blocks = (*self.pose_blocks, *self.motion_blocks) if motions else self.pose_blocks
        count = 0
        for assignment in (a for block in blocks for a in block.assignments):
            for k, (coefficient, _) in enumerate(assignment.terms):
                number, symbol = coefficient.as_coeff_Mul()
                count += (symbol != 1) + (number not in (1, -1)) + (k > 0)
        return 4 * count


def lower(kinematics: Kinematics) -> Program:
    """The program of ``kinematics``: every tip's pose, and every moving joint's axis and origin.

    A vector that the pose outputs use negated more often than not is stored negated when that
    costs nothing (a negated output is an operation of its own); a negated axis costs nothing at
    all, its sign goes into the motion tables.
    """
    trial = _Lowering(kinematics, frozenset())
    preferred = trial.negated_outputs(trial.run())
    return _Lowering(kinematics, preferred).run()


class _Lowering:
    def __init__(self, kinematics: Kinematics, prefer_negated: frozenset[int]) -> None:
        self.kinematics = kinematics
        self.vectors = kinematics.vectors
        self.prefer_negated = prefer_negated
        self.ref: dict[int, Ref] = {}
        self.constant_names: dict[Lanes, str] = {}
        self.taken: set[str] = set()
        self.frame_identifiers: dict[str, str] = {}
        self.trig: dict[sp.Expr, sp.Symbol] = {}
        self.compound: dict[sp.Expr, sp.Expr] = {}
        self.index_of: dict[str, int] = {}

    def run(self) -> Program:
        kinematics = self.kinematics
        pose_roots = [i for tip in kinematics.tip_frames for i in tip.columns]
        motion_roots = [i for m in kinematics.motions for i in (m.axis, m.origin)]
        pose_needed = self._needed(pose_roots)
        motion_needed = sorted(set(self._needed(motion_roots)) - set(pose_needed))
        needed = pose_needed + motion_needed
        coefficients = [c for i in needed for c, _ in self.vectors[i].terms]
        angles = _angles(coefficients, kinematics.q)
        labels = [_angle_label(a, kinematics.q, k) for k, a in enumerate(angles)]
        sines = [sp.Symbol(f"s{label}", real=True) for label in labels]
        cosines = [sp.Symbol(f"c{label}", real=True) for label in labels]
        self.trig = {sp.sin(a): s for a, s in zip(angles, sines)} | {sp.cos(a): c for a, c in zip(angles, cosines)}
        scalars, self.compound = _coefficient_cse([c.xreplace(self.trig) for c in coefficients])
        names = {s: s.name for s in (*kinematics.q, *sines, *cosines)} | {s: s.name for s, _ in scalars}
        self.taken |= set(names.values())
        pose_blocks = self._blocks(pose_needed)
        motion_blocks = self._blocks(motion_needed)
        pose_columns = tuple(self._output(i) for tip in kinematics.tip_frames for i in tip.columns)
        axes = tuple(self._output(m.axis) for m in kinematics.motions)
        origins = tuple(self._output(m.origin) for m in kinematics.motions)
        used = set().union(*(c.free_symbols for a in (*_assignments(pose_blocks), *_assignments(motion_blocks)) for c, _ in a.terms))
        used |= set().union(*(e.free_symbols for _, e in scalars))
        table = _angle_table(angles, kinematics.q)
        return Program(
            signature=kinematics.signature,
            joints=tuple((i, names[s]) for i, s in enumerate(kinematics.q) if s in used),
            angles=table,
            sines=tuple(names[sines[k]] if k is not None else "_" for k in (table.rows if table else ())),
            cosines=tuple(names[cosines[k]] if k is not None else "_" for k in (table.rows if table else ())),
            angle_labels=tuple(sp.sstr(angles[k]) if k is not None else "-" for k in (table.rows if table else ())),
            scalars=tuple((names[s], e) for s, e in scalars),
            constants=tuple((name, lanes) for lanes, name in self.constant_names.items()),
            pose_blocks=pose_blocks,
            motion_blocks=motion_blocks,
            pose_columns=tuple(Ref(r.name, r.negated, r.constant) for r in pose_columns),
            axes=tuple(Ref(r.name, False, r.constant) for r in axes),
            origins=origins,
            motions=self._motion_tables([r.negated for r in axes]),
            symbol_names=names,
        )

    def _needed(self, roots: Iterable[int]) -> list[int]:
        """The vectors the roots depend on, in definition order (which is dependency order)."""
        reached: set[int] = set()
        stack = list(roots)
        while stack:
            index = stack.pop()
            if index not in reached:
                reached.add(index)
                stack.extend(source for _, source in self.vectors[index].terms)
        return sorted(reached)

    def _blocks(self, indices: list[int]) -> tuple[Block, ...]:
        blocks: list[tuple[str, list[Assignment]]] = []
        for index in indices:
            assignment = self._resolve(index)
            if assignment is None:
                continue
            title = self._title(self.vectors[index])
            if not blocks or blocks[-1][0] != title:
                blocks.append((title, []))
            blocks[-1][1].append(assignment)
        return tuple(Block(title, tuple(assignments)) for title, assignments in blocks)

    def _title(self, vector: Vector) -> str:
        motion = next((m for m in self.kinematics.motions if m.joint == vector.joint), None)
        if motion is None:
            return f"{vector.frame}: tip frame" if vector.joint is None else f"{vector.joint}: fixed"
        kind = "revolute" if motion.revolute else "prismatic"
        if motion.upward:
            return f"{motion.joint} ({kind}, crossed upward): {motion.child} -> {motion.parent}"
        return f"{motion.joint} ({kind}): {motion.parent} -> {motion.child}"

    def _resolve(self, index: int) -> Assignment | None:
        """Record vector ``index`` as a constant, a (negated) alias, or a new assignment (returned)."""
        vector = self.vectors[index]
        if vector.constant is not None:
            self.ref[index] = Ref(self._constant_name(index), constant=True)
            return None
        terms: list[tuple[sp.Expr, str]] = []
        for coefficient, source in vector.terms:
            replaced = coefficient.xreplace(self.trig)
            replaced = self.compound.get(replaced, replaced)
            ref = self._output(source)
            terms.append((-replaced if ref.negated else replaced, ref.name))
        if len(terms) == 1 and terms[0][0] in (1, -1):
            self.ref[index] = Ref(terms[0][1], negated=terms[0][0] == -1, constant=self.ref_is_constant(terms[0][1]))
            return None
        signs = [c.as_coeff_Mul()[0] < 0 for c, _ in terms]
        negated = all(signs) or (index in self.prefer_negated and any(signs))
        if negated:
            # Store the negative: a use absorbs the sign in its coefficient, a negation is an op.
            # With a negative term left to start from, the negative is as cheap as the vector.
            terms = [(-c, source) for c, source in terms]
        name = self._vector_name(vector, prefix="neg_" if negated else "")
        self.ref[index] = Ref(name, negated)
        self.index_of[name] = index
        return Assignment(name, tuple(terms))

    def ref_is_constant(self, name: str) -> bool:
        return name in self.constant_names.values()

    def _output(self, index: int) -> Ref:
        if index not in self.ref:
            self._resolve(index)  # a constant
        return self.ref[index]

    def negated_outputs(self, program: Program) -> frozenset[int]:
        """The vectors that ``program``'s pose outputs use negated more often than as they are.

        Signs are taken relative to each vector's value, not to how this run stored it.
        """
        balance: dict[int, int] = {}
        for ref in program.pose_columns:
            if ref.name in self.index_of:
                index = self.index_of[ref.name]
                wants_negative = ref.negated != self.ref[index].negated
                balance[index] = balance.get(index, 0) + (1 if wants_negative else -1)
        return frozenset(index for index, b in balance.items() if b > 0)

    def _constant_name(self, index: int) -> str:
        vector = self.vectors[index]
        lanes: Lanes = tuple(float(v) for v in vector.constant)  # type: ignore[assignment, union-attr]
        if lanes not in self.constant_names:
            self.constant_names[lanes] = self._vector_name(vector)
        return self.constant_names[lanes]

    def _vector_name(self, vector: Vector, prefix: str = "") -> str:
        if vector.frame not in self.frame_identifiers:
            self.frame_identifiers[vector.frame] = unique_name(sanitize(vector.frame), set(self.frame_identifiers.values()))
        frame = self.frame_identifiers[vector.frame]
        quantity = vector.quantity
        if quantity == "offset":
            is_point = vector.constant is not None and vector.constant[3] == 1
            name = f"{'p' if is_point else 'u'}_{frame}_offset"
        elif quantity == "axis":
            name = f"axis_{frame}"
        elif quantity == "p":
            name = f"p_{frame}"
        else:
            name = f"R_{frame}_{quantity[1:]}"
        name = unique_name(prefix + name, self.taken)
        self.taken.add(name)
        return name

    def _motion_tables(self, axis_negated: list[bool]) -> MotionTables:
        kinematics = self.kinematics
        n, tips = len(kinematics.q), kinematics.tip_frames
        q_map = [[0.0] * n for _ in kinematics.motions]
        scales = []
        for m, motion in enumerate(kinematics.motions):
            scale = float(motion.scale) * (-1.0 if axis_negated[m] else 1.0)
            q_map[m][motion.column] += scale
            scales.append(scale)
        subtree = [[float(m in tip.motions) for tip in tips] for m in range(len(kinematics.motions))]
        pairs = tuple(
            (t, m, kinematics.motions[m].column, scales[m]) for t, tip in enumerate(tips) for m in tip.motions
        )
        return MotionTables(
            joint_names=tuple(m.joint for m in kinematics.motions),
            prismatic=tuple(not m.revolute for m in kinematics.motions),
            q_map=tuple(tuple(row) for row in q_map),
            subtree=tuple(tuple(row) for row in subtree),
            pairs=pairs,
        )


def _assignments(blocks: tuple[Block, ...]) -> list[Assignment]:
    return [a for block in blocks for a in block.assignments]


def _angles(coefficients: Iterable[sp.Expr], q: tuple[sp.Symbol, ...]) -> tuple[sp.Expr, ...]:
    """Every sine or cosine argument: the plain joints in q order, then the others as first met."""
    found: dict[sp.Expr, None] = {}
    for expr in coefficients:
        for call in sorted(expr.atoms(sp.sin, sp.cos), key=sp.default_sort_key):
            found.setdefault(call.args[0], None)
    plain = [s for s in q if s in found]
    return tuple(plain + [a for a in found if a not in plain])


def _angle_label(angle: sp.Expr, q: tuple[sp.Symbol, ...], position: int) -> str:
    """What follows ``s``/``c`` in the names of the angle's sine and cosine: ``23`` or ``_angle8``."""
    return joint_label(angle, q, "_") or f"_angle{position + 1}"


def _angle_table(angles: tuple[sp.Expr, ...], q: tuple[sp.Symbol, ...]) -> AngleTable | None:
    """One joint per angle: a view of the joints (rows no angle needs come along, cheaper than a
    gather), plus offsets if any angle has one. Other angles (q2 + q3, a mimic joint's multiple):
    one matrix product."""
    if not angles:
        return None
    n = len(q)
    index = {s: i for i, s in enumerate(q)}
    linear = []
    for angle in angles:
        terms = dict(angle.as_coefficients_dict())
        offset = float(terms.pop(sp.Integer(1), 0))
        linear.append(({index[s]: float(m) for s, m in terms.items()}, offset))
    single = [next(iter(c)) for c, _ in linear if list(c.values()) == [1.0]]
    if len(single) == len(linear) and len(set(single)) == len(single):
        row_of = {joint: k for k, joint in enumerate(single)}
        lo, hi = min(single), max(single)
        rows = tuple(row_of.get(i) for i in range(lo, hi + 1))
        offsets = tuple(linear[k][1] if k is not None else 0.0 for k in rows)
        source: str | tuple[int, int] = "joints" if (lo, hi) == (0, n - 1) else (lo, hi + 1)
        return AngleTable(rows, source, offsets if any(offsets) else None, None)
    matrix = tuple(tuple(c.get(i, 0.0) for i in range(n)) for c, _ in linear)
    offsets = tuple(offset for _, offset in linear)
    return AngleTable(tuple(range(len(linear))), "map", offsets if any(offsets) else None, matrix)


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
    """A number, or a number times a single symbol: a coefficient printed without an op of its own."""
    _, rest = coefficient.as_coeff_Mul()
    return rest == 1 or rest.is_Symbol
