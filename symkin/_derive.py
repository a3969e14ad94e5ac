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

Alongside the entries, the derivation records the same frames column by column
(:class:`VectorDefinition`): each rotation column, origin and joint axis as a linear
combination of earlier ones with scalar coefficients (cosines, sines, constants).
That is the form the generated code computes in, a few tensor operations per joint.
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
class VectorDefinition:
    """A homogeneous 4-vector of a frame, in base-frame coordinates: a rotation column or joint
    axis (a direction, w = 0) or an origin (a point, w = 1).

    Either ``constant`` (the base frame's unit axes and origin) or ``Σ coefficient · vectors[source]``
    over ``terms``, each source an earlier vector; the coefficients are scalar expressions in the
    joint symbols (cosines, sines, constants). ``quantity`` names it as :class:`Definition` does
    (``R0`` is rotation column 0, ``o`` the joint origin, ``z`` the joint axis, ``p`` a tip origin).
    """

    link: str
    quantity: str
    terms: tuple[tuple[sp.Expr, int], ...] = ()
    constant: tuple[int, int, int, int] | None = None


@dataclass(frozen=True)
class JacobianTerm:
    """One moving joint's contribution to a tip's Jacobian column ``column``: ``multiplier`` times
    ``[z × (p_tip − origin); z]`` (revolute) or ``[z; 0]`` (prismatic); ``z`` and ``origin`` index
    :attr:`Kinematics.vectors`."""

    column: int
    multiplier: sp.Expr
    revolute: bool
    z: int
    origin: int


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
        vectors: the frames column by column, each defined before it is used.
        pose_vectors: per tip, the indices in ``vectors`` of its rotation columns 0, 1, 2 and origin.
        jacobian_terms: per tip, the moving joints between base and tip, base first.
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
    vectors: tuple[VectorDefinition, ...] = field(repr=False)
    pose_vectors: tuple[tuple[int, int, int, int], ...] = field(repr=False)
    jacobian_terms: tuple[tuple[JacobianTerm, ...], ...] = field(repr=False)

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
class _Block:
    """Columns of a frame, twice: their entries (3×k, symbols or trivial expressions) and the
    indices of the :class:`VectorDefinition` of each column."""

    entries: sp.Matrix
    vectors: tuple[int, ...]


@dataclass(frozen=True)
class _Turn:
    """How a revolute joint made its child's rotation: ``R = R_joint · Rot(axis, angle)``."""

    R_joint: _Block
    axis: Vector
    angle: sp.Expr


@dataclass(frozen=True)
class _Frame:
    """``X_base_link = (R, p) · pending``: a symbolic frame followed by a constant placement.

    ``turn`` records how ``R`` was made when the last moving joint above is revolute.
    """

    R: _Block
    p: _Block
    pending_R: Rot
    pending_t: Vector
    turn: _Turn | None = None


@dataclass(frozen=True)
class _JointAxis:
    """A moving joint as the Jacobian sees it: its unit axis and origin in the base frame."""

    column: int
    multiplier: sp.Expr
    revolute: bool
    z: _Block
    origin: _Block


def _base_vectors(base: str) -> list[VectorDefinition]:
    """The base frame's rotation columns (unit axes) and origin."""
    return [
        VectorDefinition(base, "R0", constant=(1, 0, 0, 0)),
        VectorDefinition(base, "R1", constant=(0, 1, 0, 0)),
        VectorDefinition(base, "R2", constant=(0, 0, 1, 0)),
        VectorDefinition(base, "o", constant=(0, 0, 0, 1)),
    ]


class _Deriver:
    def __init__(self, model: RobotModel, base: str, joint_names: tuple[str, ...]) -> None:
        self.model = model
        self.base = base
        self.joint_names = joint_names
        self.q = tuple(sp.Symbol(f"q{i + 1}", real=True) for i in range(len(joint_names)))
        self.column = {name: i for i, name in enumerate(joint_names)}
        self.definitions: list[Definition] = []
        self.vectors = _base_vectors(base)
        base_R = _Block(sp.eye(3), (0, 1, 2))
        base_p = _Block(sp.zeros(3, 1), (3,))
        self.frames: dict[str, _Frame] = {base: _Frame(base_R, base_p, sp.eye(3), sp.zeros(3, 1))}
        self.axes: dict[str, _JointAxis] = {}

    def run(self, tips: tuple[str, ...]) -> Kinematics:
        poses, jacobians, pose_vectors, jacobian_terms = [], [], [], []
        for tip in tips:
            chain = self.model.chain(self.base, tip)
            for joint in chain:
                if joint.child not in self.frames:
                    self.frames[joint.child] = self._child_frame(joint)
            R_tip, p_tip = self._tip_frame(tip)
            pose = sp.Matrix.vstack(sp.Matrix.hstack(R_tip.entries, p_tip.entries), sp.Matrix([[0, 0, 0, 1]]))
            axes = [self.axes[joint.name] for joint in chain if joint.moves]
            poses.append(pose)
            jacobians.append(self._jacobian(p_tip.entries, axes))
            pose_vectors.append((*R_tip.vectors, *p_tip.vectors))
            jacobian_terms.append(
                tuple(JacobianTerm(a.column, a.multiplier, a.revolute, *a.z.vectors, *a.origin.vectors) for a in axes)
            )
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
            vectors=tuple(self.vectors),
            pose_vectors=tuple(pose_vectors),
            jacobian_terms=tuple(jacobian_terms),
        )

    def _fresh(self, expr: sp.Expr, link: str, quantity: str) -> sp.Expr:
        """``expr`` itself if it is trivial to print, else a new symbol defined as ``expr``."""
        if _is_trivial(expr):
            return expr
        symbol = sp.Symbol(f"_d{len(self.definitions)}", real=True)
        self.definitions.append(Definition(symbol, expr, link, quantity))
        return symbol

    def _combine(self, columns: _Block, M: sp.Matrix, link: str, quantity: str, offset: _Block | None = None) -> _Block:
        """``offset + columns · M`` (3×k), each entry a fresh symbol, each column a vector."""
        entries = columns.entries * M if offset is None else offset.entries + columns.entries * M
        return _Block(self._fresh_entries(entries, link, quantity), self._combine_vectors(columns, M, link, quantity, offset))

    def _fresh_entries(self, entries: sp.Matrix, link: str, quantity: str) -> sp.Matrix:
        if entries.cols == 1:
            return sp.Matrix([self._fresh(entries[r], link, quantity + "xyz"[r]) for r in range(3)])
        return sp.Matrix(3, entries.cols, lambda r, c: self._fresh(entries[r, c], link, f"{quantity}{r}{c}"))

    def _combine_vectors(
        self, columns: _Block, M: sp.Matrix, link: str, quantity: str, offset: _Block | None = None
    ) -> tuple[int, ...]:
        """The vectors of ``offset + columns · M``; a column equal to an existing vector is that vector."""
        result = []
        for c in range(M.cols):
            terms = [(M[k, c], columns.vectors[k]) for k in range(M.rows) if M[k, c] != 0]
            if offset is not None:
                terms.insert(0, (sp.Integer(1), offset.vectors[c]))
            if len(terms) == 1 and terms[0][0] == 1:
                result.append(terms[0][1])
                continue
            name = quantity if M.cols == 1 else f"{quantity}{c}"
            self.vectors.append(VectorDefinition(link, name, tuple(terms)))
            result.append(len(self.vectors) - 1)
        return tuple(result)

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
        p_joint = self._combine(parent.R, pending_t, link, "o", offset=parent.p)
        if revolute and parent.turn is not None and _same_direction(pending_R * axis, parent.turn.axis):
            # Parallel axes: Rot(k, θp)·C·Rot(k', θ) = (R·C)·Rot(k', θp + θ) when C·k' = k, so the
            # rotation is built from the angle sum: cos(q2 + q3), the textbook c23.
            R_joint = self._combine(parent.turn.R_joint, pending_R, link, "J")
            value = parent.turn.angle + value
        else:
            R_joint = self._combine(parent.R, pending_R, link, "J")
        if revolute:
            R_child = self._combine(R_joint, _axis_rotation(axis, sp.cos(value), sp.sin(value)), link, "R")
            p_child = p_joint
            turn = _Turn(R_joint, axis, value)
        else:
            R_child = R_joint
            p_child = self._combine(R_joint, axis * value, link, "p", offset=p_joint)
            turn = None
        z = self._combine(R_child, axis, link, "z")
        self.axes[joint.name] = _JointAxis(
            self.column[resolved.source], _exact(resolved.multiplier), revolute, z, p_joint
        )
        return _Frame(R_child, p_child, sp.eye(3), sp.zeros(3, 1), turn)

    def _tip_frame(self, tip: str) -> tuple[_Block, _Block]:
        """The tip's rotation (entries left as expressions) and origin."""
        frame = self.frames[tip]
        rotated, M = frame.R, frame.pending_R
        extra_turn = _angle_about(frame.pending_R, frame.turn.axis) if frame.turn is not None else None
        if extra_turn is not None:
            # A constant turn about the last joint's own axis adds to its angle: one addition
            # instead of a 3×3 product (the Panda hand's -45° about joint 7's axis).
            angle = frame.turn.angle + extra_turn
            rotated, M = frame.turn.R_joint, _axis_rotation(frame.turn.axis, sp.cos(angle), sp.sin(angle))
        R_tip = _Block(rotated.entries * M, self._combine_vectors(rotated, M, tip, "R"))
        p_tip = self._combine(frame.R, frame.pending_t, tip, "p", offset=frame.p)
        return R_tip, p_tip

    def _jacobian(self, p_tip: Vector, axes: list[_JointAxis]) -> sp.Matrix:
        jacobian = sp.zeros(6, len(self.q))
        for axis in axes:
            z = axis.z.entries
            if axis.revolute:
                column = sp.Matrix.vstack(z.cross(p_tip - axis.origin.entries), z)
            else:
                column = sp.Matrix.vstack(z, sp.zeros(3, 1))
            jacobian[:, axis.column] += axis.multiplier * column
        return jacobian


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
