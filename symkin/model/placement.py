"""Fixed placements: the constant transforms between frames, as sequences of elementary steps.

A placement is applied step by step, each in the frame the previous one made. Lengths are in
metres, angles in radians.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from symkin.model.rotations import Matrix3, elementary, product, quaternion_matrix

Axis = Literal["x", "y", "z"]


@dataclass(frozen=True)
class Translation:
    """A translation by ``xyz`` (metres), expressed in the current frame."""

    xyz: tuple[float, float, float]


@dataclass(frozen=True)
class Rotation:
    """A rotation by ``angle`` (radians) about the current frame's ``axis``."""

    axis: Axis
    angle: float


@dataclass(frozen=True)
class Quaternion:
    """A rotation by the quaternion ``wxyz`` (w first; normalised where it is used), as MJCF
    gives them."""

    wxyz: tuple[float, float, float, float]

    def matrix(self) -> Matrix3:
        """The rotation matrix, in float64, exact for quarter turns (see
        :func:`~symkin.model.rotations.quaternion_matrix`)."""
        return quaternion_matrix(self.wxyz)


Step = Translation | Rotation | Quaternion
"""One elementary step of a fixed placement."""


@dataclass(frozen=True)
class Placement:
    """A fixed transform in URDF terms: translate by ``xyz`` (metres), then fixed-axis roll, pitch,
    yaw ``rpy`` (radians), ``R = Rz(yaw)·Ry(pitch)·Rx(roll)``."""

    xyz: tuple[float, float, float] = (0.0, 0.0, 0.0)
    rpy: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def steps(self) -> tuple[Step, ...]:
        return urdf_placement(self.xyz, self.rpy)


def urdf_placement(
    xyz: tuple[float, float, float], rpy: tuple[float, float, float]
) -> tuple[Step, ...]:
    """The steps of a URDF ``<origin>``: translate, then yaw about z, pitch about y, roll about x.

    This is URDF's fixed-axis roll-pitch-yaw, ``R = Rz(yaw)·Ry(pitch)·Rx(roll)``. Identity steps
    are dropped, so the identity placement is the empty tuple.
    """
    roll, pitch, yaw = rpy
    steps: list[Step] = [
        Translation(xyz),
        Rotation("z", yaw),
        Rotation("y", pitch),
        Rotation("x", roll),
    ]
    return without_identity_steps(steps)


def transform(steps: tuple[Step, ...]) -> tuple[Matrix3, tuple[float, float, float]]:
    """The rotation and translation, in float64, of the steps applied in order (quarter turns
    exact): ``X = (R, t)`` with a point's coordinates ``x_before = R · x_after + t``."""
    R: Matrix3 = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))
    t = (0.0, 0.0, 0.0)
    for step in steps:
        if isinstance(step, Translation):
            x, y, z = (t[i] + sum(R[i][k] * step.xyz[k] for k in range(3)) for i in range(3))
            t = (x, y, z)
        elif isinstance(step, Rotation):
            R = product(R, elementary(step.axis, step.angle))
        else:
            R = product(R, step.matrix())
    return R, t


def without_identity_steps(steps: list[Step] | tuple[Step, ...]) -> tuple[Step, ...]:
    """The steps that move something: zero translations and rotations by zero are dropped."""
    return tuple(step for step in steps if not _is_identity(step))


def _is_identity(step: Step) -> bool:
    if isinstance(step, Translation):
        return step.xyz == (0.0, 0.0, 0.0)
    if isinstance(step, Quaternion):
        return step.wxyz == (1.0, 0.0, 0.0, 0.0)
    return step.angle == 0.0
