"""Masses and inertias of links, as the input files give them, checked where they are used.

A link's :class:`Inertial` is its mass (kg), the placement of its centre-of-mass frame in the
link's frame, and its rotational inertia (kg·m²) about the centre of mass in that frame's axes —
URDF's ``<inertial>``, MuJoCo's ``body_mass``, ``body_ipos``, ``body_iquat``, ``body_inertia``.
A link without one is massless. Readers store what the file says; :func:`check_mass` and
:func:`check_inertia` refuse what is not physical when an output needs it, so that a file with a
bad inertia still compiles its kinematics.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from symkin.errors import SymkinError
from symkin.model.placement import Step, transform

Inertia = tuple[float, float, float, float, float, float]
"""A symmetric 3×3 inertia as (ixx, ixy, ixz, iyy, iyz, izz), kg·m²."""

_RELATIVE_TOLERANCE = 1e-9
"""How far below zero an eigenvalue, or past equality a triangle inequality, may round."""
_ABSOLUTE_TOLERANCE = 1e-12
"""The same in kg·m², for inertias that are zero up to the file's rounding (iCub's head)."""


@dataclass(frozen=True)
class Inertial:
    """A link's mass properties.

    Attributes:
        mass: kilograms.
        origin: the centre-of-mass frame in the link's frame (its translation is the centre of
            mass; its rotation, the axes ``inertia`` is given in).
        inertia: about the centre of mass, in the origin's axes.
        problem: why the file's mass properties for the link could not be read (reported by
            the outputs that need them), None when they were.
    """

    mass: float
    origin: tuple[Step, ...] = ()
    inertia: Inertia = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    problem: str | None = None

    @property
    def center(self) -> tuple[float, float, float]:
        """The centre of mass in the link's frame (metres)."""
        return transform(self.origin)[1]


def check_mass(link: str, inertial: Inertial) -> None:
    """SymkinError naming ``link`` unless its mass is finite and non-negative and its centre of
    mass finite."""
    if inertial.problem is not None:
        raise SymkinError(f"link {link!r}: {inertial.problem}")
    if not math.isfinite(inertial.mass) or inertial.mass < 0:
        raise SymkinError(f"link {link!r}: mass {inertial.mass} is negative or not finite")
    if not all(math.isfinite(v) for v in inertial.center):
        raise SymkinError(f"link {link!r}: its centre of mass is not finite")


def check_inertia(link: str, inertial: Inertial) -> None:
    """SymkinError naming ``link`` unless, besides its mass, its inertia is finite, positive
    semi-definite and obeys the triangle inequality (each principal moment at most the sum of the
    other two), within rounding."""
    check_mass(link, inertial)
    if not all(math.isfinite(v) for v in inertial.inertia):
        raise SymkinError(f"link {link!r}: its inertia is not finite")
    problem = _inertia_problem(principal_moments(inertial.inertia))
    if problem is not None:
        raise SymkinError(
            f"link {link!r}: {problem} (--balance-inertia makes it isotropic, as MuJoCo's "
            "balanceinertia does)"
        )


def balanced(inertial: Inertial) -> Inertial | None:
    """The inertial with its inertia made isotropic, each principal moment the mean of the three
    (negative ones counted as zero): MuJoCo's ``balanceinertia``, which keeps the trace. None when
    the inertia is physical already."""
    moments = principal_moments(inertial.inertia)
    if _inertia_problem(moments) is None:
        return None
    mean = sum(max(m, 0.0) for m in moments) / 3
    return Inertial(inertial.mass, inertial.origin, (mean, 0.0, 0.0, mean, 0.0, mean))


def _inertia_problem(moments: tuple[float, float, float]) -> str | None:
    """What makes principal moments (largest first) unphysical beyond rounding, or None."""
    tolerance = max(_RELATIVE_TOLERANCE * max(abs(m) for m in moments), _ABSOLUTE_TOLERANCE)
    listed = ", ".join(f"{m:.6g}" for m in moments)
    if min(moments) < -tolerance:
        return f"its inertia is not positive semi-definite (principal moments {listed})"
    a, b, c = moments
    if a > b + c + tolerance:
        return (
            f"its principal moments {listed} violate the triangle inequality (one exceeds the "
            "sum of the other two)"
        )
    return None


def principal_moments(inertia: Inertia) -> tuple[float, float, float]:
    """The eigenvalues of a symmetric inertia, largest first (closed form for a 3×3 matrix)."""
    xx, xy, xz, yy, yz, zz = inertia
    p1 = xy * xy + xz * xz + yz * yz
    trace = xx + yy + zz
    if p1 == 0:
        a, b, c = sorted((xx, yy, zz), reverse=True)
        return a, b, c
    mean = trace / 3
    p2 = (xx - mean) ** 2 + (yy - mean) ** 2 + (zz - mean) ** 2 + 2 * p1
    p = math.sqrt(p2 / 6)
    # det((I − mean·1)/p) / 2 is cos(3φ) of the eigenvalues mean + 2p·cos(φ + 2kπ/3).
    a, d, f = (xx - mean) / p, (yy - mean) / p, (zz - mean) / p
    b, c, e = xy / p, xz / p, yz / p
    determinant = a * (d * f - e * e) - b * (b * f - e * c) + c * (b * e - d * c)
    angle = math.acos(max(-1.0, min(1.0, determinant / 2))) / 3
    largest = mean + 2 * p * math.cos(angle)
    smallest = mean + 2 * p * math.cos(angle + 2 * math.pi / 3)
    return largest, trace - largest - smallest, smallest


def inertia_matrix(inertia: tuple[float, ...]) -> np.ndarray:
    xx, xy, xz, yy, yz, zz = inertia
    return np.array([[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]], dtype=float)


def joined_inertia(
    parts: list[tuple[float, np.ndarray, np.ndarray]],
) -> tuple[float, np.ndarray, np.ndarray]:
    """Mass, centre of mass and inertia about it of rigidly joined parts (mass, centre, inertia
    about the part's centre), by the parallel-axis theorem."""
    mass = sum(m for m, _, _ in parts)
    center = sum((m * c for m, c, _ in parts), np.zeros(3)) / mass if mass > 0 else parts[0][1]
    inertia = np.zeros((3, 3))
    for m, c, about_center in parts:
        d = c - center
        inertia += about_center + m * (d @ d * np.eye(3) - np.outer(d, d))
    return mass, center, inertia


def scaled_principal_axes(inertia: np.ndarray) -> np.ndarray:
    """U with U Uᵀ = inertia (symmetric, positive semi-definite): the principal axes as columns,
    each scaled by the square root of its moment; the axes of the frame itself when it already is
    principal (the common case, so that no new direction is computed)."""
    if not np.any(inertia - np.diag(np.diag(inertia))):
        return np.diag(np.sqrt(np.clip(np.diag(inertia), 0.0, None)))
    moments, axes = np.linalg.eigh(inertia)
    return axes * np.sqrt(np.clip(moments, 0.0, None))
