"""Exact arithmetic on constant placements for the derivation: input floats as SymPy numbers
(integers where integral, else their exact float64 values), placements composed, chained and
inverted exactly, and the tests that let a constant turn join a joint's angle."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypeAlias

import sympy as sp

from symkin.model.placement import Quaternion, Rotation, Step, Translation
from symkin.model.rotations import UNIT_AXES, Matrix3, axis_rotation, cos_sin, quarter_turns

Rot: TypeAlias = sp.Matrix  # 3×3, exact
Vec: TypeAlias = sp.Matrix  # 3×1, exact


def unit_quaternion_matrix(quaternion: Sequence[sp.Expr]) -> Rot:
    """The rotation matrix of a unit quaternion (w, x, y, z)."""
    w, x, y, z = quaternion
    return sp.Matrix(
        [
            [1 - 2 * (y**2 + z**2), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x**2 + z**2), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x**2 + y**2)],
        ]
    )


def same_direction(u: Vec, v: Vec) -> bool:
    return all(abs(float(a) - float(b)) <= 1e-15 for a, b in zip(u, v, strict=True))


def angle_about(R: Rot, k: Vec) -> sp.Float | None:
    """φ if the constant ``R`` is a rotation by φ about the unit axis ``k`` that is not a quarter
    turn, else None."""
    R_float = [[float(R[r, c]) for c in range(3)] for r in range(3)]
    k_float = [float(v) for v in k]
    moved = [sum(R_float[r][c] * k_float[c] for c in range(3)) for r in range(3)]
    if any(abs(moved[r] - k_float[r]) > 1e-15 for r in range(3)):
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


def exact(value: float) -> sp.Expr:
    """A float from the input as a SymPy number: an Integer when integral, else its exact float64
    value."""
    return sp.Integer(int(value)) if float(value).is_integer() else sp.Float(value)


def exact_vector(values: Sequence[float]) -> Vec:
    return sp.Matrix([exact(v) for v in values])


def exact_rotation(R: Matrix3) -> Rot:
    """A float or integer 3×3 rotation as exact SymPy numbers."""
    return sp.Matrix([[exact(v) for v in row] for row in R])


def compose_steps(R: Rot, t: Vec, steps: tuple[Step, ...]) -> tuple[Rot, Vec]:
    """The constant placement ``(R, t)`` followed by ``steps``, folded exactly."""
    for step in steps:
        if isinstance(step, Translation):
            t = t + R * exact_vector(step.xyz)
        elif isinstance(step, Rotation):
            cos, sin = (exact(v) for v in cos_sin(step.angle))
            R = R * sp.Matrix(axis_rotation(UNIT_AXES[step.axis], cos, sin))
        elif isinstance(step, Quaternion):
            R = R * exact_rotation(step.matrix())
    # Folding can land on a whole number (cos²+sin² of π/4 gives 1.0): make it exact, so 1.0*x
    # prints as x.
    return R.applyfunc(integral_exact), t.applyfunc(integral_exact)


def chain(R: Rot, t: Vec, R_next: Rot, t_next: Vec) -> tuple[Rot, Vec]:
    """The placement ``(R, t)`` followed by ``(R_next, t_next)``."""
    return (R * R_next).applyfunc(integral_exact), (t + R * t_next).applyfunc(integral_exact)


def inverse(R: Rot, t: Vec) -> tuple[Rot, Vec]:
    """The inverse of the rigid placement ``(R, t)``: ``(Rᵀ, −Rᵀ·t)``."""
    return R.T, (-(R.T * t)).applyfunc(integral_exact)


def integral_exact(value: sp.Expr) -> sp.Expr:
    return sp.Integer(int(value)) if value.is_Float and float(value).is_integer() else value
