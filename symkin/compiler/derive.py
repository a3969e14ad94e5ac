"""Derive each tip's pose and geometric Jacobian as a column program, with exact constants.

Frames are composed joint by joint from the base along the path to each tip (up to the
nearest common ancestor, crossing those joints inverted, then down). Every rotation column,
origin and joint axis is a homogeneous 4-vector in base coordinates (w = 0 for directions, 1
for points), defined as a linear combination of earlier vectors whose coefficients are
scalar expressions in the joint variables: cosines, sines, constants, and a prismatic joint's
value. This column program is symkin's one derived representation: the code generator emits
it, and closed forms, formulas and operation counts are computed from it on demand.

What keeps it small:

- fixed joints are folded into exact constant placements; a quarter turn (within 1e-10 rad of
  a multiple of π/2) has cosine and sine exactly 0 or ±1, so its columns are renamings, free;
- constant vectors (the base frame, fixed offsets near the base) are folded exactly, and a
  combination with one unit term is the vector it names;
- where consecutive revolute axes are parallel the rotation is built from the angle sum
  (``cos(q2 + q3)``, the textbook ``c23``), and a constant turn about the last joint's axis is
  added to that joint's angle;
- the Jacobian is not derived: each moving joint records its axis and origin vectors, and
  column ``[z × (p_tip − o); z]`` (revolute) or ``[z; 0]`` (prismatic) is formed from them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property

import sympy as sp

from symkin.errors import SymkinError
from symkin.model.robot import (
    QUARTER_TURN_COS_SIN,
    Joint,
    PathStep,
    Quaternion,
    RobotModel,
    Rotation,
    Step,
    Translation,
    default_tips,
    quarter_turns,
)

Lanes = tuple[sp.Expr, sp.Expr, sp.Expr, sp.Expr]
"""The exact x, y, z, w lanes of a constant vector."""


@dataclass(frozen=True)
class Vector:
    """A homogeneous 4-vector of a frame, in base coordinates.

    Either ``constant`` (exact lanes) or ``Σ coefficient · vectors[source]`` over ``terms``, each
    source an earlier vector; a coefficient is a scalar expression in the joint symbols.

    Attributes:
        frame: the link (or, for a joint frame, the joint) the vector belongs to.
        quantity: ``R0``, ``R1``, ``R2`` (rotation columns), ``p`` (origin), ``axis`` (a joint axis),
            ``offset`` (a constant part of a sum).
        joint: the joint being crossed when the vector was made, None near the base and at tips.
    """

    frame: str
    quantity: str
    terms: tuple[tuple[sp.Expr, int], ...] = ()
    constant: Lanes | None = None
    joint: str | None = None


@dataclass(frozen=True)
class Motion:
    """A moving joint on the path to some tip, as the Jacobian sees it.

    The joint's rate moves every tip below it with twist ``scale · [axis × (p_tip − origin); axis]``
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
class Tip:
    """A tip: its rotation columns and origin (indices into the vectors), and the motions above it."""

    name: str
    columns: tuple[int, int, int, int]
    motions: tuple[int, ...]


Entries = Callable[[int], tuple[sp.Expr, sp.Expr, sp.Expr]]
"""A vector's x, y, z by its index."""


@dataclass(frozen=True)
class Signature:
    """What a compiled module is about, shared by every stage after derive.

    Attributes:
        robot_name: the robot's name.
        base: the base link; poses are ``X_base_tip``.
        tips: the tip links, in output order.
        joint_names: the actuated joints, in q order.
        lower, upper: joint limits in q order (radians or metres, ±inf when unbounded).
        floating_base: whether the module takes the base pose as a second argument.
    """

    robot_name: str
    base: str
    tips: tuple[str, ...]
    joint_names: tuple[str, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    floating_base: bool = False


@dataclass(frozen=True)
class Kinematics:
    """Symbolic poses and Jacobians of some tips of a robot, relative to a base link: the column program.

    Attributes:
        signature: robot, base, tips, joints and limits.
        q: one real symbol per actuated joint, ``q1 … qn``.
        vectors: the frames column by column, each defined before it is used.
        tip_frames: per tip, its columns and the motions above it.
        motions: every moving joint met, in the order met.
    """

    signature: Signature
    q: tuple[sp.Symbol, ...]
    vectors: tuple[Vector, ...] = field(repr=False)
    tip_frames: tuple[Tip, ...] = field(repr=False)
    motions: tuple[Motion, ...] = field(repr=False)

    @property
    def tips(self) -> tuple[str, ...]:
        return self.signature.tips

    @property
    def joint_names(self) -> tuple[str, ...]:
        return self.signature.joint_names

    @property
    def base(self) -> str:
        return self.signature.base

    def pose(self, tip: str, entries: Entries | None = None) -> sp.Matrix:
        """``X_base_tip`` (4×4) in closed form: expressions in the joint symbols ``q``.

        ``entries`` gives a vector's x, y, z by index (default: :meth:`entries`, written out).
        """
        entries = entries or self.entries
        columns = [entries(i) for i in self.tip(tip).columns]
        return sp.Matrix([[columns[c][r] for c in range(4)] for r in range(3)] + [[0, 0, 0, 1]])

    def jacobian(self, tip: str, entries: Entries | None = None) -> sp.Matrix:
        """The tip's 6×n geometric Jacobian in closed form, rows [v; ω] in base-frame axes
        (``entries`` as for :meth:`pose`)."""
        entries = entries or self.entries
        frame = self.tip(tip)
        p_tip = sp.Matrix(entries(frame.columns[3]))
        jacobian = sp.zeros(6, len(self.q))
        for motion in (self.motions[m] for m in frame.motions):
            z = sp.Matrix(entries(motion.axis))
            linear = z.cross(p_tip - sp.Matrix(entries(motion.origin))) if motion.revolute else z
            angular = z if motion.revolute else sp.zeros(3, 1)
            jacobian[:, motion.column] += motion.scale * sp.Matrix.vstack(linear, angular)
        return jacobian

    def tip(self, name: str) -> Tip:
        try:
            return self.tip_frames[self.tips.index(name)]
        except ValueError:
            raise SymkinError(
                f"{name!r} is not a tip of these kinematics (tips: {', '.join(self.tips)})"
            ) from None

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
                closed.append(vector.constant[:3])
            else:
                closed.append(
                    tuple(
                        sp.Add(*(c * closed[s][lane] for c, s in vector.terms)) for lane in range(3)
                    )  # type: ignore[arg-type]
                )
        return closed


def derive(
    model: RobotModel,
    tips: tuple[str, ...] | str | None = None,
    base: str | None = None,
    floating_base: bool | None = None,
) -> Kinematics:
    """Derive the pose and Jacobian of each tip of ``model`` relative to ``base``.

    Args:
        model: the robot.
        tips: tip links, in output order (a single name is one tip); default the leaves that move
            relative to the base (see :func:`~symkin.model.robot.default_tips`).
        base: the base link, any link of the robot; default the model's root.
        floating_base: whether the base is a free body whose world pose is an input of the compiled
            module; default whether the model's root is one (a URDF root ``floating`` joint).
    """
    base = model.root if base is None else base
    if base not in model.links:
        raise SymkinError(model.unknown_link_message("base", base))
    if isinstance(tips, str):
        tips = (tips,)
    if tips is None:
        tips = default_tips(model, base)[0]
    tips = tuple(tips)
    for tip in tips:
        if tip not in model.links:
            raise SymkinError(model.unknown_link_message("tip", tip))
    repeated = sorted({tip for tip in tips if tips.count(tip) > 1})
    if repeated:
        raise SymkinError(f"a tip is requested twice: {', '.join(repeated)}")
    joint_names = model.actuated_joints(base, tips)
    signature = Signature(
        robot_name=model.name,
        base=base,
        tips=tips,
        joint_names=joint_names,
        lower=tuple(model.joint(n).lower for n in joint_names),
        upper=tuple(model.joint(n).upper for n in joint_names),
        floating_base=model.floating if floating_base is None else floating_base,
    )
    return _Deriver(model, signature).run()


Rot = sp.Matrix  # 3×3, exact
Vec = sp.Matrix  # 3×1, exact


@dataclass(frozen=True)
class _Turn:
    """How a revolute joint made its child's rotation: ``R = columns · Rot(axis, angle)``."""

    columns: tuple[int, int, int]
    axis: Vec
    angle: sp.Expr


@dataclass(frozen=True)
class _Frame:
    """``X_base_link = (R, p) · pending``: columns of a symbolic frame, then a constant placement.

    ``turn`` records how ``R`` was made when the last moving joint crossed is revolute.
    """

    R: tuple[int, int, int]
    p: int
    pending_R: Rot
    pending_t: Vec
    turn: _Turn | None = None


class _Deriver:
    def __init__(self, model: RobotModel, signature: Signature) -> None:
        self.model = model
        self.signature = signature
        self.q = tuple(sp.Symbol(f"q{i + 1}", real=True) for i in range(len(signature.joint_names)))
        self.column = {name: i for i, name in enumerate(signature.joint_names)}
        self.vectors: list[Vector] = []
        self.constants: dict[Lanes, int] = {}
        self.combinations: dict[tuple[tuple[sp.Expr, int], ...], int] = {}
        self.motions: list[Motion] = []
        self.motion_of: dict[str, int] = {}
        self.joint: str | None = None
        base = signature.base
        axes = tuple(
            self._constant(lanes, base, f"R{k}")
            for k, lanes in enumerate(((1, 0, 0, 0), (0, 1, 0, 0), (0, 0, 1, 0)))
        )
        origin = self._constant((0, 0, 0, 1), base, "p")
        self.frames: dict[str, _Frame] = {base: _Frame(axes, origin, sp.eye(3), sp.zeros(3, 1))}  # type: ignore[arg-type]

    def run(self) -> Kinematics:
        tips = []
        for tip in self.signature.tips:
            motions = []
            link = self.signature.base
            for step in self.model.path(self.signature.base, tip):
                target = step.joint.parent if step.upward else step.joint.child
                if target not in self.frames:
                    self.joint = step.joint.name
                    self.frames[target] = self._cross(self.frames[link], step)
                if step.joint.moves:
                    motions.append(self.motion_of[step.joint.name])
                link = target
            self.joint = None
            tips.append(Tip(tip, self._tip_columns(tip), tuple(motions)))
        return Kinematics(
            self.signature, self.q, tuple(self.vectors), tuple(tips), tuple(self.motions)
        )

    # --- vectors -------------------------------------------------------------------------------------

    def _constant(self, lanes, frame: str, quantity: str) -> int:
        lanes = tuple(_integral_exact(sp.sympify(v)) for v in lanes)
        if lanes not in self.constants:
            self.vectors.append(Vector(frame, quantity, constant=lanes, joint=self.joint))  # type: ignore[arg-type]
            self.constants[lanes] = len(self.vectors) - 1  # type: ignore[index]
        return self.constants[lanes]  # type: ignore[index]

    def _combination(self, terms: list[tuple[sp.Expr, int]], frame: str, quantity: str) -> int:
        """The vector ``Σ coefficient · vectors[source]``: constants folded exactly, and a single unit
        term the vector it names."""
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
            lanes = self._fold(parts)
            if len(parts) == 1:
                folded.append((parts[0][0] * factor, parts[0][1]))
            elif any(v != 0 for v in lanes):
                folded.append((factor, self._constant(lanes, frame, "offset")))
        if len(folded) == 1 and folded[0][0] == 1:
            return folded[0][1]
        key = tuple(folded)
        if key not in self.combinations:  # siblings placed alike share their columns
            self.vectors.append(Vector(frame, quantity, key, joint=self.joint))
            self.combinations[key] = len(self.vectors) - 1
        return self.combinations[key]

    def _fold(self, parts: list[tuple[sp.Expr, int]]) -> list[sp.Expr]:
        """``Σ number · constant vector``, exactly."""
        lanes = [sp.Integer(0)] * 4
        for number, source in parts:
            for lane, value in enumerate(self.vectors[source].constant):  # type: ignore[arg-type]
                lanes[lane] += number * value
        return lanes

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
            result.append(
                self._combination(terms, frame, quantity if M.cols == 1 else f"{quantity}{c}")
            )
        return tuple(result)

    # --- frames --------------------------------------------------------------------------------------

    def _cross(self, frame: _Frame, step: PathStep) -> _Frame:
        """The frame on the other side of ``step.joint``."""
        joint = step.joint
        if step.upward:
            # X_parent = X_child · motion⁻¹ · origin⁻¹: the motion first, then the inverted placement.
            inverse_R, inverse_t = _invert(*_compose(sp.eye(3), sp.zeros(3, 1), joint.origin))
            if not joint.moves:
                pending_R, pending_t = _then(frame.pending_R, frame.pending_t, inverse_R, inverse_t)
                return _Frame(frame.R, frame.p, pending_R, pending_t, frame.turn)
            moved = self._move(frame, joint, upward=True)
            return _Frame(moved.R, moved.p, inverse_R, inverse_t, moved.turn)
        pending_R, pending_t = _compose(frame.pending_R, frame.pending_t, joint.origin)
        placed = _Frame(frame.R, frame.p, pending_R, pending_t, frame.turn)
        if not joint.moves:
            return placed
        return self._move(placed, joint, upward=False)

    def _move(self, frame: _Frame, joint: Joint, upward: bool) -> _Frame:
        """Apply ``joint``'s motion at ``frame`` (its inverse when ``upward``).

        Going down, ``frame`` is the joint's frame (the parent's with the joint's placement) and the
        result is the child link's; going up, ``frame`` is the child link's and the result the joint's.
        """
        sign = -1 if upward else 1
        before, after = (joint.child, joint.name) if upward else (joint.name, joint.child)
        axis = sp.Matrix([_exact(a) for a in joint.axis])
        resolved = self.model.resolve_mimic(joint)
        value = sign * (
            _exact(resolved.multiplier) * self.q[self.column[resolved.source]]
            + _exact(resolved.offset)
        )
        revolute = joint.type in ("revolute", "continuous")
        # A revolute joint turns about the origin it shares with the child link: name the point after the link.
        origin_frame = joint.child if revolute or upward else joint.name
        (origin,) = self._combine(frame.R, frame.pending_t, origin_frame, "p", offset=frame.p)
        turn = frame.turn
        if revolute and turn is not None and _same_direction(frame.pending_R * axis, turn.axis):
            # Parallel axes: Rot(k, θp)·C·Rot(k', θ) = (R·C)·Rot(k', θp + θ) when C·k' = k, so the
            # rotation is built from the angle sum: cos(q2 + q3), the textbook c23.
            columns = self._combine(turn.columns, frame.pending_R, before, "R")
            value = turn.angle + value
        else:
            columns = self._combine(frame.R, frame.pending_R, before, "R")
        if revolute:
            R = self._combine(
                columns, _axis_rotation(axis, sp.cos(value), sp.sin(value)), after, "R"
            )
            p = origin
            turn = _Turn(columns, axis, value)  # type: ignore[arg-type]
        else:
            R = columns
            (p,) = self._combine(columns, axis * value, after, "p", offset=origin)
            turn = None
        (z,) = self._combine(R, axis, joint.name, "axis")
        self.motion_of[joint.name] = len(self.motions)
        self.motions.append(
            Motion(
                joint=joint.name,
                parent=joint.parent,
                child=joint.child,
                revolute=revolute,
                axis=z,
                origin=origin,
                column=self.column[resolved.source],
                scale=sign * _exact(resolved.multiplier),
                upward=sign < 0,
            )
        )
        return _Frame(R, p, sp.eye(3), sp.zeros(3, 1), turn)  # type: ignore[arg-type]

    def _tip_columns(self, tip: str) -> tuple[int, int, int, int]:
        frame = self.frames[tip]
        extra_turn = (
            _angle_about(frame.pending_R, frame.turn.axis) if frame.turn is not None else None
        )
        if extra_turn is not None:
            # A constant turn about the last joint's own axis adds to its angle: one addition
            # instead of a 3×3 product (the Panda hand's -45° about joint 7's axis).
            angle = frame.turn.angle + extra_turn  # type: ignore[union-attr]
            R = self._combine(
                frame.turn.columns,
                _axis_rotation(frame.turn.axis, sp.cos(angle), sp.sin(angle)),
                tip,
                "R",
            )  # type: ignore[union-attr]
        else:
            R = self._combine(frame.R, frame.pending_R, tip, "R")
        (p,) = self._combine(frame.R, frame.pending_t, tip, "p", offset=frame.p)
        return (*R, p)  # type: ignore[return-value]


def _same_direction(u: Vec, v: Vec) -> bool:
    return all(abs(float(a) - float(b)) <= 1e-15 for a, b in zip(u, v))


def _angle_about(R: Rot, k: Vec) -> sp.Float | None:
    """φ if the constant ``R`` is a rotation by φ about the unit axis ``k`` that is not a quarter turn, else None."""
    R_float = [[float(R[r, c]) for c in range(3)] for r in range(3)]
    k_float = [float(v) for v in k]
    if any(
        abs(sum(R_float[r][c] * k_float[c] for c in range(3)) - k_float[r]) > 1e-15
        for r in range(3)
    ):
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


def _exact(value: float) -> sp.Expr:
    """A float from the input as a SymPy number: an Integer when integral, else its exact float64 value."""
    return sp.Integer(int(value)) if float(value).is_integer() else sp.Float(value)


def _cos_sin(angle: float) -> tuple[sp.Expr, sp.Expr]:
    k = quarter_turns(angle)
    if k is not None:
        cos, sin = QUARTER_TURN_COS_SIN[k % 4]
        return sp.Integer(cos), sp.Integer(sin)
    return sp.Float(math.cos(angle)), sp.Float(math.sin(angle))


def _axis_rotation(k: Vec, cos: sp.Expr, sin: sp.Expr) -> Rot:
    """Rotation about the unit axis ``k``: ``cos·I + sin·[k]× + (1 − cos)·k·kᵀ`` (Rodrigues)."""
    cross = sp.Matrix([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return cos * sp.eye(3) + sin * cross + (1 - cos) * (k * k.T)


_UNIT_AXES = {"x": sp.Matrix([1, 0, 0]), "y": sp.Matrix([0, 1, 0]), "z": sp.Matrix([0, 0, 1])}


def _compose(R: Rot, t: Vec, steps: tuple[Step, ...]) -> tuple[Rot, Vec]:
    """The constant placement ``(R, t)`` followed by ``steps``, folded exactly."""
    for step in steps:
        if isinstance(step, Translation):
            t = t + R * sp.Matrix([_exact(v) for v in step.xyz])
        elif isinstance(step, Rotation):
            R = R * _axis_rotation(_UNIT_AXES[step.axis], *_cos_sin(step.angle))
        elif isinstance(step, Quaternion):
            R = R * sp.Matrix([[_exact(v) for v in row] for row in step.matrix()])
    # Folding can land on a whole number (cos²+sin² of π/4 gives 1.0): make it exact, so 1.0*x prints as x.
    return R.applyfunc(_integral_exact), t.applyfunc(_integral_exact)


def _then(R: Rot, t: Vec, R_next: Rot, t_next: Vec) -> tuple[Rot, Vec]:
    """The placement ``(R, t)`` followed by ``(R_next, t_next)``."""
    return (R * R_next).applyfunc(_integral_exact), (t + R * t_next).applyfunc(_integral_exact)


def _invert(R: Rot, t: Vec) -> tuple[Rot, Vec]:
    """The inverse of the rigid placement ``(R, t)``: ``(Rᵀ, −Rᵀ·t)``."""
    return R.T, (-(R.T * t)).applyfunc(_integral_exact)


def _integral_exact(value: sp.Expr) -> sp.Expr:
    return sp.Integer(int(value)) if value.is_Float and float(value).is_integer() else value
