"""Rotation maths, written once for the whole compiler.

The formulas are plain arithmetic on nested tuples (row-major 3×3), so the same code serves
floats (readers, writers, inertias) and SymPy expressions (the exact derivation). Angles are in
radians; quaternions are (w, x, y, z), w first.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

Matrix3 = tuple[tuple[Any, ...], ...]
"""A 3×3 matrix as three rows of three, of floats or SymPy expressions."""

RIGHT_ANGLE_TOLERANCE = 1e-10
"""An angle this close to k·π/2 is taken as exactly k·π/2. 1e-10 rad moves a point 1 m away by
1e-10 m, far below the 1e-9 agreement with Pinocchio, and catches the usual spellings
(1.57079632679, 3.14159265359) but not 1.5708."""

QUARTER_TURN_COS_SIN = ((1, 0), (0, 1), (-1, 0), (0, -1))
"""(cos, sin) of k·π/2, indexed by k mod 4."""

UNIT_AXES = {"x": (1, 0, 0), "y": (0, 1, 0), "z": (0, 0, 1)}


def quarter_turns(angle: float) -> int | None:
    """k if ``angle`` is k·π/2 within :data:`RIGHT_ANGLE_TOLERANCE`, else None."""
    k = round(angle / (math.pi / 2))
    return k if abs(angle - k * math.pi / 2) <= RIGHT_ANGLE_TOLERANCE else None


def cos_sin(angle: float) -> tuple[int, int] | tuple[float, float]:
    """(cos, sin) of ``angle``: exact integers for a quarter turn, floats otherwise."""
    k = quarter_turns(angle)
    if k is not None:
        return QUARTER_TURN_COS_SIN[k % 4]
    return math.cos(angle), math.sin(angle)


def axis_rotation(axis: Sequence[Any], cos: Any, sin: Any) -> Matrix3:
    """Rotation about the unit ``axis`` by the angle of (``cos``, ``sin``):
    ``cos·I + sin·[k]× + (1 − cos)·k·kᵀ`` (Rodrigues)."""
    kx, ky, kz = axis[0], axis[1], axis[2]
    cross = ((0, -kz, ky), (kz, 0, -kx), (-ky, kx, 0))
    k = (kx, ky, kz)
    return tuple(
        tuple(
            (cos if r == c else 0) + sin * cross[r][c] + (1 - cos) * (k[r] * k[c]) for c in range(3)
        )
        for r in range(3)
    )


def elementary(axis: str, angle: float) -> Matrix3:
    """Rotation by ``angle`` about the axis ``x``, ``y`` or ``z`` (exact quarter turns)."""
    return axis_rotation(UNIT_AXES[axis], *cos_sin(angle))


def quaternion_matrix(wxyz: Sequence[float]) -> Matrix3:
    """The rotation of a quaternion (w, x, y, z), normalised first, in float64; within 1e-10 of a
    signed permutation (a rotation by quarter turns), exactly that permutation."""
    norm = math.sqrt(sum(v * v for v in wxyz))
    w, x, y, z = (v / norm for v in wxyz)
    rows = (
        (1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)),
        (2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)),
        (2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)),
    )
    if all(abs(v - round(v)) <= RIGHT_ANGLE_TOLERANCE for row in rows for v in row):
        return tuple(tuple(float(round(v)) + 0.0 for v in row) for row in rows)
    return rows


def product(A: Matrix3, B: Matrix3) -> Matrix3:
    """A·B."""
    return tuple(
        tuple(sum(A[r][k] * B[k][c] for k in range(3)) for c in range(3)) for r in range(3)
    )


def matrix_rpy(R: Matrix3) -> tuple[float, float, float]:
    """URDF's fixed-axis roll, pitch, yaw of a float rotation, ``R = Rz(yaw)·Ry(pitch)·Rx(roll)``.

    At gimbal lock only roll − yaw (or roll + yaw) is defined; it is put in roll.
    """
    pitch = math.atan2(-R[2][0], math.hypot(R[0][0], R[1][0]))
    if math.hypot(R[0][0], R[1][0]) > 1e-12:
        return math.atan2(R[2][1], R[2][2]), pitch, math.atan2(R[1][0], R[0][0])
    return math.atan2(-R[1][2], R[1][1]), pitch, 0.0
