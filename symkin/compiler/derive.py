"""Derive the column program of a robot's outputs (:mod:`symkin.compiler.column_program`), exactly.

Frames are composed joint by joint from the base along the path to each located link (up to the
nearest common ancestor, crossing those joints inverted, then down). What keeps the program
small:

- fixed joints are folded into exact constant placements; a quarter turn (within 1e-10 rad of
  a multiple of π/2) has cosine and sine exactly 0 or ±1, so its columns are renamings, free;
- constant vectors (the base frame, fixed offsets near the base) are folded exactly, and a
  combination with one unit term is the vector it names;
- where consecutive revolute axes are parallel the rotation is built from the angle sum
  (``cos(q2 + q3)``, the textbook ``c23``), and a constant turn about the last joint's axis is
  added to that joint's angle;
- points of one rigid body with weights (a centre of mass) are merged into one point first;
- the Jacobian is not derived: each moving joint records its axis and origin vectors, and
  column ``[z × (p − o); z]`` (revolute) or ``[z; 0]`` (prismatic) is formed from them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import sympy as sp

from symkin.compiler.column_program import (
    DerivedOutput,
    ExactComponents,
    Kinematics,
    Located,
    Motion,
    Signature,
    Vector,
)
from symkin.compiler.exact import (
    Rot,
    Vec,
    angle_about,
    chain,
    compose_steps,
    exact,
    exact_vector,
    integral_exact,
    inverse,
    same_direction,
    unit_quaternion_matrix,
)
from symkin.compiler.outputs import (
    CollisionSpheres,
    Output,
    Point,
    Pose,
    RigidBodies,
    Velocities,
    WeightedPoints,
)
from symkin.compiler.requests import check_requests, joint_columns, module_signature, tip_poses
from symkin.compiler.tree_form import tree_form
from symkin.errors import Notes, SymkinError, warn_note
from symkin.model.inertia import inertia_matrix, joined_inertia, scaled_principal_axes
from symkin.model.placement import Step, transform
from symkin.model.robot import Joint, PathStep, RobotModel
from symkin.model.rotations import axis_rotation


def derive(
    model: RobotModel,
    tips: Sequence[str] | str | None = None,
    base: str | None = None,
    floating_base: bool | None = None,
    outputs: Sequence[Output] = (),
    notes: Notes | None = None,
) -> Kinematics:
    """Derive the column program of ``model``'s outputs relative to ``base``.

    Args:
        model: the robot.
        tips: the links whose poses and Jacobians the module computes, in output order (a single
            name is one tip; :data:`~symkin.model.robot.ALL_LEAVES` every leaf). Default, unless
            ``outputs`` has a :class:`~symkin.compiler.outputs.Pose`: the leaves that move
            relative to the base, with a note naming the leaves left out.
        base: the base link, any link of the robot; default the model's root.
        floating_base: whether the base is a free body whose world pose is an input of the compiled
            module; default whether the model's root is one (a URDF root ``floating`` joint).
        outputs: more outputs (:mod:`symkin.compiler.outputs`), after the tips.
        notes: where remarks go (default: :class:`~symkin.errors.SymkinNote` warnings).
    """
    base = model.root if base is None else base
    if base not in model.links:
        raise SymkinError(model.unknown_link_message("base", base))
    floating = model.floating if floating_base is None else floating_base
    requests = (*tip_poses(model, tips, base, floating, outputs, notes or warn_note), *outputs)
    poses = tuple(r for r in requests if isinstance(r, Pose))
    requests = (*poses, *(r for r in requests if not isinstance(r, Pose)))
    check_requests(model, requests, base, floating)
    joints = [
        model.joint(name)
        for name in model.actuated_joints(base, [link for r in requests for link in r.links])
    ]
    columns = joint_columns(joints)
    signature = module_signature(model, base, floating, poses, joints, columns)
    deriver = _Deriver(model, signature, columns)
    kinematics = deriver.run(requests)
    bodies, points = deriver.body_placements, deriver.point_placements
    tree = tree_form(model, signature, poses, bodies, kinematics.motions, points)
    return replace(kinematics, tree=tree)


@dataclass(frozen=True)
class _Turn:
    """How a revolute joint made its child's rotation: ``R = columns · Rot(axis, angle)``."""

    columns: tuple[int, ...]
    axis: Vec
    angle: sp.Expr


@dataclass(frozen=True)
class _Frame:
    """``X_base_link = (columns, origin) · pending``: the columns of a moving frame, then a
    constant placement (``pending_rotation``, ``pending_translation``) in that frame.

    ``turn`` records how the columns were made when the last moving joint crossed is revolute;
    ``motions`` are the motions crossed from the base.
    """

    columns: tuple[int, ...]
    origin: int
    pending_rotation: Rot
    pending_translation: Vec
    motions: tuple[int, ...] = ()
    turn: _Turn | None = None

    def placed(self, steps: tuple[Step, ...]) -> _Frame:
        """This frame moved by the constant placement of ``steps`` in its own axes."""
        rotation, translation = compose_steps(
            self.pending_rotation, self.pending_translation, steps
        )
        return self.pending(rotation, translation)

    def then(self, rotation: Rot, translation: Vec) -> _Frame:
        """This frame moved by the constant placement (rotation, translation) in its own axes."""
        rotation, translation = chain(
            self.pending_rotation, self.pending_translation, rotation, translation
        )
        return self.pending(rotation, translation)

    def pending(self, rotation: Rot, translation: Vec) -> _Frame:
        """This frame's moving part with the constant placement (rotation, translation) after it."""
        return _Frame(
            self.columns,
            self.origin,
            rotation,
            translation,
            self.motions,
            self.turn,
        )


class _Deriver:
    def __init__(
        self, model: RobotModel, signature: Signature, columns: dict[str, tuple[int, int]]
    ) -> None:
        """``columns``: each actuated joint's first index in q and in v."""
        self.model = model
        self.signature = signature
        self.q = tuple(sp.Symbol(f"q{i + 1}", real=True) for i in range(len(signature.joint_names)))
        self.columns = columns
        self.vectors: list[Vector] = []
        self.constants: dict[ExactComponents, int] = {}
        self.combinations: dict[tuple[tuple[sp.Expr, int], ...], int] = {}
        self.motions: list[Motion] = []
        # Each rigid body's link and 4×4 placement [u0 u1 u2 centre] on its moving frame, and each
        # weighted output's points' and the collision spheres' centres ([I p], p in the link's
        # frame), for the tree form.
        self.body_placements: list[tuple[str, np.ndarray]] = []
        self.point_placements: dict[str, list[tuple[str, np.ndarray]]] = {}
        self.joint: str | None = None
        base = signature.base
        units = ((1, 0, 0, 0), (0, 1, 0, 0), (0, 0, 1, 0))
        x, y, z = (self._constant(unit, base, f"R{k}") for k, unit in enumerate(units))
        origin = self._constant((0, 0, 0, 1), base, "p")
        self.frames = {base: _Frame((x, y, z), origin, sp.eye(3), sp.zeros(3, 1))}

    def run(self, requests: Sequence[Output]) -> Kinematics:
        outputs = [DerivedOutput(request, self._locate(request)) for request in requests]
        return Kinematics(
            self.signature, self.q, tuple(self.vectors), tuple(self.motions), tuple(outputs)
        )

    def _locate(self, request: Output) -> tuple[Located, ...]:
        if isinstance(request, Velocities):
            return ()  # the tips' own frames and motions
        if isinstance(request, Pose):
            frame = self._frame(request.link).placed(request.offset.steps())
            return (
                Located(request.label, self._frame_columns(frame, request.label), frame.motions),
            )
        if isinstance(request, Point):
            frame = self._frame(request.link)
            point = self._point(frame, exact_vector(request.offset), request.label, "p")
            return (Located(request.label, (point,), frame.motions),)
        if isinstance(request, RigidBodies):
            return self._rigid_bodies(request)
        if isinstance(request, CollisionSpheres):
            return tuple(self._sphere(link, centre) for link, centre, _ in request.spheres)
        return self._weighted_points(request)

    def _sphere(self, link: str, centre: tuple[float, float, float]) -> Located:
        frame = self._frame(link)
        point = self._point(frame, exact_vector(centre), link, "sphere")
        # For the tree form, the centre in the link's frame.
        placement = np.eye(4)
        placement[:3, 3] = centre
        self.point_placements.setdefault(CollisionSpheres.kind, []).append((link, placement))
        return Located(link, (point,), frame.motions)

    def _rigid_bodies(self, request: RigidBodies) -> tuple[Located, ...]:
        """One frame per rigid body (links welded together are one), weighted by its mass: its
        inertia's principal axes scaled by the square roots of the principal moments, u_k =
        √λ_k r_k, so that its rotational inertia about the centre of mass is Σ u_k u_kᵀ, and its
        centre of mass. Masses, centres and inertias are combined in float64."""
        bodies: dict[tuple, tuple[_Frame, str, list[tuple[float, np.ndarray, np.ndarray]]]] = {}
        for link, inertial in request.bodies:
            frame = self._frame(link)
            placement = np.array(frame.pending_rotation.tolist(), dtype=float)
            rotation, center = transform(inertial.origin)
            axes = placement @ np.array(rotation)
            inertia = axes @ inertia_matrix(inertial.inertia) @ axes.T
            where = (
                placement @ np.array(center)
                + np.array(frame.pending_translation.tolist(), dtype=float).ravel()
            )
            key = (frame.columns, frame.origin, frame.motions)
            bodies.setdefault(key, (frame, link, []))[2].append((inertial.mass, where, inertia))
        located = []
        for frame, link, parts in bodies.values():
            mass, body_center, inertia = joined_inertia(parts)
            moving = _Frame(frame.columns, frame.origin, sp.eye(3), sp.zeros(3, 1), frame.motions)
            scaled_axes = sp.Matrix(scaled_principal_axes(inertia).tolist())
            columns = self._combine(moving.columns, scaled_axes, link, "inertia")
            com = self._point(moving, exact_vector(body_center.tolist()), link, "com")
            located.append(Located(link, (*columns, com), frame.motions, mass))
            placement = np.eye(4)
            placement[:3, :3], placement[:3, 3] = scaled_principal_axes(inertia), body_center
            self.body_placements.append((link, placement))
        return tuple(located)

    def _weighted_points(self, request: WeightedPoints) -> tuple[Located, ...]:
        """One point per rigid body: the weighted mean of its points (float64) and their weight."""
        bodies: dict[tuple, tuple[_Frame, str, list[tuple[float, list[float]]]]] = {}
        for point, weight in zip(request.points, request.weights, strict=True):
            if weight == 0:
                continue
            frame = self._frame(point.link)
            where = frame.pending_rotation * exact_vector(point.offset) + frame.pending_translation
            key = (frame.columns, frame.origin, frame.motions)
            bodies.setdefault(key, (frame, point.link, []))[2].append(
                (weight, [float(v) for v in where])
            )
        located = []
        for frame, link, weighted in bodies.values():
            total = sum(weight for weight, _ in weighted)
            mean = [sum(w * x[k] for w, x in weighted) / total for k in range(3)]
            moving = _Frame(frame.columns, frame.origin, sp.eye(3), sp.zeros(3, 1), frame.motions)
            index = self._point(moving, exact_vector(mean), link, "mean")
            located.append(Located(link, (index,), frame.motions, total))
            # For the tree form, the mean in ``link``'s own frame (which the tree places on its
            # node, whichever way the path crossed the joints).
            rotation = np.array(frame.pending_rotation.tolist(), dtype=float)
            shift = np.array(frame.pending_translation.tolist(), dtype=float).ravel()
            placement = np.eye(4)
            placement[:3, 3] = rotation.T @ (np.array(mean) - shift)
            self.point_placements.setdefault(request.name, []).append((link, placement))
        return tuple(located)

    def _frame(self, link: str) -> _Frame:
        """The frame of ``link``, crossing the joints on the way from the base that are not yet."""
        current = self.signature.base
        for step in self.model.path(self.signature.base, link):
            target = step.joint.parent if step.upward else step.joint.child
            if target not in self.frames:
                self.joint = step.joint.name
                self.frames[target] = self._cross_joint(self.frames[current], step)
            current = target
        self.joint = None
        return self.frames[link]

    # --- vectors
    # -------------------------------------------------------------------------------------

    def _constant(self, components: Sequence[object], frame: str, quantity: str) -> int:
        x, y, z, w = (integral_exact(sp.sympify(v)) for v in components)
        exact = (x, y, z, w)
        if exact not in self.constants:
            self.vectors.append(Vector(frame, quantity, constant=exact, joint=self.joint))
            self.constants[exact] = len(self.vectors) - 1
        return self.constants[exact]

    def _combination(self, terms: list[tuple[sp.Expr, int]], frame: str, quantity: str) -> int:
        """The vector ``Σ coefficient · vectors[source]``: constants folded exactly, and a single
        unit term the vector it names."""
        on_constants: dict[sp.Expr, list[tuple[sp.Expr, int]]] = {}
        moving: list[tuple[sp.Expr, int]] = []
        for coefficient, source in terms:
            if coefficient == 0:
                continue
            if self.vectors[source].constant is None:
                moving.append((coefficient, source))
            else:
                # Σ k_i·s·C_i = s·(Σ k_i·C_i): one term per scalar factor.
                number, factor = coefficient.as_coeff_Mul()
                on_constants.setdefault(factor, []).append((number, source))
        offset = self._fold(on_constants.pop(sp.Integer(1), []))
        if not moving and not on_constants:
            return self._constant(offset, frame, quantity)
        folded: list[tuple[sp.Expr, int]] = []
        if any(v != 0 for v in offset):
            folded.append((sp.Integer(1), self._constant(offset, frame, "offset")))
        folded += moving
        for factor, parts in on_constants.items():
            components = self._fold(parts)
            if len(parts) == 1:
                folded.append((parts[0][0] * factor, parts[0][1]))
            elif any(v != 0 for v in components):
                folded.append((factor, self._constant(components, frame, "offset")))
        if len(folded) == 1 and folded[0][0] == 1:
            return folded[0][1]
        key = tuple(folded)
        if key not in self.combinations:  # siblings placed alike share their columns
            self.vectors.append(Vector(frame, quantity, key, joint=self.joint))
            self.combinations[key] = len(self.vectors) - 1
        return self.combinations[key]

    def _fold(self, parts: list[tuple[sp.Expr, int]]) -> list[sp.Expr]:
        """``Σ number · constant vector``, exactly."""
        components = [sp.Integer(0)] * 4
        for number, source in parts:
            constant = self.vectors[source].constant
            assert constant is not None
            for k, value in enumerate(constant):
                components[k] += number * value
        return components

    def _combine(
        self,
        columns: tuple[int, ...],
        M: sp.Matrix,
        frame: str,
        quantity: str,
        offset: int | None = None,
    ) -> tuple[int, ...]:
        """The vectors of ``offset + columns · M``, one per column of ``M``."""
        result = []
        for c in range(M.cols):
            terms = [(M[k, c], columns[k]) for k in range(M.rows)]
            if offset is not None:
                terms.insert(0, (sp.Integer(1), offset))
            name = quantity if M.cols == 1 else f"{quantity}{c}"
            result.append(self._combination(terms, frame, name))
        return tuple(result)

    def _point(self, frame: _Frame, where: Vec, name: str, quantity: str) -> int:
        """The point at ``where`` in ``frame``'s link coordinates (after its pending placement)."""
        translation = frame.pending_rotation * where + frame.pending_translation
        (point,) = self._combine(frame.columns, translation, name, quantity, offset=frame.origin)
        return point

    # --- frames
    # --------------------------------------------------------------------------------------

    def _cross_joint(self, frame: _Frame, step: PathStep) -> _Frame:
        """The frame on the other side of ``step.joint``."""
        joint = step.joint
        if step.upward:
            # X_parent = X_child · motion⁻¹ · origin⁻¹: the motion first, then the inverted
            # placement.
            inverted = inverse(*compose_steps(sp.eye(3), sp.zeros(3, 1), joint.origin))
            if not joint.moves:
                return frame.then(*inverted)
            moved = self._move(frame, joint, upward=True)
            return _Frame(moved.columns, moved.origin, *inverted, moved.motions, moved.turn)
        placed = frame.placed(joint.origin)
        if not joint.moves:
            return placed
        return self._move(placed, joint, upward=False)

    def _move(self, frame: _Frame, joint: Joint, upward: bool) -> _Frame:
        """Apply ``joint``'s motion at ``frame`` (its inverse when ``upward``).

        Going down, ``frame`` is the joint's frame (the parent's with the joint's placement) and the
        result is the child link's; going up, ``frame`` is the child link's and the result the
        joint's.
        """
        sign = -1 if upward else 1
        before, after = (joint.child, joint.name) if upward else (joint.name, joint.child)
        if joint.type == "ball":
            return self._turn_ball(frame, joint, upward, before, after)
        axis = sp.Matrix([exact(a) for a in joint.axis])
        resolved = self.model.resolve_mimic(joint)
        q_column, v_column = self.columns[resolved.source]
        source = self.q[q_column]
        value = sign * (exact(resolved.multiplier) * source + exact(resolved.offset))
        revolute = joint.type in ("revolute", "continuous")
        # A revolute joint turns about the origin it shares with the child link: name the point
        # after the link.
        origin_frame = joint.child if revolute or upward else joint.name
        (origin,) = self._combine(
            frame.columns, frame.pending_translation, origin_frame, "p", offset=frame.origin
        )
        turn = frame.turn
        if (
            revolute
            and turn is not None
            and same_direction(frame.pending_rotation * axis, turn.axis)
        ):
            # Parallel axes: Rot(k, θp)·C·Rot(k', θ) = (R·C)·Rot(k', θp + θ) when C·k' = k, so the
            # rotation is built from the angle sum: cos(q2 + q3), the textbook c23.
            columns = self._combine(turn.columns, frame.pending_rotation, before, "R")
            value = turn.angle + value
        else:
            columns = self._combine(frame.columns, frame.pending_rotation, before, "R")
        if revolute:
            rotation = sp.Matrix(axis_rotation(axis, sp.cos(value), sp.sin(value)))
            moved = self._combine(columns, rotation, after, "R")
            p = origin
            turn = _Turn(columns, axis, value)
        else:
            moved = columns
            (p,) = self._combine(columns, axis * value, after, "p", offset=origin)
            turn = None
        (z,) = self._combine(moved, axis, joint.name, "axis")
        scale = sign * exact(resolved.multiplier)
        motion = self._motion(joint, revolute, z, origin, v_column, scale, upward)
        return _Frame(moved, p, sp.eye(3), sp.zeros(3, 1), (*frame.motions, motion), turn)

    def _motion(
        self,
        joint: Joint,
        revolute: bool,
        axis: int,
        origin: int,
        column: int,
        scale: sp.Expr,
        upward: bool,
    ) -> int:
        """Record a motion of ``joint`` (see :class:`Motion`); its index."""
        self.motions.append(
            Motion(
                joint.name, joint.parent, joint.child, revolute, axis, origin, column, scale, upward
            )
        )
        return len(self.motions) - 1

    def _turn_ball(
        self, frame: _Frame, joint: Joint, upward: bool, before: str, after: str
    ) -> _Frame:
        """A ball joint's rotation by its quaternion (made unit by the frame program before it is
        read: the runtimes' ``_unit_quaternions``), and its three motions: turns about the child's
        axes, at the child's origin (MuJoCo's ball dofs, Pinocchio's spherical joint)."""
        q_column, v_column = self.columns[joint.name]
        rotation = unit_quaternion_matrix(self.q[q_column : q_column + 4])
        (origin,) = self._combine(
            frame.columns, frame.pending_translation, joint.child, "p", offset=frame.origin
        )
        columns = self._combine(frame.columns, frame.pending_rotation, before, "R")
        moved = self._combine(columns, rotation.T if upward else rotation, after, "R")
        child_axes = columns if upward else moved
        scale = sp.Integer(-1 if upward else 1)
        motions = tuple(
            self._motion(joint, True, axis, origin, v_column + k, scale, upward)
            for k, axis in enumerate(child_axes)
        )
        return _Frame(moved, origin, sp.eye(3), sp.zeros(3, 1), (*frame.motions, *motions))

    def _frame_columns(self, frame: _Frame, name: str) -> tuple[int, ...]:
        """The rotation columns and origin of ``frame`` after its pending placement."""
        turn = frame.turn
        extra_turn = angle_about(frame.pending_rotation, turn.axis) if turn is not None else None
        if turn is not None and extra_turn is not None:
            # A constant turn about the last joint's own axis adds to its angle: one addition
            # instead of a 3×3 product (the Panda hand's -45° about joint 7's axis).
            angle = turn.angle + extra_turn
            rotation = sp.Matrix(axis_rotation(turn.axis, sp.cos(angle), sp.sin(angle)))
            R = self._combine(turn.columns, rotation, name, "R")
        else:
            R = self._combine(frame.columns, frame.pending_rotation, name, "R")
        (p,) = self._combine(
            frame.columns, frame.pending_translation, name, "p", offset=frame.origin
        )
        return (*R, p)
