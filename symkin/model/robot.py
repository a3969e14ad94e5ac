"""The kinematic model: links, joints and fixed placements, shared by every input format.

A model is immutable and validated when built: every later stage can rely on a
single tree with unique names, existing parents and children, unit axes,
ordered limits and finite numbers. Lengths are in metres, angles in
radians.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal, get_args

from symkin.errors import SymkinError
from symkin.model.geometry import CollisionGeometry
from symkin.model.inertia import Inertial
from symkin.model.placement import Quaternion, Step, Translation

JointType = Literal["revolute", "continuous", "prismatic", "ball", "fixed"]
JOINT_TYPES: tuple[JointType, ...] = get_args(JointType)

ALL_LEAVES = "all-leaves"
"""As ``tips``: every leaf link below the base, those rigidly fixed to it included."""

_LINKS_SHOWN = 12
"""How many link names an unknown-link error lists."""


@dataclass(frozen=True)
class Mimic:
    """``q_this = multiplier * q_joint + offset`` for the joint named ``joint``."""

    joint: str
    multiplier: float = 1.0
    offset: float = 0.0


@dataclass(frozen=True)
class Joint:
    """A joint from ``parent`` link to ``child`` link.

    The child frame is ``X_parent_child = placement · motion(q)``: first the
    fixed ``origin`` steps, then a rotation by ``q`` about ``axis`` (revolute,
    continuous) or a translation by ``q`` along it (prismatic). ``axis`` is a
    unit vector in the joint frame. A ``ball`` joint turns by a unit quaternion
    (w, x, y, z), four entries of q (MuJoCo's qpos), and moves with an angular
    velocity in the child frame, three entries of v (MuJoCo's qvel); it has no
    axis, limits or mimic. ``lower``/``upper`` are in radians or metres,
    infinite when unbounded. ``line`` is where the joint was declared, for
    error messages.
    """

    name: str
    type: JointType
    parent: str
    child: str
    origin: tuple[Step, ...] = ()
    axis: tuple[float, float, float] = (0.0, 0.0, 1.0)
    lower: float = -math.inf
    upper: float = math.inf
    mimic: Mimic | None = None
    line: int | None = field(default=None, compare=False)

    @property
    def moves(self) -> bool:
        return self.type != "fixed"

    @property
    def coordinate_names(self) -> tuple[str, ...]:
        """The names of the joint's entries of q: itself, or a ball's ``<name>:qw`` … ``:qz``."""
        if self.type == "ball":
            return tuple(f"{self.name}:q{part}" for part in "wxyz")
        return (self.name,)

    @property
    def velocity_names(self) -> tuple[str, ...]:
        """The names of the joint's entries of v (a Jacobian's columns): itself, or a ball's
        angular velocity about its child's axes, ``<name>:wx``, ``:wy``, ``:wz``."""
        if self.type == "ball":
            return tuple(f"{self.name}:w{part}" for part in "xyz")
        return (self.name,)

    @property
    def label(self) -> str:
        """How error messages name this joint."""
        where = f" (line {self.line})" if self.line is not None else ""
        return f"joint {self.name!r}{where}"


@dataclass(frozen=True)
class PathStep:
    """A joint on the way between two links; ``upward`` when it is crossed from its child to its
    parent."""

    joint: Joint
    upward: bool


@dataclass(frozen=True)
class ResolvedMimic:
    """A joint's value as an affine function of an actuated joint: ``multiplier*q[source] +
    offset``."""

    source: str
    multiplier: float
    offset: float


@dataclass(frozen=True)
class RobotModel:
    """A kinematic tree. Build it with :func:`build_model`, which validates it.

    Attributes:
        name: the robot's name.
        links: every link name, in declaration order.
        joints: every joint, in declaration order.
        floating: whether the root link is a free body (a URDF root ``floating`` joint, an MJCF
            ``free`` joint): its pose in the world is an input of the compiled module.
        sites: links that are frames attached to a body (MJCF sites and named geoms): tips when
            asked for, never leaves; a body with only sites below it is a leaf.
        inertials: ``(link, Inertial)`` for the links with mass properties, in declaration order;
            the others are massless.
        gravity: the gravitational acceleration the file states (MJCF's ``<option gravity>``),
            m/s² in the root's (world's) frame; None when it states none (URDF, DH).
        coordinates: ``(joint, qpos address, qvel address)`` for every moving joint of a model
            read from MJCF (MuJoCo's ``jnt_qposadr``, ``jnt_dofadr``); q then follows qpos order.
            Empty for other formats.
        elements: ``(link, kind, id)`` for the links that are a MuJoCo body, site or geom (kind
            ``"body"``, ``"site"``, ``"geom"``) and its id in the compiled model; empty for other
            formats.
        collisions: the solid shapes fixed to links (URDF ``<collision>``, MJCF collision geoms).
    """

    name: str
    links: tuple[str, ...]
    joints: tuple[Joint, ...]
    floating: bool = False
    sites: tuple[str, ...] = ()
    inertials: tuple[tuple[str, Inertial], ...] = ()
    gravity: tuple[float, float, float] | None = None
    coordinates: tuple[tuple[str, int, int], ...] = ()
    elements: tuple[tuple[str, str, int], ...] = ()
    collisions: tuple[CollisionGeometry, ...] = ()

    def inertial(self, link: str) -> Inertial | None:
        """The link's mass properties, None for a massless link."""
        return dict(self.inertials).get(link)

    @cached_property
    def _joint_by_name(self) -> dict[str, Joint]:
        return {j.name: j for j in self.joints}

    @cached_property
    def _joint_to_child(self) -> dict[str, Joint]:
        return {j.child: j for j in self.joints}

    @cached_property
    def root(self) -> str:
        """The one link that is nobody's child."""
        return next(link for link in self.links if link not in self._joint_to_child)

    @cached_property
    def leaves(self) -> tuple[str, ...]:
        """Links that are nobody's parent (sites aside), in declaration order; no site is a leaf."""
        sites = set(self.sites)
        parents = {j.parent for j in self.joints if j.child not in sites}
        return tuple(link for link in self.links if link not in parents and link not in sites)

    def joint(self, name: str) -> Joint:
        return self._joint_by_name[name]

    def parent_joint(self, link: str) -> Joint | None:
        """The joint whose child is ``link``; None for the root."""
        return self._joint_to_child.get(link)

    def is_below(self, link: str, base: str) -> bool:
        """Whether ``link`` is ``base`` or one of its descendants."""
        return base in self._ancestry(link)

    def _ancestry(self, link: str) -> list[str]:
        """``link``, its parent, its grandparent … up to the root."""
        lineage = [link]
        while (joint := self._joint_to_child.get(lineage[-1])) is not None:
            lineage.append(joint.parent)
        return lineage

    def path(self, base: str, tip: str) -> tuple[PathStep, ...]:
        """The joints from ``base`` to ``tip``, in the order they are crossed.

        The path goes up from ``base`` to the nearest link above both, crossing
        those joints from child to parent (``upward``), then down to ``tip``.
        Raises SymkinError if either link is unknown.
        """
        for role, link in (("base", base), ("tip", tip)):
            if link not in self._link_set:
                raise SymkinError(self.unknown_link_message(role, link))
        up, down = self._ancestry(base), self._ancestry(tip)
        common = next(link for link in up if link in set(down))
        rising = [
            PathStep(self._joint_to_child[link], upward=True) for link in up[: up.index(common)]
        ]
        falling = [
            PathStep(self._joint_to_child[link], upward=False)
            for link in down[: down.index(common)]
        ]
        return tuple(rising + falling[::-1])

    @cached_property
    def _link_set(self) -> frozenset[str]:
        return frozenset(self.links)

    def unknown_link_message(self, role: str, name: str) -> str:
        """One line saying that ``name`` is not a link, naming close matches first, then other
        links; a joint's name is answered with its child link."""
        close = difflib.get_close_matches(name, self.links, n=3, cutoff=0.6)
        hint = f": did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        if name in self._joint_by_name:
            child = self._joint_by_name[name].child
            hint = f": {name!r} is a joint; the link it moves is {child!r}"
        shown = [*close, *(link for link in self.links if link not in close)][:_LINKS_SHOWN]
        more = f", … ({len(self.links)} links)" if len(self.links) > len(shown) else ""
        links = f"Links: {', '.join(shown)}{more}"
        return f"{role} link {name!r} is not in robot {self.name!r}{hint} {links}"

    def resolve_mimic(self, joint: Joint) -> ResolvedMimic:
        """The actuated joint that drives the moving ``joint``, following mimic chains.

        Mimic relations are checked here, where they are used, so that a robot
        whose unused parts carry a broken ``<mimic>`` still loads. Raises
        SymkinError for a missing or fixed source joint and for a cycle.
        """
        multiplier, offset = 1.0, 0.0
        visited = [joint.name]
        current = joint
        while current.mimic is not None:
            source = self._joint_by_name.get(current.mimic.joint)
            if source is None:
                raise SymkinError(
                    f"{current.label}: mimics joint {current.mimic.joint!r}, which is not declared"
                )
            if current.type == "ball":
                raise SymkinError(f"{current.label}: a ball joint cannot mimic another joint")
            if not source.moves or source.type == "ball":
                kind = "fixed" if not source.moves else "ball"
                raise SymkinError(f"{current.label}: mimics {kind} joint {source.name!r}")
            if source.name in visited:
                cycle = " -> ".join(repr(n) for n in [*visited, source.name])
                raise SymkinError(f"{joint.label}: mimic joints form a cycle ({cycle})")
            # q_this = m*q_src + o, and q_src = m'*q_root + o' gives m*m'*q_root + (m*o' + o).
            offset = offset + multiplier * current.mimic.offset
            multiplier = multiplier * current.mimic.multiplier
            visited.append(source.name)
            current = source
        return ResolvedMimic(current.name, multiplier, offset)

    def actuated_joints(self, base: str, tips: Sequence[str]) -> tuple[str, ...]:
        """The joint names that make up q, in order.

        Walking from ``base`` to each tip in turn (see :meth:`path`), every moving
        joint met adds its actuated source (itself, or the joint it mimics) the
        first time it is seen. A model read from MJCF orders them as MuJoCo's qpos
        does instead, whatever the tips (see ``coordinates``).
        """
        order: dict[str, None] = {}
        for tip in tips:
            for step in self.path(base, tip):
                if step.joint.moves:
                    order.setdefault(self.resolve_mimic(step.joint).source, None)
        if self.coordinates:
            address = {name: qpos for name, qpos, _ in self.coordinates}
            return tuple(sorted(order, key=address.__getitem__))
        return tuple(order)


def default_tips(
    model: RobotModel, base: str, floating: bool = False
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The tips a module has when none are named, and the leaves left out of them.

    The candidates are the leaf links below ``base`` (every leaf, when nothing is below it), sites
    and ``base`` itself aside; for a body alone, its sites; for a free body alone without sites
    (``floating``), the body itself. Those the path from ``base`` crosses no moving joint to are
    left out (a link rigidly fixed to the base: an IMU, a logo, a caster's mount), unless none
    moves. Raises SymkinError when there is no candidate at all.
    """
    below = tuple(leaf for leaf in model.leaves if leaf != base and model.is_below(leaf, base))
    candidates = (
        below
        or tuple(leaf for leaf in model.leaves if leaf != base)
        or model.sites
        or ((base,) if floating else ())
    )
    if not candidates:
        raise SymkinError(
            f"robot {model.name!r} has no link other than {base!r} (a free body alone: "
            "--floating-base)"
        )
    rigid = tuple(
        tip for tip in candidates if not any(step.joint.moves for step in model.path(base, tip))
    )
    if len(rigid) == len(candidates):
        return candidates, ()
    return tuple(tip for tip in candidates if tip not in rigid), rigid


def build_model(
    name: str,
    links: tuple[str, ...],
    joints: tuple[Joint, ...],
    floating: bool = False,
    sites: tuple[str, ...] = (),
    inertials: tuple[tuple[str, Inertial], ...] = (),
    gravity: tuple[float, float, float] | None = None,
    coordinates: tuple[tuple[str, int, int], ...] = (),
    elements: tuple[tuple[str, str, int], ...] = (),
    collisions: tuple[CollisionGeometry, ...] = (),
) -> RobotModel:
    """Validate and assemble a :class:`RobotModel`.

    Raises SymkinError naming the element and the problem when the links and
    joints do not form one tree, a name repeats, an axis is not a unit vector,
    a number is not finite, or limits are reversed. Mimic relations are
    checked by :meth:`RobotModel.resolve_mimic` when a chain uses them; a
    ``mimic`` on a fixed joint has no effect.
    """
    if not links:
        raise SymkinError(f"robot {name!r} has no links")
    seen_links: set[str] = set()
    for link in links:
        if link in seen_links:
            raise SymkinError(f"link {link!r} is declared twice")
        seen_links.add(link)
    joint_by_name: dict[str, Joint] = {}
    child_of: dict[str, Joint] = {}
    for joint in joints:
        _check_joint(joint)
        if joint.name in joint_by_name:
            raise SymkinError(f"{joint.label}: a joint with this name is already declared")
        joint_by_name[joint.name] = joint
        for role, link in (("parent", joint.parent), ("child", joint.child)):
            if link not in seen_links:
                close = difflib.get_close_matches(link, links, n=1, cutoff=0.6)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise SymkinError(f"{joint.label}: {role} link {link!r} is not declared{hint}")
        if joint.parent == joint.child:
            raise SymkinError(f"{joint.label}: parent and child are the same link {joint.child!r}")
        if joint.child in child_of:
            raise SymkinError(
                f"{joint.label}: link {joint.child!r} already has parent joint "
                f"{child_of[joint.child].name!r}"
            )
        child_of[joint.child] = joint
    roots = [link for link in links if link not in child_of]
    if not roots:
        raise SymkinError("the joints form a cycle: no link is a root")
    if len(roots) > 1:
        listed = ", ".join(repr(r) for r in roots[:5]) + (", ..." if len(roots) > 5 else "")
        raise SymkinError(
            f"the robot is not one tree: {len(roots)} links have no parent joint ({listed})"
        )
    _check_reachable(roots[0], links, joints)
    for link, _ in inertials:
        if link not in seen_links:
            raise SymkinError(f"mass properties are given for link {link!r}, which is not declared")
    for geometry in collisions:
        if geometry.link not in seen_links:
            raise SymkinError(
                f"collision geometry is given for link {geometry.link!r}, which is not declared"
            )
    moving = {joint.name for joint in joints if joint.moves}
    if coordinates and {name for name, _, _ in coordinates} != moving:
        raise SymkinError("qpos addresses must be given for exactly the moving joints")
    return RobotModel(
        name=name,
        links=tuple(links),
        joints=tuple(joints),
        floating=floating,
        sites=tuple(sites),
        inertials=tuple(inertials),
        coordinates=tuple(coordinates),
        elements=tuple(elements),
        gravity=gravity,
        collisions=tuple(collisions),
    )


def planar_joints(
    name: str,
    parent: str,
    child: str,
    origin: tuple[Step, ...],
    normal: tuple[float, float, float],
    lower: float = -math.inf,
    upper: float = math.inf,
    line: int | None = None,
) -> tuple[tuple[str, ...], tuple[Joint, ...]]:
    """A planar joint as three: ``name:x`` and ``name:y`` slide along two in-plane axes,
    ``name:theta`` turns about the unit ``normal``. Returns the two links between them and the three
    joints.

    The in-plane axes are u = the x axis made orthogonal to the normal (the y axis when the normal
    is nearly x), and v = normal × u: for the usual normal z, they are x and y. ``lower``/``upper``
    bound both translations; the rotation is unbounded.
    """
    nx, ny, nz = normal
    seed = (1.0, 0.0, 0.0) if abs(nx) < 0.9 else (0.0, 1.0, 0.0)
    dot = seed[0] * nx + seed[1] * ny + seed[2] * nz
    ux, uy, uz = (s - dot * n for s, n in zip(seed, normal, strict=True))
    norm = math.hypot(ux, uy, uz)
    u = (ux / norm, uy / norm, uz / norm)
    v = (ny * u[2] - nz * u[1], nz * u[0] - nx * u[2], nx * u[1] - ny * u[0])
    slid_x, slid_y = f"{name}:x", f"{name}:y"
    joints = (
        Joint(slid_x, "prismatic", parent, slid_x, origin, u, lower, upper, line=line),
        Joint(slid_y, "prismatic", slid_x, slid_y, (), v, lower, upper, line=line),
        Joint(f"{name}:theta", "continuous", slid_y, child, (), normal, line=line),
    )
    return (slid_x, slid_y), joints


def _check_joint(joint: Joint) -> None:
    if joint.type not in JOINT_TYPES:
        raise SymkinError(f"{joint.label}: unknown joint type {joint.type!r}")
    finite = list(joint.axis)
    for step in joint.origin:
        if isinstance(step, Quaternion):
            finite.extend(step.wxyz)
            if not any(step.wxyz):
                raise SymkinError(f"{joint.label}: an orientation quaternion is zero")
        else:
            finite.extend(step.xyz if isinstance(step, Translation) else (step.angle,))
    if joint.mimic is not None:
        finite += [joint.mimic.multiplier, joint.mimic.offset]
    if not all(math.isfinite(v) for v in finite):
        raise SymkinError(f"{joint.label}: an axis, origin or mimic number is NaN or infinite")
    if math.isnan(joint.lower) or math.isnan(joint.upper):
        raise SymkinError(f"{joint.label}: a limit is NaN")
    if joint.moves and abs(math.hypot(*joint.axis) - 1.0) > 1e-12:
        raise SymkinError(f"{joint.label}: axis {joint.axis} is not a unit vector")
    if joint.lower > joint.upper:
        raise SymkinError(
            f"{joint.label}: lower limit {joint.lower} is above upper limit {joint.upper}"
        )


def _check_reachable(root: str, links: tuple[str, ...], joints: tuple[Joint, ...]) -> None:
    children: dict[str, list[str]] = {}
    for joint in joints:
        children.setdefault(joint.parent, []).append(joint.child)
    reached = {root}
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), ()):
            reached.add(child)
            stack.append(child)
    if len(reached) != len(links):
        cut_off = next(link for link in links if link not in reached)
        raise SymkinError(
            f"the joints form a cycle: link {cut_off!r} is not reachable from root {root!r}"
        )
