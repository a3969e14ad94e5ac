"""The column program: what :func:`~symkin.compiler.derive.derive` makes of a robot.

Every rotation column, origin, joint axis and point is a homogeneous 4-vector in base coordinates
(w = 0 for directions, 1 for points), defined as a linear combination of earlier vectors whose
coefficients are scalar expressions in the joint variables: cosines, sines, constants, and a
prismatic joint's value. This is symkin's one derived representation: the code generator emits
it, and closed forms, formulas and operation counts are computed from it on demand.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import sympy as sp

from symkin.compiler.outputs import Output, Pose
from symkin.errors import SymkinError

if TYPE_CHECKING:
    from symkin.compiler.tree_form import TreeForm

ExactComponents = tuple[sp.Expr, sp.Expr, sp.Expr, sp.Expr]
"""The exact x, y, z, w of a constant vector."""

Entries = Callable[[int], tuple[sp.Expr, sp.Expr, sp.Expr]]
"""A vector's x, y, z by its index."""


@dataclass(frozen=True)
class Vector:
    """A homogeneous 4-vector of a frame, in base coordinates.

    Either ``constant`` (exact components) or ``Σ coefficient · vectors[source]`` over ``terms``,
    each source an earlier vector; a coefficient is a scalar expression in the joint symbols.

    Attributes:
        frame: the link, joint or output the vector belongs to.
        quantity: ``R0``, ``R1``, ``R2`` (rotation columns), ``p`` (origin), ``axis`` (a joint
            axis), ``point`` (a point of an output), ``sphere`` (a collision sphere's centre),
            ``mean`` and ``com`` (weighted points), ``inertia0``…``inertia2`` (scaled principal
            axes), ``offset`` (a constant part of a sum).
        joint: the joint being crossed when the vector was made, None near the base and at outputs.
    """

    frame: str
    quantity: str
    terms: tuple[tuple[sp.Expr, int], ...] = ()
    constant: ExactComponents | None = None
    joint: str | None = None


@dataclass(frozen=True)
class Motion:
    """A moving joint on the path to something located, as Jacobians see it.

    The joint's rate moves everything below it with twist ``scale · [axis × (p − origin); axis]``
    (revolute) or ``scale · [axis; 0]`` (prismatic), per unit rate of q's ``column``. ``scale`` is
    the mimic multiplier, negated when the path crosses the joint upward.
    """

    joint: str
    parent: str
    child: str
    revolute: bool
    axis: int
    origin: int
    column: int
    scale: sp.Expr
    upward: bool


@dataclass(frozen=True)
class Located:
    """A frame or a point of an output: its vectors (rotation columns 0, 1, 2 and origin of a frame;
    the position of a point) and the motions that move it, from the base down.

    ``weight`` is what a weighted point counts (the sum of the points merged into it), else 1.
    """

    name: str
    columns: tuple[int, ...]
    motions: tuple[int, ...]
    weight: float = 1.0


@dataclass(frozen=True)
class DerivedOutput:
    """An output as derived: the request, and the frames or points it needs, located."""

    request: Output
    located: tuple[Located, ...]


@dataclass(frozen=True)
class Signature:
    """What a compiled module is about, shared by every stage after derive.

    Attributes:
        robot_name: the robot's name.
        base: the base link; poses are ``X_base_tip``.
        tips: the names of the poses (tips), in output order.
        joint_names: the entries of q, in order: an actuated joint's name, or for a ball joint four
            (``<joint>:qw`` … ``:qz``, a unit quaternion).
        velocity_names: the entries of v, in order (a Jacobian's columns): as ``joint_names``, but
            three for a ball joint (``<joint>:wx`` … ``:wz``, angular velocity in its child's axes).
        lower, upper: joint limits in q order (radians or metres, ±inf when unbounded).
        floating_base: whether the module takes the base pose as a second argument.
        balls: ``(joint, q index, v index)`` of each ball joint: where its quaternion starts in q
            and its angular velocity in v.
        qpos_indices, qvel_indices: for a model read from MJCF, the qpos address of each entry of
            q and the qvel address of each entry of v (ascending); empty for other formats.
        tip_elements: for a model read from MJCF, ``(tip, kind, id)`` for each tip on a MuJoCo
            body, site or geom, and that element's id.
    """

    robot_name: str
    base: str
    tips: tuple[str, ...]
    joint_names: tuple[str, ...]
    velocity_names: tuple[str, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    floating_base: bool = False
    balls: tuple[tuple[str, int, int], ...] = ()
    qpos_indices: tuple[int, ...] = ()
    qvel_indices: tuple[int, ...] = ()
    tip_elements: tuple[tuple[str, str, int], ...] = ()


@dataclass(frozen=True)
class Kinematics:
    """The column program of some outputs of a robot, relative to a base link.

    Attributes:
        signature: robot, base, tips, joints and limits.
        q: one real symbol per entry of q, ``q1 … qn``.
        vectors: the frames column by column, each defined before it is used.
        motions: every moving joint met, in the order met.
        outputs: per requested output, what it located, in the order requested (poses first).
        tree: the tips' poses, the rigid bodies and the motions again, as products along the tree
            (the form for a few configurations at a time), None where there is none.
    """

    signature: Signature
    q: tuple[sp.Symbol, ...]
    vectors: tuple[Vector, ...] = field(repr=False)
    motions: tuple[Motion, ...] = field(repr=False)
    outputs: tuple[DerivedOutput, ...] = field(repr=False)
    tree: TreeForm | None = field(default=None, repr=False)

    @property
    def tips(self) -> tuple[str, ...]:
        return self.signature.tips

    @property
    def joint_names(self) -> tuple[str, ...]:
        return self.signature.joint_names

    @property
    def base(self) -> str:
        return self.signature.base

    @cached_property
    def frames(self) -> tuple[Located, ...]:
        """The tips' frames, in output order."""
        return tuple(
            located
            for output in self.outputs
            if isinstance(output.request, Pose)
            for located in output.located
        )

    def of_kind(self, kind: str) -> tuple[DerivedOutput, ...]:
        """The outputs of one kind (``poses``, ``points``, ``weighted_points``), in order."""
        return tuple(output for output in self.outputs if output.request.kind == kind)

    def tip(self, name: str) -> Located:
        try:
            return self.frames[self.tips.index(name)]
        except ValueError:
            tips = ", ".join(self.tips)
            raise SymkinError(f"{name!r} is not a tip of these kinematics (tips: {tips})") from None

    def pose(self, tip: str, entries: Entries | None = None) -> sp.Matrix:
        """``X_base_tip`` (4×4) in closed form: expressions in the joint symbols ``q``.

        ``entries`` gives a vector's x, y, z by index (default: :meth:`entries`, written out).
        """
        entries = entries or self.entries
        columns = [entries(i) for i in self.tip(tip).columns]
        return sp.Matrix([[columns[c][r] for c in range(4)] for r in range(3)] + [[0, 0, 0, 1]])

    def jacobian(self, tip: str, entries: Entries | None = None) -> sp.Matrix:
        """The tip's 6×nv geometric Jacobian in closed form, rows [v; ω] in base-frame axes
        (``entries`` as for :meth:`pose`)."""
        entries = entries or self.entries
        frame = self.tip(tip)
        p_tip = sp.Matrix(entries(frame.columns[3]))
        jacobian = sp.zeros(6, len(self.signature.velocity_names))
        for motion in (self.motions[m] for m in frame.motions):
            z = sp.Matrix(entries(motion.axis))
            if motion.revolute:
                linear, angular = z.cross(p_tip - sp.Matrix(entries(motion.origin))), z
            else:
                linear, angular = z, sp.zeros(3, 1)
            jacobian[:, motion.column] += motion.scale * sp.Matrix.vstack(linear, angular)
        return jacobian

    def dependencies(self, roots: Iterable[int]) -> list[int]:
        """The vectors the roots are made from, roots included, in definition (dependency) order."""
        reached: set[int] = set()
        stack = list(roots)
        while stack:
            index = stack.pop()
            if index not in reached:
                reached.add(index)
                stack.extend(source for _, source in self.vectors[index].terms)
        return sorted(reached)

    def entries(self, index: int) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
        """The x, y, z of vector ``index`` in closed form."""
        return self._closed_forms[index]

    @cached_property
    def _closed_forms(self) -> list[tuple[sp.Expr, sp.Expr, sp.Expr]]:
        closed: list[tuple[sp.Expr, sp.Expr, sp.Expr]] = []
        for vector in self.vectors:
            if vector.constant is not None:
                x, y, z, _ = vector.constant
            else:
                x, y, z = (
                    sp.Add(*(c * closed[s][lane] for c, s in vector.terms)) for lane in range(3)
                )
            closed.append((x, y, z))
        return closed
