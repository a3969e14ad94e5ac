"""What every output kind's lowering shares: the constant tables of a generated module, the frame
program's groups of roots, the motions' tables, and the pairs of a located frame and a motion that
make a Jacobian column (which column of q each feeds, where each goes). Each kind's own tables are
in :mod:`symkin.compiler.kind_tables`; the roots each kind asks of the frame program:

- ``poses``: the tips' columns, ``pose_columns`` (4·T lanes);
- ``points``: the points, ``points`` (P lanes);
- ``weighted_points``: one per output, ``<name>_points`` (K lanes);
- ``dynamics``: every rigid body's frame, ``body_columns`` (4·K lanes);
- ``collision``: the sphere centres, ``sphere_centres`` (S lanes);
- every kind with a Jacobian needs the ``motions`` group: every moving joint's ``axes`` and
  ``origins`` (M lanes each), described by :class:`MotionTables`.
"""

from __future__ import annotations

from dataclasses import dataclass

from symkin.compiler.column_program import Kinematics, Located

MOTIONS = "motions"
"""The group of every moving joint's axis and origin, which every Jacobian needs."""


@dataclass(frozen=True)
class Table:
    """A constant table of a generated module, by its exact values.

    Attributes:
        values: numbers, or rows of numbers.
        kind: ``float`` (made in q's dtype), ``columns`` (constant columns, K rows of x, y, z, w,
            used as a (4, K, 1) tensor), ``index`` (integers) or ``mask`` (booleans, one per row).
        shape: how a ``float`` table is viewed (``(-1, 1)``: a column), None: as written.
        gradient: whether only a closed-form gradient (a backend's own backward) needs it.
    """

    values: list
    kind: str = "float"
    shape: tuple[int, ...] | None = None
    gradient: bool = False


@dataclass(frozen=True)
class Roots:
    """Columns the frame program returns side by side, as one (4, K, B) tensor ``name``."""

    name: str
    title: str
    vectors: tuple[int, ...]


@dataclass(frozen=True)
class Group:
    """Roots of the frame program that calls ask for together.

    Attributes:
        name: the group's name (``poses``, ``motions``, ``points``, a weighted output's name).
        roots: the tensors it returns.
        calls: the sets of groups the output's functions ask the frame program for.
    """

    name: str
    roots: tuple[Roots, ...]
    calls: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class MotionTables:
    """The moving joints (M of them, in program order) as every Jacobian sees them.

    Attributes:
        joint_names: the moving joint of each motion.
        prismatic: per motion, whether it slides (else it turns).
        columns: per motion, its column of v (q's, but for ball joints).
        scales: per motion, its rate per unit rate of its column (mimic multiplier, −1 when
            crossed upward, −1 when its axis is stored negated).
    """

    joint_names: tuple[str, ...]
    prismatic: tuple[bool, ...]
    columns: tuple[int, ...]
    scales: tuple[float, ...]

    def tables(self, joints: int, gradient: bool = False) -> dict[str, Table]:
        """``q_map`` (M × nv): motion m's rate per unit rate of v column i; ``motion_prismatic``,
        when a joint slides: which motions slide."""
        q_map = [
            [scale if column == i else 0.0 for i in range(joints)]
            for column, scale in zip(self.columns, self.scales, strict=True)
        ]
        tables = {"q_map": Table(q_map, gradient=gradient)}
        if any(self.prismatic):
            tables["motion_prismatic"] = Table(list(self.prismatic), "mask", gradient=gradient)
        return tables


@dataclass(frozen=True)
class Pairs:
    """The pairs of a located frame or point and a motion above it, which make the Jacobians.

    Attributes:
        located: per pair, which frame or point (its index in the output).
        motions: per pair, its motion.
        scales: per pair, the motion's scale (see :class:`MotionTables`).
        prismatic: per pair, whether its motion slides.
        slots: per pair, its slot: a pair of a located thing and a column of q; pairs share a slot
            when a mimic joint and its source (or two mimic joints) are above one located thing.
        source: per entry of one configuration's Jacobians (located, row, column of q; rows first),
            where it comes from among the slots' entries (row, slot), or the index after them for a
            structural zero.
        dense: whether the slots, rows first, already are the Jacobians' entries in order (one
            located thing, with a column for every joint of q in q's order): nothing to gather.
        gathered: whether the pairs are gathered from the located things and the motions; not
            where one located thing has every motion in order (then they are the motions' own).
    """

    located: tuple[int, ...]
    motions: tuple[int, ...]
    scales: tuple[float, ...]
    prismatic: tuple[bool, ...]
    slots: tuple[int, ...]
    source: tuple[int, ...]
    dense: bool
    gathered: bool

    @property
    def count(self) -> int:
        return len(set(self.slots))

    @property
    def shared(self) -> bool:
        """Whether some pairs share a slot (mimic joints): their columns are added up."""
        return self.count < len(self.slots)

    def tables(self, prefix: str) -> dict[str, Table]:
        """The pairs' tables, named ``<prefix>_pair_…`` and ``<prefix>_source``; those that would
        change nothing (pairs that are the motions' own, no prismatic joint, no shared slot,
        nothing to gather) are left out."""
        tables = {f"{prefix}_pair_scale": Table(list(self.scales), shape=(-1, 1))}
        if self.gathered:
            tables[f"{prefix}_pair_located"] = Table(list(self.located), "index")
            tables[f"{prefix}_pair_motion"] = Table(list(self.motions), "index")
        if any(self.prismatic):
            tables[f"{prefix}_pair_prismatic"] = Table(list(self.prismatic), "mask")
        if self.shared:
            tables[f"{prefix}_pair_slot"] = Table(list(self.slots), "index")
        if not self.dense:
            tables[f"{prefix}_source"] = Table(list(self.source), "index")
        return tables


def groups(kinematics: Kinematics) -> tuple[Group, ...]:
    """The frame program's groups of roots: one per output kind (one per weighted output), then
    the motions. Every kind asks for its roots alone, and with the motions for its Jacobian."""
    found: list[Group] = []
    poses = kinematics.of_kind("poses")
    if poses:
        columns = tuple(i for frame in kinematics.frames for i in frame.columns)
        roots = Roots("pose_columns", "every tip's columns R0, R1, R2, p", columns)
        found.append(Group("poses", (roots,), _calls("poses")))
    points = [located for output in kinematics.of_kind("points") for located in output.located]
    if points:
        columns = tuple(point.columns[0] for point in points)
        roots = Roots("points", "every point", columns)
        found.append(Group("points", (roots,), _calls("points")))
    for output in kinematics.of_kind("weighted_points"):
        name = output.request.label
        columns = tuple(point.columns[0] for point in output.located)
        roots = Roots(f"{name}_points", f"the points of {name}, one per rigid body", columns)
        found.append(Group(name, (roots,), _calls(name)))
    for output in kinematics.of_kind("collision"):
        columns = tuple(sphere.columns[0] for sphere in output.located)
        roots = Roots("sphere_centres", "every collision sphere's centre", columns)
        found.append(Group("collision", (roots,), _calls("collision")))
    for output in kinematics.of_kind("dynamics"):
        columns = tuple(i for body in output.located for i in body.columns)
        title = "every rigid body's scaled inertia axes and centre of mass"
        roots = Roots("body_columns", title, columns)
        found.append(Group("dynamics", (roots,), (("dynamics", MOTIONS),)))
    title = "every moving joint's axis and origin"
    axes = Roots("axes", title, tuple(motion.axis for motion in kinematics.motions))
    origins = Roots("origins", title, tuple(motion.origin for motion in kinematics.motions))
    found.append(Group(MOTIONS, (axes, origins), ()))
    return tuple(found)


def _calls(name: str) -> tuple[tuple[str, ...], ...]:
    return ((name,), (name, MOTIONS))


def motions_before(kinematics: Kinematics, count: int) -> list[list[float]]:
    """(M × M): 1 where motion j comes before motion m on the path from the base to something
    located."""
    before = [[0.0] * count for _ in range(count)]
    for path in (thing.motions for output in kinematics.outputs for thing in output.located):
        for k, motion in enumerate(path):
            for earlier in path[:k]:
                before[motion][earlier] = 1.0
    return before


def motion_ancestors(kinematics: Kinematics, count: int) -> tuple[tuple[float, ...], ...]:
    """(M × M): 1 where motion j turns motion m's axis: comes before it (see
    :func:`motions_before`), but for a ball joint's three motions, which turn each other's axes
    (its child's) when the path crosses it downward, and none of them when upward (the child is
    then on the base's side)."""
    ancestors = motions_before(kinematics, count)
    balls = {name for name, _, _ in kinematics.signature.balls}
    for m, motion in enumerate(kinematics.motions):
        for j, other in enumerate(kinematics.motions):
            if motion.joint in balls and other.joint == motion.joint and j != m:
                ancestors[m][j] = 0.0 if motion.upward else 1.0
    return tuple(map(tuple, ancestors))


def subtree_weights(count: int, located: tuple[Located, ...] | list[Located], weight) -> tuple:
    """(M × K): ``weight(thing)`` where motion m moves located thing k, else 0."""
    return tuple(
        tuple(weight(thing) if m in thing.motions else 0.0 for thing in located)
        for m in range(count)
    )


def jacobian_pairs(
    located: tuple[Located, ...] | list[Located], motions: MotionTables, joints: int, rows: int
) -> Pairs:
    """The Jacobian pairs of ``located`` things, whose Jacobians have ``rows`` rows."""
    items = [(k, m) for k, thing in enumerate(located) for m in thing.motions]
    slot_of: dict[tuple[int, int], int] = {}
    slots = tuple(slot_of.setdefault((k, motions.columns[m]), len(slot_of)) for k, m in items)
    count = len(slot_of)
    # Entry (k, r, column) of the Jacobians reads entry (r, slot) of the slots' columns, or the
    # zero after them.
    source = tuple(
        r * count + slot_of[(k, column)] if (k, column) in slot_of else rows * count
        for k in range(len(located))
        for r in range(rows)
        for column in range(joints)
    )
    columns = [motions.columns[m] for _, m in items]
    return Pairs(
        located=tuple(k for k, _ in items),
        motions=tuple(m for _, m in items),
        scales=tuple(motions.scales[m] for _, m in items),
        prismatic=tuple(motions.prismatic[m] for _, m in items),
        slots=slots,
        source=source,
        dense=len(located) == 1 and columns == list(range(joints)),
        gathered=len(located) != 1 or [m for _, m in items] != list(range(len(motions.scales))),
    )
