"""What a compiled module computes, as data: the output kinds.

Each kind says what it needs located in the column program: a **frame** (three rotation columns
and an origin) or only a **point** (an origin), each with the motions above it, which the
Jacobians are made of. :func:`~symkin.compiler.derive.derive` locates them; the lowering builds
each kind's tables (:mod:`symkin.compiler.kind_tables`); every backend prints each kind through a
template fragment of its own (``templates/<backend>/<kind>.py.jinja``). docs/architecture.md says
how to add a kind.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from symkin.errors import Notes, SymkinError, warn_note
from symkin.model.inertia import Inertial, balanced, check_inertia, check_mass
from symkin.model.placement import Placement
from symkin.model.robot import RobotModel

STANDARD_GRAVITY = (0.0, 0.0, -9.81)
"""Gravity in the base frame (the world's for a floating base) unless told otherwise, m/s²."""


class _OnOneLink:
    """What an output fixed to one link is called and which link it needs."""

    link: str
    name: str | None

    @property
    def label(self) -> str:
        return self.name if self.name is not None else self.link

    @property
    def links(self) -> tuple[str, ...]:
        return (self.link,)


@dataclass(frozen=True)
class Pose(_OnOneLink):
    """The pose ``X_base_frame`` of a link or site, optionally moved by a fixed ``offset``, and its
    geometric Jacobian: a tip of the module (``forward``, ``jacobian``, ``forward_and_jacobian``).

    Attributes:
        link: the link (or MJCF site) the frame is fixed to.
        offset: the frame's placement relative to the link (metres, radians).
        name: what the module calls the tip; default the link's name.
    """

    link: str
    offset: Placement = Placement()
    name: str | None = None

    kind: ClassVar[str] = "poses"
    rotation: ClassVar[bool] = True


@dataclass(frozen=True)
class Point(_OnOneLink):
    """A point fixed to a link: its position in the base frame, without rotation, and its Jacobian
    (the module's ``points`` and ``points_jacobian``, one row per point).

    Attributes:
        link: the link the point is fixed to.
        offset: the point in the link's frame (metres).
        name: what the module calls the point; default the link's name.
    """

    link: str
    offset: tuple[float, float, float] = (0.0, 0.0, 0.0)
    name: str | None = None

    kind: ClassVar[str] = "points"
    rotation: ClassVar[bool] = False


@dataclass(frozen=True)
class WeightedPoints:
    """Points fixed to links, with non-negative weights: their weighted mean in the base frame and
    its Jacobian. The centre of mass is the links' centres of mass weighted by their masses
    (:func:`~symkin.model.inertia.center_of_mass_points`).

    The module gets ``<name>(q)`` → (..., 3), ``<name>_jacobian(q)`` → (..., 3, n), and the sum of
    the weights as the attribute ``<total>``. Points fixed to one rigid body are merged into one.

    Attributes:
        name: the function's name, a Python identifier (``center_of_mass``).
        points: the points.
        weights: one per point (kilograms for a centre of mass).
        total: the name of the module attribute holding the sum of the weights (``mass``).
    """

    name: str
    points: tuple[Point, ...]
    weights: tuple[float, ...]
    total: str = "total_weight"

    kind: ClassVar[str] = "weighted_points"
    rotation: ClassVar[bool] = False

    def __post_init__(self) -> None:
        for identifier in (self.name, self.total):
            if not identifier.isidentifier() or not identifier.isascii():
                raise SymkinError(f"{identifier!r} is not a Python identifier")
        if len(self.points) != len(self.weights):
            raise SymkinError(
                f"{self.name}: {len(self.points)} points but {len(self.weights)} weights"
            )
        if not all(math.isfinite(weight) and weight >= 0 for weight in self.weights):
            raise SymkinError(f"{self.name}: a weight is negative or not finite")
        if not any(weight > 0 for weight in self.weights):
            raise SymkinError(f"{self.name}: no point has a positive weight")

    @property
    def label(self) -> str:
        return self.name

    @property
    def links(self) -> tuple[str, ...]:
        return tuple(point.link for point in self.points)


@dataclass(frozen=True)
class Velocities:
    """The tips' velocities, the time derivatives of their Jacobians, and their accelerations with
    no joint acceleration: ``tip_velocity(q, v)`` = J v, ``jacobian_derivative(q, v)`` = dJ/dt
    along v, ``acceleration_bias(q, v)`` = (dJ/dt) v, for every tip of the module."""

    kind: ClassVar[str] = "velocities"
    rotation: ClassVar[bool] = False

    @property
    def label(self) -> str:
        return self.kind

    @property
    def links(self) -> tuple[str, ...]:
        return ()


@dataclass(frozen=True)
class RigidBodies:
    """The robot's rigid-body dynamics: ``inverse_dynamics``, ``mass_matrix``,
    ``gravity_torques``, ``nonlinear_effects`` and ``forward_dynamics`` over the links' masses and
    inertias, with the base at the model's root, fixed or floating. Links welded together are one
    rigid body.

    Attributes:
        bodies: ``(link, Inertial)`` of every link with mass or inertia, checked physical.
        gravity: the gravitational acceleration in the base (floating: world) frame, m/s².
    """

    bodies: tuple[tuple[str, Inertial], ...]
    gravity: tuple[float, float, float] = STANDARD_GRAVITY

    kind: ClassVar[str] = "dynamics"
    rotation: ClassVar[bool] = True

    def __post_init__(self) -> None:
        if not all(math.isfinite(g) for g in self.gravity):
            raise SymkinError(f"gravity {self.gravity} is not finite")

    @property
    def label(self) -> str:
        return self.kind

    @property
    def links(self) -> tuple[str, ...]:
        return tuple(link for link, _ in self.bodies)


@dataclass(frozen=True)
class CollisionSpheres:
    """Spheres fixed to links, covering their collision geometry: the module's
    ``collision_spheres``, ``self_collision_distances`` over the checked pairs of links, and
    ``obstacle_distances`` (:mod:`symkin.collision` fits them and picks the pairs).

    Attributes:
        spheres: ``(link, centre in the link's frame, radius)``, metres.
        pairs: the pairs of links whose distance ``self_collision_distances`` gives.
    """

    spheres: tuple[tuple[str, tuple[float, float, float], float], ...]
    pairs: tuple[tuple[str, str], ...]

    kind: ClassVar[str] = "collision"
    rotation: ClassVar[bool] = False

    def __post_init__(self) -> None:
        if not self.spheres:
            raise SymkinError("no collision spheres: the robot has no collision geometry")
        for link, centre, radius in self.spheres:
            if not (math.isfinite(radius) and radius > 0) or not all(map(math.isfinite, centre)):
                raise SymkinError(f"link {link!r}: a collision sphere is not finite and positive")
        with_spheres = set(self.links)
        for first, second in self.pairs:
            if first == second or not {first, second} <= with_spheres:
                raise SymkinError(
                    f"collision pair ({first!r}, {second!r}): not two links with spheres"
                )

    @property
    def label(self) -> str:
        return self.kind

    @property
    def links(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(link for link, _, _ in self.spheres))


Output = Pose | Point | WeightedPoints | Velocities | RigidBodies | CollisionSpheres
"""An output kind."""


def center_of_mass(model: RobotModel) -> WeightedPoints:
    """The robot's centre of mass as an output: every link with mass (fixed ones included), at its
    centre of mass, weighted by its mass (kg); ``mass`` is their sum. SymkinError naming a link
    whose mass properties are unusable, or when no link has mass."""
    points, masses = [], []
    for link, inertial in model.inertials:
        check_mass(link, inertial)
        if inertial.mass > 0:
            points.append(Point(link, inertial.center))
            masses.append(inertial.mass)
    if not points:
        raise SymkinError(f"robot {model.name!r} has no mass: no link has a positive mass")
    return WeightedPoints("center_of_mass", tuple(points), tuple(masses), total="mass")


def rigid_bodies(
    model: RobotModel,
    gravity: tuple[float, float, float] | None = None,
    balance_inertia: bool = False,
    notes: Notes | None = None,
) -> RigidBodies:
    """The robot's dynamics as an output: every link with mass or inertia, under ``gravity``
    (default: the file's, MJCF's ``<option gravity>``, else :data:`STANDARD_GRAVITY`).

    SymkinError naming a link whose mass or inertia is not physical (negative or non-finite mass,
    an inertia that is not positive semi-definite or breaks the triangle inequality), or when no
    link has mass. With ``balance_inertia``, such inertias are made isotropic instead
    (:func:`~symkin.model.inertia.balanced`), each named in a note."""
    bodies = []
    for link, inertial in model.inertials:
        check_mass(link, inertial)
        repaired = balanced(inertial) if balance_inertia else None
        if repaired is not None:
            (notes or warn_note)(
                f"link {link!r}: inertia {inertial.inertia} made isotropic, "
                f"{repaired.inertia[0]:.6g} kg·m² about every axis (--balance-inertia)"
            )
            inertial = repaired
        check_inertia(link, inertial)
        if inertial.mass > 0 or any(inertial.inertia):
            bodies.append((link, inertial))
    if not any(inertial.mass > 0 for _, inertial in bodies):
        raise SymkinError(f"robot {model.name!r} has no mass: no link has a positive mass")
    if gravity is None:
        gravity = model.gravity if model.gravity is not None else STANDARD_GRAVITY
    return RigidBodies(tuple(bodies), gravity)
