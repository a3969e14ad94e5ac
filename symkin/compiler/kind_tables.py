"""Each output kind's tables: what its generated functions read besides the frame program's
columns (names, weights, which motions move what, where each Jacobian entry comes from, the
collision spheres' pairs), made from the column program and the motions' tables."""

from __future__ import annotations

from dataclasses import dataclass

from symkin.compiler.column_program import Kinematics
from symkin.compiler.outputs import CollisionSpheres, RigidBodies, WeightedPoints
from symkin.compiler.tables import (
    MotionTables,
    Pairs,
    Table,
    jacobian_pairs,
    motion_ancestors,
    motions_before,
    subtree_weights,
)


@dataclass(frozen=True)
class PoseTables:
    """The tips: their Jacobians' pairs (rows [v; ω]) and, for closed-form gradients, which tips
    each motion moves (``subtree``, M × T). A floating base's Jacobians gather from the pairs'
    entries and the base's (``world_source``, see :func:`_world_source`)."""

    tips: tuple[str, ...]
    pairs: Pairs
    subtree: tuple[tuple[float, ...], ...]
    floating: bool = False

    kind = "poses"

    @property
    def compact_columns(self) -> tuple[tuple[int, ...], ...]:
        """Per tip, the columns of its Jacobian that can be nonzero (a floating base's six, then
        the joints that move it), in order: what ``compact_jacobian`` keeps."""
        tips = len(self.tips)
        joints = len(self.pairs.source) // (6 * tips)
        zero = 6 * self.pairs.count
        base = tuple(range(6)) if self.floating else ()
        return tuple(
            base
            + tuple(
                len(base) + column
                for column in range(joints)
                if self.pairs.source[6 * k * joints + column] != zero
            )
            for k in range(tips)
        )

    @property
    def compact_starts(self) -> tuple[int, ...]:
        """Where each tip's ``compact_columns`` start among the compact Jacobians' columns."""
        widths = [len(columns) for columns in self.compact_columns]
        return tuple(sum(widths[:k]) for k in range(len(widths)))

    def compact_index(self, joints: int) -> tuple[int, ...]:
        """Where each entry of the compact Jacobians (row, then each tip's ``compact_columns``)
        is in the Jacobians (tip, row, column), flattened."""
        width = joints + 6 * self.floating
        return tuple(
            (6 * k + row) * width + column
            for row in range(6)
            for k, columns in enumerate(self.compact_columns)
            for column in columns
        )

    @property
    def compact_in_slot_order(self) -> bool:
        """Whether the compact Jacobians are the slots' entries themselves, rows first, in order
        (a fixed base whose tips' columns come in the slots' order): nothing to gather."""
        if self.floating:
            return False
        joints = len(self.pairs.source) // (6 * len(self.tips))
        index = self.compact_index(joints)
        read = index if self.pairs.dense else tuple(self.pairs.source[k] for k in index)
        return read == tuple(range(6 * self.pairs.count))

    def tables(self, motions: MotionTables, joints: int) -> dict[str, Table]:
        compact = {"pose_compact_index": Table(list(self.compact_index(joints)), "index")}
        subtree = Table([list(row) for row in self.subtree], gradient=True)
        gradient = motions.tables(joints, gradient=True) if self.pairs.motions else {}
        world = (
            {
                "pose_world_source": Table(
                    list(_world_source(self.pairs, len(self.tips), joints)), "index"
                )
            }
            if self.floating
            else {}
        )
        return self.pairs.tables("pose") | {"pose_subtree": subtree} | world | compact | gradient


@dataclass(frozen=True)
class PointTables:
    """The points: their Jacobians' pairs (three rows, the velocity of the point)."""

    names: tuple[str, ...]
    pairs: Pairs

    kind = "points"

    def tables(self, motions: MotionTables, joints: int) -> dict[str, Table]:
        return self.pairs.tables("point")


@dataclass(frozen=True)
class WeightedPointTables:
    """A weighted mean of points: the normalised weights of its K points, their sum, and per motion
    the normalised weight of the points it moves (``subtree``, M × K, for the Jacobian)."""

    name: str
    total_name: str
    total: float
    points: tuple[str, ...]
    weights: tuple[float, ...]
    subtree: tuple[tuple[float, ...], ...]

    kind = "weighted_points"

    def tables(self, motions: MotionTables, joints: int) -> dict[str, Table]:
        return {
            f"{self.name}_weights": Table(list(self.weights), shape=(-1, 1)),
            f"{self.name}_subtree": Table([list(row) for row in self.subtree]),
            f"{self.name}_moving": Table([sum(row) for row in self.subtree], shape=(-1, 1)),
        } | motions.tables(joints)


@dataclass(frozen=True)
class VelocityTables:
    """The tips' velocities: which motion comes before which on a path from the base
    (``ancestors``, M × M, 1 where motion k is strictly before motion m), and which tips each
    motion moves (``subtree``, M × T)."""

    ancestors: tuple[tuple[float, ...], ...]
    subtree: tuple[tuple[float, ...], ...]

    kind = "velocities"

    def tables(self, motions: MotionTables, joints: int) -> dict[str, Table]:
        return {
            "motion_ancestors": Table([list(row) for row in self.ancestors]),
            "pose_subtree": Table([list(row) for row in self.subtree]),
        } | motions.tables(joints)


@dataclass(frozen=True)
class DynamicsTables:
    """The rigid bodies (K of them, each a frame of scaled inertia axes and a centre of mass):
    their masses, which motions move each (``motions``, M × K), which motion comes before which
    (``ancestors``, M × M, as for velocities), which motion is at or before which
    (``lineage``, M × M, 1 where motion j is motion k or before it: the mass matrix's nonzero
    pattern), and gravity (m/s², base or world frame)."""

    bodies: tuple[str, ...]
    masses: tuple[float, ...]
    motions: tuple[tuple[float, ...], ...]
    ancestors: tuple[tuple[float, ...], ...]
    lineage: tuple[tuple[float, ...], ...]
    gravity: tuple[float, float, float]

    kind = "dynamics"

    def tables(self, motions: MotionTables, joints: int) -> dict[str, Table]:
        in_order = list(motions.columns) == list(range(joints))
        column = {} if in_order else {"motion_column": Table(list(motions.columns), "index")}
        return (
            column
            | {
                "motion_scale": Table(list(motions.scales), shape=(-1, 1)),
                "body_mass": Table(list(self.masses), shape=(-1, 1)),
                "body_motions": Table([list(row) for row in self.motions]),
                "motion_ancestors": Table([list(row) for row in self.ancestors]),
                "motion_lineage": Table([list(row) for row in self.lineage]),
                "gravity_vector": Table(list(self.gravity), shape=(3, 1, 1)),
            }
            | motions.tables(joints)
        )


@dataclass(frozen=True)
class CollisionTables:
    """Collision spheres: each one's link and radius, and the checked pairs of links. The sphere
    pairs of every checked pair of links are listed row by row (``first``, ``second``; a pair of
    links' distance is the least over its row): the rows sorted by length, in ``groups`` of
    (count, width) each padded to its longest by repeating its first pair (the least is
    unchanged), so that a short row is not padded to the longest of all. ``starts``: each row's
    first entry, in that order; ``order``: for each pair of links, in ``pairs`` order, its row.
    For closed-form gradients, which motions move each sphere (``sphere_subtree``, M × S), and
    each pair's first link, then its second (``subtree``, M × 2P)."""

    links: tuple[str, ...]
    radii: tuple[float, ...]
    pairs: tuple[tuple[str, str], ...]
    first: tuple[int, ...]
    second: tuple[int, ...]
    starts: tuple[int, ...]
    order: tuple[int, ...]
    groups: tuple[tuple[int, int], ...]
    sphere_subtree: tuple[tuple[float, ...], ...]
    subtree: tuple[tuple[float, ...], ...]

    kind = "collision"

    @property
    def sphere_pairs(self) -> int:
        """The pairs of spheres checked, without the padding."""
        return len(set(zip(self.first, self.second, strict=True)))

    def tables(self, motions: MotionTables, joints: int) -> dict[str, Table]:
        tables = {
            "sphere_radii": Table(list(self.radii), shape=(-1, 1)),
            "sphere_subtree": Table([list(row) for row in self.sphere_subtree], gradient=True),
        } | motions.tables(joints, gradient=True)
        if self.pairs:
            reach = [
                self.radii[i] + self.radii[j] for i, j in zip(self.first, self.second, strict=True)
            ]
            tables |= {
                "sphere_pair_first": Table(list(self.first), "index"),
                "sphere_pair_second": Table(list(self.second), "index"),
                "sphere_pair_reach": Table(reach, shape=(-1, 1)),
                "link_pair_starts": Table(list(self.starts), "index"),
                "link_pair_order": Table(list(self.order), "index"),
                "link_pair_subtree": Table([list(row) for row in self.subtree], gradient=True),
            }
        return tables


OutputTables = (
    PoseTables
    | PointTables
    | WeightedPointTables
    | VelocityTables
    | DynamicsTables
    | CollisionTables
)


def output_tables(kinematics: Kinematics, motions: MotionTables) -> tuple[OutputTables, ...]:
    """Each kind's tables: the poses', the points', then each weighted output's."""
    joints = len(kinematics.signature.velocity_names)
    tables: list[OutputTables] = []
    if kinematics.of_kind("poses"):
        frames = kinematics.frames
        subtree = subtree_weights(len(motions.columns), frames, lambda located: 1.0)
        pairs = jacobian_pairs(frames, motions, joints, rows=6)
        floating = kinematics.signature.floating_base
        tables.append(PoseTables(kinematics.tips, pairs, subtree, floating))
    points = [located for output in kinematics.of_kind("points") for located in output.located]
    if points:
        tables.append(
            PointTables(tuple(p.name for p in points), jacobian_pairs(points, motions, joints, 3))
        )
    for output in kinematics.of_kind("weighted_points"):
        located = output.located
        total = sum(point.weight for point in located)
        request = output.request
        assert isinstance(request, WeightedPoints)
        tables.append(
            WeightedPointTables(
                name=request.label,
                total_name=request.total,
                total=total,
                points=tuple(point.name for point in located),
                weights=tuple(point.weight / total for point in located),
                subtree=subtree_weights(
                    len(motions.columns), located, lambda p, t=total: p.weight / t
                ),
            )
        )
    count = len(motions.columns)
    if kinematics.of_kind("velocities"):
        subtree = subtree_weights(count, kinematics.frames, lambda located: 1.0)
        tables.append(VelocityTables(motion_ancestors(kinematics, count), subtree))
    for output in kinematics.of_kind("dynamics"):
        request = output.request
        assert isinstance(request, RigidBodies)
        before = motions_before(kinematics, count)
        lineage = tuple(
            tuple(1.0 if j == k or before[k][j] else 0.0 for k in range(count))
            for j in range(count)
        )
        tables.append(
            DynamicsTables(
                bodies=tuple(body.name for body in output.located),
                masses=tuple(body.weight for body in output.located),
                motions=subtree_weights(count, output.located, lambda body: 1.0),
                ancestors=motion_ancestors(kinematics, count),
                lineage=lineage,
                gravity=request.gravity,
            )
        )
    for output in kinematics.of_kind("collision"):
        request = output.request
        assert isinstance(request, CollisionSpheres)
        tables.append(
            _collision_tables(request, subtree_weights(count, output.located, lambda sphere: 1.0))
        )
    return tuple(tables)


def _collision_tables(
    request: CollisionSpheres, sphere_subtree: tuple[tuple[float, ...], ...]
) -> CollisionTables:
    links = tuple(link for link, _, _ in request.spheres)
    # A link's spheres move with it: a pair's first and second link read one sphere's column each.
    sphere_on = {link: k for k, link in reversed(list(enumerate(links)))}
    ends = [sphere_on[first] for first, _ in request.pairs]
    ends += [sphere_on[second] for _, second in request.pairs]
    rows = []  # per pair of links, its sphere pairs
    for a, b in request.pairs:
        on_a = [k for k, link in enumerate(links) if link == a]
        on_b = [k for k, link in enumerate(links) if link == b]
        rows.append([(i, j) for i in on_a for j in on_b])
    by_length = sorted(range(len(rows)), key=lambda p: len(rows[p]))
    groups = _row_groups([len(rows[p]) for p in by_length])
    widths = [width for count, width in groups for _ in range(count)]
    padded = [
        rows[p] + [rows[p][0]] * (width - len(rows[p]))
        for p, width in zip(by_length, widths, strict=True)
    ]
    starts = [sum(widths[:k]) for k in range(len(widths))]
    return CollisionTables(
        links=links,
        radii=tuple(radius for _, _, radius in request.spheres),
        pairs=request.pairs,
        first=tuple(i for row in padded for i, _ in row),
        second=tuple(j for row in padded for _, j in row),
        starts=tuple(starts),
        order=tuple(by_length.index(p) for p in range(len(rows))),
        groups=groups,
        sphere_subtree=sphere_subtree,
        subtree=tuple(tuple(row[k] for k in ends) for row in sphere_subtree),
    )


# What one more group of rows costs, in padded entries per configuration: the operations it adds
# (a slice, a min, a concatenation's input) against the entries it saves.
_ROW_GROUP_COST = 64


def _row_groups(lengths: list[int]) -> tuple[tuple[int, int], ...]:
    """Consecutive groups (count, width) of rows of ascending ``lengths``, each padded to its
    longest, that minimise the padded entries plus _ROW_GROUP_COST per group."""
    best: list[tuple[int, tuple[tuple[int, int], ...]]] = [(0, ())]  # over the first k rows
    for end in range(1, len(lengths) + 1):
        options = (
            (best[start][0] + (end - start) * lengths[end - 1] + _ROW_GROUP_COST, start)
            for start in range(end)
        )
        cost, start = min(options)
        best.append((cost, best[start][1] + ((end - start, lengths[end - 1]),)))
    return best[-1][1]


def _world_source(pairs: Pairs, tips: int, joints: int) -> tuple[int, ...]:
    """Where each entry of a floating base's Jacobians (tip, row, column of [base twist; q]; rows
    first) comes from: the pairs' entries (6 rows × slots), then the base's (its pose's 16
    entries, then each r_j × (p_k − o): row i, column j, tip k; see the torch runtime's
    _base_entries), then a zero. Tip k's 6 × 6 base block is [[R, r_j × (p_k − o)], [0, R]]. The
    joints' part reads what ``pairs.source`` reads (every entry of a slot when the Jacobians are
    ``dense``)."""
    slots = 6 * pairs.count
    zero = slots + 16 + 9 * tips

    def base_entry(k: int, row: int, column: int) -> int:
        if row < 3 and column >= 3:
            return slots + 16 + (3 * row + column - 3) * tips + k
        if (row < 3) == (column < 3):
            return slots + 4 * (row % 3) + column % 3
        return zero

    source = []
    for k in range(tips):
        for row in range(6):
            source += [base_entry(k, row, column) for column in range(6)]
            for column in range(joints):
                entry = (k * 6 + row) * joints + column
                read = entry if pairs.dense else pairs.source[entry]
                source.append(zero if read == slots else read)
    return tuple(source)
