"""The lowering's first pass: every vector the outputs need gets a name and becomes an assignment.

Names say what a vector is: ``R_<link>_0`` rotation column 0, ``p_<link>`` origin,
``axis_<joint>``, ``mean_<link>`` a weighted point, ``neg_…`` stored negated. Sines and cosines
get their textbook names (``s1``, ``c23``); compound coefficients (general axes, mimic joints) are
named once (``k0, k1 …``); constant vectors go to a table.

Assignments are laid out in **parts**: the vectors the same calls need, so that a call (a pose
without its Jacobian, a centre of mass without the tips) computes only what it asks for. Within a
part, blocks follow the joints crossed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import sympy as sp

from symkin.compiler.column_program import Kinematics, Vector
from symkin.compiler.program import Assignment, Components, Ref
from symkin.compiler.tables import MOTIONS, Group, MotionTables, Roots
from symkin.names import joint_label, sanitize, unique_name

Blocks = list[tuple[str, list[Assignment]]]
"""Assignments under the title of the joint (or output) they belong to."""


@dataclass
class NamedPart:
    """Assignments that run for the same calls (see :class:`~symkin.compiler.program.Part`), and
    the concatenations of roots (with their groups and refs) made once they have run."""

    groups: tuple[str, ...]
    always: bool
    blocks: Blocks
    concatenations: list[tuple[Roots, str, tuple[Ref, ...]]]


@dataclass
class Named:
    """The result of naming: one lane per assignment, and what packing needs to know of scalars."""

    kinematics: Kinematics
    groups: tuple[Group, ...]
    parts: list[NamedPart]
    constants: dict[str, Components]
    scalars: tuple[tuple[sp.Symbol, sp.Expr], ...]
    trig: dict[sp.Symbol, tuple[str, sp.Expr]]  # s1 -> ("sin", q1)
    angle_labels: dict[sp.Expr, str]  # q2 + q3 -> "23", q7 - pi/4 -> "_angle7"
    motions: MotionTables
    index_of: dict[str, int] = field(default_factory=dict)

    def signed_refs(self) -> list[Ref]:
        """The refs whose negation costs an operation: every concatenation's but the joints' axes
        (whose signs go into the motion tables) and origins."""
        return [
            ref
            for part in self.parts
            for _, group, refs in part.concatenations
            if group != MOTIONS
            for ref in refs
        ]

    def negations(self) -> int:
        return sum(ref.negated for ref in self.signed_refs())


class Naming:
    """One naming of the column program, storing the vectors in ``prefer_negated`` negated where
    that costs nothing (see :func:`~symkin.compiler.lower.lower`)."""

    def __init__(
        self, kinematics: Kinematics, groups: tuple[Group, ...], prefer_negated: frozenset[int]
    ) -> None:
        self.kinematics = kinematics
        self.groups = groups
        self.vectors = kinematics.vectors
        self.prefer_negated = prefer_negated
        self.ref: dict[int, Ref] = {}
        self.constants: dict[Components, str] = {}
        self.taken: set[str] = set()
        self.frame_identifiers: dict[str, str] = {}
        self.trig: dict[sp.Expr, sp.Symbol] = {}
        self.compound: dict[sp.Expr, sp.Expr] = {}
        self.index_of: dict[str, int] = {}

    def run(self) -> Named:
        kinematics = self.kinematics
        needs = _needs(kinematics, self.groups)
        layout = _layout(needs, self.groups)
        if not layout:  # every output is fixed to the base: constants only
            layout = [(_all_calls(self.groups), [])]
        needed = [index for _, indices in layout for index in indices]
        coefficients = [c for i in needed for c, _ in self.vectors[i].terms]
        angles = _angles(coefficients, kinematics.q)
        labels = [_angle_label(a, kinematics.q, k) for k, a in enumerate(angles)]
        sines = [sp.Symbol(f"s{label}", real=True) for label in labels]
        cosines = [sp.Symbol(f"c{label}", real=True) for label in labels]
        self.trig = {sp.sin(a): s for a, s in zip(angles, sines, strict=True)}
        self.trig |= {sp.cos(a): c for a, c in zip(angles, cosines, strict=True)}
        scalars, self.compound = _coefficient_cse([c.xreplace(self.trig) for c in coefficients])
        self.taken |= {s.name for s in (*kinematics.q, *sines, *cosines)}
        self.taken |= {s.name for s, _ in scalars}
        calls = _all_calls(self.groups)
        parts = [self._part(runs == calls, indices, needs) for runs, indices in layout]
        self._place_concatenations(parts, layout)
        axes_negated = [self.ref[m.axis].negated for m in kinematics.motions]
        return Named(
            kinematics=kinematics,
            groups=self.groups,
            parts=parts,
            constants={name: components for components, name in self.constants.items()},
            scalars=scalars,
            trig={s: (type(call).__name__, call.args[0]) for call, s in self.trig.items()},
            angle_labels=dict(zip(angles, labels, strict=True)),
            motions=_motion_tables(kinematics, axes_negated),
            index_of=self.index_of,
        )

    def negated_outputs(self, named: Named) -> frozenset[int]:
        """The vectors that the outputs use negated more often than as they are.

        Signs are taken relative to each vector's value, not to how this run stored it.
        """
        balance: dict[int, int] = {}
        for ref in named.signed_refs():
            if ref.name in self.index_of:
                index = self.index_of[ref.name]
                wants_negative = ref.negated != self.ref[index].negated
                balance[index] = balance.get(index, 0) + (1 if wants_negative else -1)
        return frozenset(index for index, b in balance.items() if b > 0)

    def sources_of_negated_outputs(self, named: Named) -> list[int]:
        """The vectors (not constants) that negated outputs are made from."""
        found: dict[int, None] = {}
        for ref in named.signed_refs():
            if ref.negated and ref.name in self.index_of:
                for _, source in self.vectors[self.index_of[ref.name]].terms:
                    stored = self.ref[source].name  # through aliases, to the vector that is stored
                    if stored in self.index_of:
                        found.setdefault(self.index_of[stored], None)
        return list(found)

    def _part(self, always: bool, indices: list[int], needs: dict[int, set[str]]) -> NamedPart:
        """The assignments of the vectors ``indices``; they run when a call wants one of the groups
        that need them (or always)."""
        groups = {group for index in indices for group in needs[index]}
        blocks: Blocks = []
        for index in indices:
            assignment = self._resolve(index)
            if assignment is None:
                continue
            title = self._title(self.vectors[index])
            if not blocks or blocks[-1][0] != title:
                blocks.append((title, []))
            blocks[-1][1].append(assignment)
        ordered = tuple(g.name for g in self.groups if g.name in groups)
        return NamedPart(ordered, always, blocks, [])

    def _place_concatenations(self, parts: list[NamedPart], layout: Layout) -> None:
        """A group's concatenations together, after the part that makes the last of its columns."""
        part_of = {index: k for k, (_, indices) in enumerate(layout) for index in indices}
        # The axes first: the constant table is ordered by first use.
        for motion in self.kinematics.motions:
            self._output(motion.axis)
        for group in self.groups:
            vectors = [i for roots in group.roots for i in roots.vectors]
            last = max((part_of[i] for i in self.kinematics.dependencies(vectors)), default=0)
            for roots in group.roots:
                refs = tuple(self._output(i) for i in roots.vectors)
                if roots.name == "axes":  # an axis's sign goes into the motion tables
                    refs = tuple(Ref(r.name, False, r.constant) for r in refs)
                parts[last].concatenations.append((roots, group.name, refs))

    def _title(self, vector: Vector) -> str:
        motion = next((m for m in self.kinematics.motions if m.joint == vector.joint), None)
        if motion is None:
            if vector.joint is not None:
                return f"{vector.joint}: fixed"
            return f"{vector.frame}: {_WHAT.get(vector.quantity, 'tip frame')}"
        kind = "revolute" if motion.revolute else "prismatic"
        if motion.upward:
            return f"{motion.joint} ({kind}, crossed upward): {motion.child} -> {motion.parent}"
        return f"{motion.joint} ({kind}): {motion.parent} -> {motion.child}"

    def _resolve(self, index: int) -> Assignment | None:
        """Record vector ``index``: a constant, a (negated) alias, or a new assignment."""
        vector = self.vectors[index]
        if vector.constant is not None:
            x, y, z, w = (float(v) for v in vector.constant)
            components = (x, y, z, w)
            if components not in self.constants:
                self.constants[components] = self._vector_name(vector)
            self.ref[index] = Ref(self.constants[components], constant=True)
            return None
        terms: list[tuple[sp.Expr, str]] = []
        for coefficient, source in vector.terms:
            replaced = coefficient.xreplace(self.trig)
            replaced = self.compound.get(replaced, replaced)
            ref = self._output(source)
            terms.append((-replaced if ref.negated else replaced, ref.name))
        if len(terms) == 1 and terms[0][0] in (1, -1):
            source_ref = next(r for r in self.ref.values() if r.name == terms[0][1])
            negated = terms[0][0] == -1
            self.ref[index] = Ref(terms[0][1], negated=negated, constant=source_ref.constant)
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
        return Assignment(name, tuple(terms), (name,))

    def _output(self, index: int) -> Ref:
        if index not in self.ref:
            assert self.vectors[index].constant is not None, "a vector is used before it is defined"
            self._resolve(index)
        return self.ref[index]

    def _vector_name(self, vector: Vector, prefix: str = "") -> str:
        if vector.frame not in self.frame_identifiers:
            self.frame_identifiers[vector.frame] = unique_name(
                sanitize(vector.frame), set(self.frame_identifiers.values())
            )
        frame = self.frame_identifiers[vector.frame]
        quantity = vector.quantity
        if quantity == "offset":
            is_point = vector.constant is not None and vector.constant[3] == 1
            name = f"{'p' if is_point else 'u'}_{frame}_offset"
        elif quantity in ("axis", "mean", "com", "sphere"):
            name = f"{quantity}_{frame}"
        elif quantity.startswith("inertia"):
            name = f"inertia_{frame}_{quantity[7:]}"
        elif quantity in ("p", "point"):
            name = f"p_{frame}"
        else:
            name = f"R_{frame}_{quantity[1:]}"
        name = unique_name(prefix + name, self.taken)
        self.taken.add(name)
        return name


_WHAT = {
    "point": "point",
    "mean": "weighted point",
    "com": "centre of mass",
    "sphere": "collision sphere centre",
    **{f"inertia{k}": "scaled principal axes of inertia" for k in range(3)},
}
"""What a block of an output's vectors is called, by the vectors' quantity (default a tip frame)."""


def _all_calls(groups: tuple[Group, ...]) -> frozenset[tuple[str, ...]]:
    return frozenset(call for group in groups for call in group.calls)


Layout = list[tuple[frozenset[tuple[str, ...]], list[int]]]
"""The needed vectors in parts, each part with the calls it runs for."""


def _needs(kinematics: Kinematics, groups: tuple[Group, ...]) -> dict[int, set[str]]:
    """Per needed vector, the groups whose roots are made from it."""
    needs: dict[int, set[str]] = {}
    for group in groups:
        roots = [i for root in group.roots for i in root.vectors]
        for index in kinematics.dependencies(roots):
            needs.setdefault(index, set()).add(group.name)
    return needs


def _layout(needs: dict[int, set[str]], groups: tuple[Group, ...]) -> Layout:
    """The needed vectors in parts, in an order that respects dependencies: a vector runs for every
    call that runs what is made from it, so ordering parts by how many calls they run for (most
    first) puts every vector after what it is made from."""
    calls = _all_calls(groups)
    runs = {
        index: frozenset(call for call in calls if set(call) & wanted)
        for index, wanted in needs.items()
    }
    order = sorted(runs, key=lambda i: (-len(runs[i]), sorted(runs[i]), i))
    layout: Layout = []
    for index in order:
        if not layout or layout[-1][0] != runs[index]:
            layout.append((runs[index], []))
        layout[-1][1].append(index)
    return layout


def _motion_tables(kinematics: Kinematics, axes_negated: list[bool]) -> MotionTables:
    motions = kinematics.motions
    return MotionTables(
        joint_names=tuple(m.joint for m in motions),
        prismatic=tuple(not m.revolute for m in motions),
        columns=tuple(m.column for m in motions),
        scales=tuple(
            float(m.scale) * (-1.0 if negated else 1.0)
            for m, negated in zip(motions, axes_negated, strict=True)
        ),
    )


def _angles(coefficients: Iterable[sp.Expr], q: tuple[sp.Symbol, ...]) -> tuple[sp.Expr, ...]:
    """Every sine or cosine argument: the plain joints in q order, then the others as first met."""
    found: dict[sp.Expr, None] = {}
    for expr in coefficients:
        for call in sorted(expr.atoms(sp.sin, sp.cos), key=sp.default_sort_key):
            found.setdefault(call.args[0], None)
    plain = [s for s in q if s in found]
    return tuple(plain + [a for a in found if a not in plain])


def _angle_label(angle: sp.Expr, q: tuple[sp.Symbol, ...], position: int) -> str:
    """What follows ``s``/``c`` in the names of the angle's sine and cosine: ``23``, ``_angle8``."""
    return joint_label(angle, q, "_") or f"_angle{position + 1}"


def _coefficient_cse(
    coefficients: list[sp.Expr],
) -> tuple[tuple[tuple[sp.Symbol, sp.Expr], ...], dict[sp.Expr, sp.Expr]]:
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
    for original, value in zip(compound, reduced, strict=True):
        if not _is_simple(value):
            symbol = sp.Symbol(f"k{counter}", real=True)
            counter += 1
            assignments.append((symbol, value))
            value = symbol
        mapping[original] = value
    return tuple(assignments), mapping


def _is_simple(coefficient: sp.Expr) -> bool:
    """A number, or a number times one symbol: a coefficient printed without an op of its own."""
    _, rest = coefficient.as_coeff_Mul()
    return rest == 1 or rest.is_Symbol
