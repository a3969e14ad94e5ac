"""Derive each tip's pose and geometric Jacobian in closed form with SymPy.

Frames are composed joint by joint from the base. Every non-trivial entry of a
moving link's frame becomes a fresh symbol with its own definition, so that
expression size and CSE time grow linearly with the number of joints (a single
expression tree for a 14-joint chain takes minutes to CSE). Fixed joints are
folded into exact constant placements; quarter turns (within 1e-10 rad of a
multiple of π/2) have exact cosines and sines (0, ±1), every other constant is the
float64 value from the input. Jacobian columns come from the geometric formula
``[z_j × (p_tip − p_j); z_j]`` (revolute) or ``[z_j; 0]`` (prismatic), reusing
the frames instead of differentiating.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import sympy as sp

from ._errors import SymkinError
from ._model import QUARTER_TURN_COS_SIN, Joint, RobotModel, Rotation, Step, Translation, quarter_turns


@dataclass(frozen=True)
class Definition:
    """``symbol = expr``: one entry of a frame, named after the link it belongs to.

    ``quantity`` says which entry: ``R01`` (rotation row 0, column 1), ``px``
    (origin x), ``zx`` (joint axis x, base-frame axes).
    """

    symbol: sp.Symbol
    expr: sp.Expr
    link: str
    quantity: str


@dataclass(frozen=True)
class Kinematics:
    """Symbolic poses and Jacobians of some tips of a robot, relative to a base link.

    Attributes:
        robot_name: the robot's name.
        base: the base link; poses are ``X_base_tip``.
        tips: the tip links, in the order requested.
        joint_names: the actuated joints, in q order.
        q: one real symbol per actuated joint, ``q1 … qn``.
        lower, upper: joint limits in q order (radians or metres, ±inf when unbounded).
        definitions: the intermediate frame entries, each defined before it is used.
        poses: per tip, the 4×4 ``X_base_tip`` in terms of ``q`` and the definitions.
        jacobians: per tip, the 6×n geometric Jacobian, rows [v; ω] in base-frame
            axes, in terms of ``q`` and the definitions.
    """

    robot_name: str
    base: str
    tips: tuple[str, ...]
    joint_names: tuple[str, ...]
    q: tuple[sp.Symbol, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    definitions: tuple[Definition, ...]
    poses: tuple[sp.Matrix, ...] = field(repr=False)
    jacobians: tuple[sp.Matrix, ...] = field(repr=False)

    def pose(self, tip: str) -> sp.Matrix:
        """``X_base_tip`` (4×4) as closed-form expressions in the joint symbols ``q``."""
        return self.poses[self._tip_index(tip)].xreplace(self._closed_forms)

    def jacobian(self, tip: str) -> sp.Matrix:
        """The tip's 6×n geometric Jacobian as closed-form expressions in ``q``."""
        return self.jacobians[self._tip_index(tip)].xreplace(self._closed_forms)

    def _tip_index(self, tip: str) -> int:
        try:
            return self.tips.index(tip)
        except ValueError:
            raise SymkinError(f"{tip!r} is not a tip of these kinematics (tips: {', '.join(self.tips)})") from None

    @cached_property
    def _closed_forms(self) -> dict[sp.Symbol, sp.Expr]:
        closed: dict[sp.Symbol, sp.Expr] = {}
        for definition in self.definitions:
            closed[definition.symbol] = definition.expr.xreplace(closed)
        return closed


def derive(model: RobotModel, tips: tuple[str, ...] | None = None, base: str | None = None) -> Kinematics:
    """Derive the pose and Jacobian of each tip of ``model`` relative to ``base``.

    Args:
        model: the robot.
        tips: tip links, in output order; default every leaf link below ``base``.
        base: the base link; default the model's root.
    """
    base = model.root if base is None else base
    if base not in model.links:
        raise SymkinError(f"base link {base!r} is not in robot {model.name!r}")
    if tips is None:
        tips = tuple(leaf for leaf in model.leaves if model.is_below(leaf, base) and leaf != base)
        if not tips:
            raise SymkinError(f"base link {base!r} has no links below it")
    if len(set(tips)) != len(tips):
        raise SymkinError(f"a tip is requested twice: {', '.join(tips)}")
    joint_names = model.actuated_joints(base, tuple(tips))
    return _Deriver(model, base, joint_names).run(tuple(tips))


Vector = sp.Matrix  # 3×1
Rot = sp.Matrix  # 3×3


@dataclass(frozen=True)
class _Turn:
    """How a revolute joint made its child's rotation: ``R = R_joint · Rot(axis, angle)``."""

    R_joint: Rot
    axis: Vector
    angle: sp.Expr


@dataclass(frozen=True)
class _Frame:
    """``X_base_link = (R, p) · pending``: a symbolic frame followed by a constant placement.

    ``turn`` records how ``R`` was made when the last moving joint above is revolute.
    """

    R: Rot
    p: Vector
    pending_R: Rot
    pending_t: Vector
    turn: _Turn | None = None


@dataclass(frozen=True)
class _JointAxis:
    """A moving joint as the Jacobian sees it: its unit axis and origin in the base frame."""

    column: int
    multiplier: sp.Expr
    revolute: bool
    z: Vector
    origin: Vector


class _Deriver:
    def __init__(self, model: RobotModel, base: str, joint_names: tuple[str, ...]) -> None:
        self.model = model
        self.base = base
        self.joint_names = joint_names
        self.q = tuple(sp.Symbol(f"q{i + 1}", real=True) for i in range(len(joint_names)))
        self.column = {name: i for i, name in enumerate(joint_names)}
        self.definitions: list[Definition] = []
        identity = sp.eye(3)
        zero = sp.zeros(3, 1)
        self.frames: dict[str, _Frame] = {base: _Frame(identity, zero, identity, zero)}
        self.axes: dict[str, _JointAxis] = {}

    def run(self, tips: tuple[str, ...]) -> Kinematics:
        poses, jacobians = [], []
        for tip in tips:
            chain = self.model.chain(self.base, tip)
            for joint in chain:
                if joint.child not in self.frames:
                    self.frames[joint.child] = self._child_frame(joint)
            pose, jacobian = self._tip_outputs(tip, chain)
            poses.append(pose)
            jacobians.append(jacobian)
        return Kinematics(
            robot_name=self.model.name,
            base=self.base,
            tips=tips,
            joint_names=self.joint_names,
            q=self.q,
            lower=tuple(self.model.joint(n).lower for n in self.joint_names),
            upper=tuple(self.model.joint(n).upper for n in self.joint_names),
            definitions=tuple(self.definitions),
            poses=tuple(poses),
            jacobians=tuple(jacobians),
        )

    def _fresh(self, expr: sp.Expr, link: str, quantity: str) -> sp.Expr:
        """``expr`` itself if it is trivial to print, else a new symbol defined as ``expr``."""
        if _is_trivial(expr):
            return expr
        symbol = sp.Symbol(f"_d{len(self.definitions)}", real=True)
        self.definitions.append(Definition(symbol, expr, link, quantity))
        return symbol

    def _fresh_rotation(self, R: Rot, link: str, prefix: str) -> Rot:
        return sp.Matrix(3, 3, lambda r, c: self._fresh(R[r, c], link, f"{prefix}{r}{c}"))

    def _fresh_vector(self, v: Vector, link: str, prefix: str) -> Vector:
        return sp.Matrix([self._fresh(v[i], link, prefix + "xyz"[i]) for i in range(3)])

    def _child_frame(self, joint: Joint) -> _Frame:
        parent = self.frames[joint.parent]
        pending_R, pending_t = _compose(parent.pending_R, parent.pending_t, joint.origin)
        if not joint.moves:
            return _Frame(parent.R, parent.p, pending_R, pending_t, parent.turn)
        link = joint.child
        axis = sp.Matrix([_exact(a) for a in joint.axis])
        resolved = self.model.resolve_mimic(joint)
        value = _exact(resolved.multiplier) * self.q[self.column[resolved.source]] + _exact(resolved.offset)
        revolute = joint.type in ("revolute", "continuous")
        p_joint = self._fresh_vector(parent.p + parent.R * pending_t, link, "o")
        if revolute and parent.turn is not None and _same_direction(pending_R * axis, parent.turn.axis):
            # Parallel axes: Rot(k, θp)·C·Rot(k', θ) = (R·C)·Rot(k', θp + θ) when C·k' = k, so the
            # rotation is built from the angle sum: cos(q2 + q3), the textbook c23.
            R_joint = self._fresh_rotation(parent.turn.R_joint * pending_R, link, "J")
            value = parent.turn.angle + value
        else:
            R_joint = self._fresh_rotation(parent.R * pending_R, link, "J")
        if revolute:
            R_child = self._fresh_rotation(R_joint * _axis_rotation(axis, sp.cos(value), sp.sin(value)), link, "R")
            p_child = p_joint
            turn = _Turn(R_joint, axis, value)
        else:
            R_child = R_joint
            p_child = self._fresh_vector(p_joint + R_joint * axis * value, link, "p")
            turn = None
        z = self._fresh_vector(R_child * axis, link, "z")
        self.axes[joint.name] = _JointAxis(
            self.column[resolved.source], _exact(resolved.multiplier), revolute, z, p_joint
        )
        return _Frame(R_child, p_child, sp.eye(3), sp.zeros(3, 1), turn)

    def _tip_outputs(self, tip: str, chain: tuple[Joint, ...]) -> tuple[sp.Matrix, sp.Matrix]:
        frame = self.frames[tip]
        R_tip = frame.R * frame.pending_R
        extra_turn = _angle_about(frame.pending_R, frame.turn.axis) if frame.turn is not None else None
        if extra_turn is not None:
            # A constant turn about the last joint's own axis adds to its angle: one addition
            # instead of a 3×3 product (the Panda hand's -45° about joint 7's axis).
            angle = frame.turn.angle + extra_turn
            R_tip = frame.turn.R_joint * _axis_rotation(frame.turn.axis, sp.cos(angle), sp.sin(angle))
        p_tip = self._fresh_vector(frame.p + frame.R * frame.pending_t, tip, "p")
        pose = sp.Matrix.vstack(sp.Matrix.hstack(R_tip, p_tip), sp.Matrix([[0, 0, 0, 1]]))
        jacobian = sp.zeros(6, len(self.q))
        for joint in chain:
            if not joint.moves:
                continue
            axis = self.axes[joint.name]
            if axis.revolute:
                column = sp.Matrix.vstack(axis.z.cross(p_tip - axis.origin), axis.z)
            else:
                column = sp.Matrix.vstack(axis.z, sp.zeros(3, 1))
            jacobian[:, axis.column] += axis.multiplier * column
        return pose, jacobian


def _same_direction(u: Vector, v: Vector) -> bool:
    return all(abs(float(a) - float(b)) <= 1e-15 for a, b in zip(u, v))


def _angle_about(R: Rot, k: Vector) -> sp.Float | None:
    """φ if the constant ``R`` is a rotation by φ about the unit axis ``k`` that is not a quarter turn, else None."""
    R_float = [[float(R[r, c]) for c in range(3)] for r in range(3)]
    k_float = [float(v) for v in k]
    if any(abs(sum(R_float[r][c] * k_float[c] for c in range(3)) - k_float[r]) > 1e-15 for r in range(3)):
        return None
    cos = (R_float[0][0] + R_float[1][1] + R_float[2][2] - 1) / 2
    sin = (
        k_float[0] * (R_float[2][1] - R_float[1][2])
        + k_float[1] * (R_float[0][2] - R_float[2][0])
        + k_float[2] * (R_float[1][0] - R_float[0][1])
    ) / 2
    angle = math.atan2(sin, cos)
    if quarter_turns(angle) is not None:
        return None  # quarter turns are free already: their products are signed permutations
    return sp.Float(angle)


def _is_trivial(expr: sp.Expr) -> bool:
    if expr.is_Atom or isinstance(expr, (sp.sin, sp.cos)):
        return True
    return expr.is_Mul and len(expr.args) == 2 and expr.args[0] == -1 and _is_trivial(expr.args[1])


def _exact(value: float) -> sp.Expr:
    """A float from the input as a SymPy number: an Integer when integral, else its exact float64 value."""
    return sp.Integer(int(value)) if float(value).is_integer() else sp.Float(value)


def _cos_sin(angle: float) -> tuple[sp.Expr, sp.Expr]:
    k = quarter_turns(angle)
    if k is not None:
        cos, sin = QUARTER_TURN_COS_SIN[k % 4]
        return sp.Integer(cos), sp.Integer(sin)
    return sp.Float(math.cos(angle)), sp.Float(math.sin(angle))


def _axis_rotation(k: Vector, cos: sp.Expr, sin: sp.Expr) -> Rot:
    """Rotation about the unit axis ``k``: ``cos·I + sin·[k]× + (1 − cos)·k·kᵀ`` (Rodrigues)."""
    cross = sp.Matrix([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return cos * sp.eye(3) + sin * cross + (1 - cos) * (k * k.T)


_UNIT_AXES = {"x": sp.Matrix([1, 0, 0]), "y": sp.Matrix([0, 1, 0]), "z": sp.Matrix([0, 0, 1])}


def _compose(R: Rot, t: Vector, steps: tuple[Step, ...]) -> tuple[Rot, Vector]:
    """The constant placement ``(R, t)`` followed by ``steps``, folded exactly."""
    for step in steps:
        if isinstance(step, Translation):
            t = t + R * sp.Matrix([_exact(v) for v in step.xyz])
        elif isinstance(step, Rotation):
            R = R * _axis_rotation(_UNIT_AXES[step.axis], *_cos_sin(step.angle))
    # Folding can land on a whole number (cos²+sin² of π/4 gives 1.0): make it exact, so 1.0*x prints as x.
    return R.applyfunc(_integral_exact), t.applyfunc(_integral_exact)


def _integral_exact(value: sp.Expr) -> sp.Expr:
    return sp.Integer(int(value)) if value.is_Float and float(value).is_integer() else value
