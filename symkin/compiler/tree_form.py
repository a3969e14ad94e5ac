"""The tree form of the tips' poses and the rigid bodies' frames: frames multiplied joint by joint,
one tree level at a time.

The column program (:mod:`symkin.compiler.column_program`) evaluates every column as its own
small combination: few operations per configuration, but over a hundred tensor operations per call
on a tree such as G1's. Over a handful of configurations a tensor operation costs the same
whatever its size, so there the count of operations is the time. The tree form computes the same
results in a few dozen: every moving joint's transform from its value at once (one product of a
constant table with [sin θ, cos θ, θ]), then one batched 4×4 product per level of the tree,
then one product placing every tip, body, axis and origin on its frame. Backends choose between
the two forms by batch size; the results are the same (tests hold them together).

A *node* is the frame of the link reached by crossing a moving joint from the base (node 0 is the
base); the *edge* into it is that crossing, with the fixed placements before and after it folded
into its constant table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from symkin.compiler.column_program import Motion, Signature
from symkin.compiler.outputs import Pose
from symkin.compiler.tables import MotionTables, Table
from symkin.model.placement import Step, transform
from symkin.model.robot import Joint, RobotModel


@dataclass(frozen=True)
class TreeForm:
    """The tips' and bodies' frames and the moving joints' axes and origins as products along
    the tree.

    Edges (E of them) are ordered by level, the levels one after the other; nodes are numbered
    0 (the base) then 1 + edge.

    Attributes:
        joint_map: (E × n) edge e's joint value is θ_e = joint_map[e] · q + offsets[e] (its mimic
            multiplier and offset; ±1 and 0 for an actuated joint; negated when crossed upward is
            in ``steps``, not here).
        offsets: (E,) see ``joint_map``.
        steps: (E × 4 × 16) the transform along edge e, X_parent_node_node = S0 + sin θ · S1 +
            cos θ · S2 + θ · S3, each S_k a 4×4 matrix row by row.
        levels: per level, ``(count, first)``: its ``count`` edges (after the previous level's)
            hang from the first ``first`` nodes of the level above, one each, or all from its only
            node (``first`` 1); None: from ``parents``.
        parents: (E,) per edge, the position of its parent node within the level above.
        located_nodes: the node each tip, body, weighted output's point (see ``frames``), then
            each motion is placed on.
        located: (T + K + P… + M) × 4 × 4 matrices: a tip's placement on its node, a body's, a
            point's (its position as column 3); a motion's axis (w = 0) and a point of its axis
            (w = 1) in its node's axes as columns 0 and 1.
        axis_scales: per motion, the scale of the axis placed here (the motion's mimic multiplier,
            negated when crossed upward), against which a program's stored sign is measured.
        frames: how many of ``located`` are tips' frames, then rigid bodies' (scaled inertia axes
            and centre of mass, as columns), then each weighted output's points, before the
            motions.
        point_groups: the weighted outputs and the collision spheres (their program groups), in
            ``frames``' order.
    """

    joint_map: tuple[tuple[float, ...], ...]
    offsets: tuple[float, ...]
    steps: tuple[tuple[tuple[float, ...], ...], ...]
    levels: tuple[tuple[int, int | None], ...]
    parents: tuple[int, ...]
    located_nodes: tuple[int, ...]
    located: tuple[tuple[tuple[float, ...], ...], ...]
    axis_scales: tuple[float, ...]
    frames: tuple[int, ...]
    point_groups: tuple[str, ...] = ()

    @property
    def groups(self) -> tuple[str, ...]:
        """The program groups ``frames`` counts the frames of, in order."""
        return ("poses", "dynamics", *self.point_groups)

    def table_names(self, group: str) -> tuple[str, ...]:
        """The tables (see :func:`tree_tables`) the tree form of ``group`` reads, in the order
        of its function's arguments."""
        edges = ("tree_base", "tree_joint_map", "tree_joint_offsets", "tree_step_constants")
        placed = (f"tree_located_{group}", f"tree_located_nodes_{group}")
        return (*edges, "tree_steps", *placed, "tree_parents")

    def group(self, name: str) -> int:
        """The index in ``frames`` of the program group ``name`` places: ``poses`` 0,
        ``dynamics`` 1, a weighted output's (or the collision spheres') its place after them."""
        return self.groups.index(name)

    @property
    def whole_levels(self) -> tuple[int | None, ...]:
        """Per group of ``frames``, the level (1 for the first below the base) whose nodes, in
        order, are the ones the group is placed on, one frame each, or None: a call placing that
        group alone then takes them from the level, gathering no nodes."""
        first_nodes = np.cumsum([1] + [count for count, _ in self.levels]).tolist()
        level_nodes = [
            tuple(range(a, b)) for a, b in zip(first_nodes, first_nodes[1:], strict=False)
        ]
        starts = np.cumsum([0, *self.frames]).tolist()
        groups = [self.located_nodes[a:b] for a, b in zip(starts, starts[1:], strict=False)]
        return tuple(
            level_nodes.index(nodes) + 1 if nodes in level_nodes else None for nodes in groups
        )

    @property
    def motions_in_node_order(self) -> bool:
        """Whether the motions are placed on every node below the base in order, one each (a
        chain's): a call placing a group of ``whole_levels`` and the motions then concatenates
        that level and every level below the base, gathering no nodes."""
        first_motion = sum(self.frames)
        return self.located_nodes[first_motion:] == tuple(range(1, 1 + len(self.offsets)))

    def operations(self, placing: int = 0, motions: bool = True) -> int:
        """The tensor operations torch dispatches for one configuration of a fixed base placing
        the group ``placing`` of ``frames``, and where ``motions`` the motions' axes and origins
        (a test counts them): a fixed 20, one per level but the first (from the base, the
        identity, it is its edges' transforms), and per such level four more where it gathers
        its parents, two where it fans out from one node, one where it hangs from the first
        nodes of a wider level. Without the motions the group's frames are returned as placed:
        six fewer where they are one level's nodes (see ``whole_levels``), two fewer else. With
        them one more where the group holds several frames, three more, and two fewer where the
        group's nodes are a level and the motions' every node in order (views and copies: a few
        more for more configurations)."""
        extra = 0
        for width, (count, first) in zip(
            (n for n, _ in self.levels), self.levels[1:], strict=False
        ):
            if first is None:
                extra += 4
            elif first == 1 and count > 1:
                extra += 2
            elif first < width:
                extra += 1
        if not motions:
            return (17 if self.whole_levels[placing] is None else 13) + len(self.levels) + extra
        several = self.frames[placing] > 1
        gathering = 0 if self.whole_levels[placing] and self.motions_in_node_order else 2
        return 20 + len(self.levels) + extra + several + gathering


def few_configurations(tree: TreeForm, group: str, column_operations: int) -> int:
    """Up to how many configurations a call placing ``group`` should take the tree form rather
    than the column program of ``column_operations`` tensor operations (at most 64).

    Measured on 2026-12-07 with one thread, Jacobians of the Panda, UR5, Allegro hand, G1 and
    Talos (every leaf a tip) at batch 1 to 48: from two configurations the tree form saves about
    2.9 µs per operation it does not dispatch, less 30 (its 4×4 products cost more than the
    column program's operations), and each further configuration costs it about 0.10 µs per edge
    and per frame it places more than the column program. The forms then cost the same at about
    10 configurations for the Panda, 28 for the Allegro hand, 58 for G1 and 42 for Talos (the
    rule gives 10, 18, 60 and 34). At batch 1 its reshapes are views and it was faster on every
    one (the UR5's Jacobian 128 against 145 µs), so a tree form of fewer operations takes at
    least that.
    """
    placing = tree.group(group)
    fewer = column_operations - tree.operations(placing)
    if fewer <= 0:
        return 0
    placed = tree.frames[placing] + len(tree.axis_scales)
    per_configuration = 0.10 * (len(tree.offsets) + placed)
    return max(1, min(64, int((2.9 * fewer - 30) / per_configuration)))


@dataclass(frozen=True)
class _Edge:
    parent: int  # node, in walking order
    row: tuple[float, ...]
    offset: float
    steps: np.ndarray  # (4, 4, 4): S0 … S3


def tree_form(
    model: RobotModel,
    signature: Signature,
    poses: Sequence[Pose],
    bodies: Sequence[tuple[str, np.ndarray]],
    motions: Sequence[Motion],
    points: Mapping[str, Sequence[tuple[str, np.ndarray]]] | None = None,
) -> TreeForm | None:
    """The tree form of ``poses``, rigid ``bodies`` (link, and placement [u0 u1 u2 centre] on the
    frame of the last moving joint above it), each weighted output's ``points`` (by group: link,
    and placement [I p] in the link's frame) and ``motions``, each in order; None when there is
    nothing to compute by level (no frame, no moving joint) or a ball joint moves."""
    points = points or {}
    if not (poses or bodies or points) or not motions:
        return None
    if any(model.joint(m.joint).type == "ball" for m in motions):
        return None
    walk = _Walk(model, signature)
    tips = [walk.on_node(pose.link, pose.offset.steps()) for pose in poses]
    placed = [(walk.on_node(link)[0], placement) for link, placement in bodies]
    for group in points.values():
        placed += [_on(walk.on_node(link), placement) for link, placement in group]
    placed += [walk.motion(motion) for motion in motions]
    order = _level_order(walk.edges)
    position = {node: k + 1 for k, node in enumerate(order)}  # walking order → final numbering
    position[0] = 0
    levels, parents = _levels(walk.edges, order, position)
    edges = [walk.edges[node - 1] for node in order]
    located = [*tips, *placed]
    return TreeForm(
        joint_map=tuple(edge.row for edge in edges),
        offsets=tuple(edge.offset for edge in edges),
        steps=tuple(_rows(edge.steps.reshape(4, 16)) for edge in edges),
        levels=levels,
        parents=parents,
        located_nodes=tuple(position[node] for node, _ in located),
        located=tuple(_rows(matrix) for _, matrix in located),
        axis_scales=tuple(float(motion.scale) for motion in motions),
        frames=(len(poses), len(bodies), *(len(group) for group in points.values())),
        point_groups=tuple(points),
    )


class _Walk:
    """Frames of links as (node, constant placement on it), crossing joints from the base."""

    def __init__(self, model: RobotModel, signature: Signature) -> None:
        self.model = model
        self.columns = {name: k for k, name in enumerate(signature.joint_names)}
        self.base = signature.base
        self.frames: dict[str, tuple[int, np.ndarray]] = {self.base: (0, np.eye(4))}
        self.edges: list[_Edge] = []  # edge k leads to node k + 1
        self.crossed: dict[tuple[str, bool], tuple[int, np.ndarray]] = {}  # joint's axis, origin

    def on_node(self, link: str, offset: tuple[Step, ...] = ()) -> tuple[int, np.ndarray]:
        """``link``'s frame moved by ``offset``: its node and its placement there."""
        current = self.base
        for step in self.model.path(self.base, link):
            target = step.joint.parent if step.upward else step.joint.child
            if target not in self.frames:
                self.frames[target] = self._cross(self.frames[current], step.joint, step.upward)
            current = target
        node, placement = self.frames[link]
        return node, placement @ _matrix(offset)

    def motion(self, motion: Motion) -> tuple[int, np.ndarray]:
        """The node ``motion``'s joint turns or slides on, and its axis and origin there (see
        :attr:`TreeForm.located`)."""
        self.on_node(motion.parent if motion.upward else motion.child)
        return self.crossed[(motion.joint, motion.upward)]

    def _cross(self, frame: tuple[int, np.ndarray], joint: Joint, upward: bool):
        node, placement = frame
        origin = _matrix(joint.origin)
        if not joint.moves:
            return node, placement @ (np.linalg.inv(origin) if upward else origin)
        # Going down the joint turns at the child's origin (before = the parent's placement and
        # the joint's origin); going up it turns at the node's placement, then the origin undone.
        before, after = (placement, np.linalg.inv(origin)) if upward else (placement @ origin, None)
        motion = _motion_matrices(joint, upward)
        steps = np.stack([before @ m if after is None else before @ m @ after for m in motion])
        resolved = self.model.resolve_mimic(joint)
        row = [0.0] * len(self.columns)
        row[self.columns[resolved.source]] = resolved.multiplier
        self.edges.append(_Edge(node, tuple(row), resolved.offset, steps))
        reached = len(self.edges)
        axis = np.zeros((4, 4))
        axis[:3, 0] = joint.axis
        axis[3, 1] = 1.0
        # The joint's axis and origin as the frame program has them: a revolute joint's origin
        # is its child's, a prismatic joint's its own frame's before it slides.
        on_child = not upward and joint.type != "prismatic"
        self.crossed[(joint.name, upward)] = (reached, axis) if on_child else (node, before @ axis)
        return reached, np.eye(4)


def _on(frame: tuple[int, np.ndarray], placement: np.ndarray) -> tuple[int, np.ndarray]:
    """``placement`` in a link's frame, placed on the node the link's ``frame`` is on."""
    node, on_node = frame
    return node, on_node @ placement


def _motion_matrices(joint: Joint, upward: bool) -> list[np.ndarray]:
    """M0 … M3 with the joint's motion M(θ) = M0 + sin θ·M1 + cos θ·M2 + θ·M3, or its inverse
    M(−θ) when ``upward``."""
    sign = -1.0 if upward else 1.0
    zero, constant = np.zeros((4, 4)), np.eye(4)
    x, y, z = joint.axis
    if joint.type == "prismatic":
        slide = np.zeros((4, 4))
        slide[:3, 3] = joint.axis
        return [constant, zero, zero, sign * slide]
    # Rodrigues' formula, R = I + sin θ·K + (1 − cos θ)·K², with K the axis' cross-product matrix;
    # the constant parts gathered, R = (I + K²) + sin θ·K − cos θ·K².
    K = np.zeros((4, 4))
    K[:3, :3] = [[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]]
    return [constant + K @ K, sign * K, -K @ K, zero]


def _level_order(edges: list[_Edge]) -> list[int]:
    """The nodes but the base by level, each level ordered by its parents' places in the level
    above, and among siblings the deepest subtree first (so that chains that end leave the
    level's end, and the next level hangs from its first nodes)."""
    depth, height = [0], [0] * (len(edges) + 1)
    for edge in edges:
        depth.append(depth[edge.parent] + 1)
    for node in range(len(edges), 0, -1):
        parent = edges[node - 1].parent
        height[parent] = max(height[parent], height[node] + 1)
    place = {0: 0}
    order: list[int] = []
    for level in range(1, max(depth) + 1):
        nodes = [node for node in range(1, len(depth)) if depth[node] == level]
        nodes.sort(key=lambda node: (place[edges[node - 1].parent], -height[node], node))
        place |= {node: k for k, node in enumerate(nodes)}
        order += nodes
    return order


def _levels(
    edges: list[_Edge], order: list[int], position: dict[int, int]
) -> tuple[tuple[tuple[int, int | None], ...], tuple[int, ...]]:
    """:attr:`TreeForm.levels` and :attr:`TreeForm.parents` for edges in ``order``."""
    levels: list[tuple[int, int | None]] = []
    parents: list[int] = []
    above = [0]  # the nodes of the level above, final numbering
    done = 0
    while done < len(order):
        level = [node for node in order[done:] if position[edges[node - 1].parent] in above]
        places = [above.index(position[edges[node - 1].parent]) for node in level]
        done += len(level)
        if len(above) == 1:
            first: int | None = 1
        elif places == list(range(len(level))):
            first = len(level)
        else:
            first = None
        levels.append((len(level), first))
        parents += places
        above = [position[node] for node in level]
    return tuple(levels), tuple(parents)


def _matrix(steps: tuple[Step, ...]) -> np.ndarray:
    R, t = transform(steps)
    matrix = np.eye(4)
    matrix[:3, :3], matrix[:3, 3] = R, t
    return matrix


def _rows(matrix: np.ndarray) -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(float(v) for v in row) for row in matrix)


def tree_tables(tree: TreeForm, motions: MotionTables) -> dict[str, Table]:
    """The tables of the tree form, named ``tree_*``: those every group reads, then per group
    with frames what it places, its frames' then the motions' (``tree_located_<group>`` and
    ``tree_located_nodes_<group>``), so that no call picks them out of one table. Each motion's
    axis gets the sign the program stores it with (see :class:`MotionTables`), so that both
    forms feed the same Jacobian and gradient tables."""
    first_motion = len(tree.located) - len(tree.axis_scales)
    located = [np.array(matrix) for matrix in tree.located]
    for m, scale in enumerate(tree.axis_scales):
        if motions.scales[m] * scale < 0:
            located[first_motion + m][:, 0] *= -1.0
    tables = {
        "tree_base": Table(np.eye(4).tolist(), shape=(1, 4, 4)),
        "tree_joint_map": Table([list(row) for row in tree.joint_map]),
        "tree_joint_offsets": Table(list(tree.offsets), shape=(-1, 1)),
        "tree_step_constants": Table([[list(step[0])] for step in tree.steps]),
        "tree_steps": Table([[list(row) for row in step[1:]] for step in tree.steps]),
        "tree_parents": Table(list(tree.parents), "index"),
    }
    start = 0
    for group, count in zip(tree.groups, tree.frames, strict=True):
        if count:
            placed = [*range(start, start + count), *range(first_motion, len(located))]
            tables[f"tree_located_{group}"] = Table(
                [located[k].tolist() for k in placed], shape=(-1, 4, 4)
            )
            tables[f"tree_located_nodes_{group}"] = Table(
                [tree.located_nodes[k] for k in placed], "index"
            )
        start += count
    return tables
