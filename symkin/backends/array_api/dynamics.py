"""Rigid-body dynamics over the frame program's columns for the JAX and NumPy modules: what a
module compiled with ``--dynamics`` copies besides runtime.py. The same algorithms and conventions
as the torch backend's (:mod:`symkin.backends.torch.dynamics`), over the array namespace ``xp``.
"""

from __future__ import annotations

import numpy as xp  # the backend's array namespace: jax.numpy or numpy

from symkin.backends.array_api.runtime import Array, _joint_rows, _motion_twists, _unit_twists


def _rigid_bodies(body_columns: Array, mass: Array) -> tuple[Array, Array]:
    """Each body's first moment h (3, K, B) and rotational inertia about the base origin J
    (3, 3, K, B), from its scaled inertia axes and centre of mass (4, 4·K, B) and mass (K, 1)."""
    columns = body_columns[:3].reshape(3, -1, 4, body_columns.shape[-1])
    u, c = columns[:, :, :3], columns[:, :, 3]
    spread = (u[:, None] * u[None, :]).sum(3)
    eye = xp.eye(3, dtype=c.dtype)[:, :, None, None]
    squared = (c * c).sum(0)
    return mass * c, spread + mass * (squared * eye - c[:, None] * c[None, :])


def _apply(J: Array, w: Array) -> Array:
    """J w for 3 × 3 matrices J (3, 3, L, B) and vectors w (3, L, B)."""
    return (J * w[None]).sum(1)


def _cross0(a: Array, b: Array) -> Array:
    return xp.cross(a, b, axis=0)


def _motion_cross(V: Array, S: Array) -> Array:
    """V ×ₘ S for twists (6, ...): [ω × s_v + v × s_ω; ω × s_ω]."""
    v, w = xp.broadcast_to(V[:3], S[:3].shape), xp.broadcast_to(V[3:], S[3:].shape)
    return xp.concatenate([_cross0(w, S[:3]) + _cross0(v, S[3:]), _cross0(w, S[3:])])


def _momentum_rate(mass: Array, h: Array, J: Array, V: Array, A: Array) -> Array:
    """The wrench (6, K, B) each body needs to move at twist V with spatial acceleration A, both
    (6, K, B): I·A + V ×* (I·V), with I·V = [m v + ω × h; h × v + J ω]."""
    v, w, a, alpha = V[:3], V[3:], A[:3], A[3:]
    linear = mass * v + _cross0(w, h)
    angular = _cross0(h, v) + _apply(J, w)
    force = mass * a + _cross0(alpha, h) + _cross0(w, linear)
    moment = _cross0(h, a) + _apply(J, alpha) + _cross0(v, linear) + _cross0(w, angular)
    return xp.concatenate([force, moment])


def _inverse_dynamics(
    frames: tuple[Array, Array, Array],
    tables: list,
    v: Array,
    a: Array,
    count: int,
    base_velocity: Array | None,
    base_acceleration: Array,
) -> tuple[Array, Array]:
    """The recursive Newton–Euler algorithm: joint torques (n, B) and the wrench on the base
    (6, B); arguments as for the torch backend's ``_inverse_dynamics``."""
    body_columns, axes, origins = frames
    mass, body_motions, ancestors, q_map, prismatic = tables
    rates = xp.matmul(q_map, _joint_rows(v, count))
    unit, twist, _, twist_rate = _motion_twists(axes, origins, rates, ancestors, prismatic)
    acceleration = unit * xp.matmul(q_map, _joint_rows(a, count)) + twist_rate
    V = xp.matmul(body_motions.T, twist)
    if base_velocity is not None:
        acceleration = acceleration + _motion_cross(base_velocity, twist)
        V = V + base_velocity
    A = xp.matmul(body_motions.T, acceleration) + base_acceleration
    h, J = _rigid_bodies(body_columns, mass)
    wrench = _momentum_rate(mass, h, J, V, A)
    torques = (unit * xp.matmul(body_motions, wrench)).sum(0)
    return xp.matmul(q_map.T, torques), wrench.sum(1)


def _mass_matrix(
    frames: tuple[Array, Array, Array], tables: list, count: int, floating: bool
) -> Array:
    """M(q), (B, n, n), or (B, 6 + n, 6 + n) with the base first: composite rigid bodies (see the
    torch backend's ``_mass_matrix``)."""
    body_columns, axes, origins = frames
    mass, body_motions, lineage, scale, column, prismatic = tables
    h, J = _rigid_bodies(body_columns, mass)
    unit = _unit_twists(axes, origins, prismatic) * scale
    composite_mass = xp.matmul(body_motions, mass)
    composite_h = xp.matmul(body_motions, h)
    composite_J = xp.matmul(body_motions, J)
    s_v, s_w = unit[:3], unit[3:]
    F = xp.concatenate(
        [
            composite_mass * s_v + _cross0(s_w, composite_h),
            _cross0(composite_h, s_v) + _apply(composite_J, s_w),
        ]
    )
    pairs = xp.matmul(unit.transpose(2, 1, 0), F.transpose(2, 0, 1))  # (B, M, M): S_j · F_k
    strict = lineage - xp.eye(lineage.shape[0], dtype=lineage.dtype)
    matrix = pairs * lineage + xp.swapaxes(pairs, -1, -2) * strict.T
    coupling = F.transpose(2, 0, 1)  # (B, 6, M)
    if column is not None:  # motions that share a column of q add up: a 0/1 matrix's products
        selection = (xp.arange(count)[:, None] == column[None, :]).astype(pairs.dtype)
        matrix = selection @ matrix @ selection.T
        coupling = coupling @ selection.T
    if not floating:
        return matrix
    total_h, total_J = h.sum(1).T, J.sum(2).transpose(2, 0, 1)
    eye = xp.broadcast_to(xp.eye(3, dtype=h.dtype), total_J.shape)
    skew = _skew_rows(total_h)
    base = xp.concatenate(
        [
            xp.concatenate([mass.sum() * eye, -skew], -1),
            xp.concatenate([skew, total_J], -1),
        ],
        -2,
    )
    top = xp.concatenate([base, coupling], -1)
    return xp.concatenate([top, xp.concatenate([coupling.transpose(0, 2, 1), matrix], -1)], -2)


def _skew_rows(w: Array) -> Array:
    """[w]×, (B, 3, 3), of vectors (B, 3)."""
    x, y, z = w[:, 0], w[:, 1], w[:, 2]
    zero = xp.zeros_like(x)
    return xp.stack([zero, -z, y, z, zero, -x, -y, x, zero], -1).reshape(-1, 3, 3)


def _solve(matrix: Array, rhs: Array) -> Array:
    """matrix⁻¹ rhs for matrices (B, N, N) and rhs (B, N), by the library's batched LU solve (NumPy
    has no batched Cholesky solve)."""
    return xp.linalg.solve(matrix, rhs[..., None])[..., 0]
