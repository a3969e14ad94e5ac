"""Rigid-body dynamics over the frame program's columns, robot-independent: what a torch module
compiled with ``--dynamics`` copies besides runtime.py (whose layout it shares: (rows, lanes, B)).

Spatial vectors are [linear; angular] rows about the base origin in base axes: a twist V = [v; ω]
(v the velocity of the body point at the base origin), a wrench [f; n] (force; moment about the
base origin). A rigid body is its mass m, first moment h = m·c (c its centre of mass) and rotational
inertia about the base origin J = Σ u_k u_kᵀ + m (|c|²·1 − c cᵀ), with u_k its inertia's principal
axes scaled by the square roots of the principal moments (the frame program computes u_k and c).
Its momentum is [m v + ω × h; h × v + J ω]. The base is fixed, or a free body whose twist and
spatial acceleration [a; α] are given in base axes (Pinocchio's free flyer).
"""

from __future__ import annotations

import torch

from symkin.backends.torch.runtime import _cross, _functorch_transforms_active, _joint_rows
from symkin.backends.torch.velocities import _motion_twists, _unit_twists


def _rigid_bodies(
    body_columns: torch.Tensor, mass: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each body's first moment h (3, K, B) and rotational inertia about the base origin J
    (3, 3, K, B), from its scaled inertia axes and centre of mass (4, 4·K, B) and mass (K, 1)."""
    columns = body_columns[:3].unflatten(1, (-1, 4))
    u, c = columns[:, :, :3], columns[:, :, 3]
    # Σ_k u_k u_kᵀ axis by axis: one (3, 3, K, B) array where the outer products at once made three.
    spread = u[:, None, :, 0] * u[None, :, :, 0]
    for k in (1, 2):
        spread = _plus_product(spread, u[:, None, :, k], u[None, :, :, k])
    eye = torch.eye(3, dtype=c.dtype, device=c.device)[:, :, None, None]
    squared = (c * c).sum(0)
    return mass * c, spread + mass * (squared * eye - c.unsqueeze(1) * c.unsqueeze(0))


def _plus_product(x: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """x + a·b, written into x (an intermediate of the caller's, so that no array of its size is
    made again), except under torch.func transforms: addcmul_ has no batching rule there (vmap
    would loop over the batch), addcmul has."""
    if _functorch_transforms_active():
        return torch.addcmul(x, a, b)
    return x.addcmul_(a, b)


def _apply(J: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """J w for 3 × 3 matrices J (3, 3, L, B) and vectors w (3, L, B)."""
    return (J * w.unsqueeze(0)).sum(1)


def _motion_cross(V: torch.Tensor, S: torch.Tensor) -> torch.Tensor:
    """V ×ₘ S for twists (6, ...): [ω × s_v + v × s_ω; ω × s_ω]."""
    v, w = V[:3].expand_as(S[:3]), V[3:].expand_as(S[3:])
    return torch.cat([_cross(w, S[:3]) + _cross(v, S[3:]), _cross(w, S[3:])])


def _momentum_rate(
    mass: torch.Tensor, h: torch.Tensor, J: torch.Tensor, V: torch.Tensor, A: torch.Tensor
) -> torch.Tensor:
    """The wrench (6, K, B) each body needs to move at twist V with spatial acceleration A, both
    (6, K, B): I·A + V ×* (I·V), with I·V = [m v + ω × h; h × v + J ω]."""
    v, w, a, alpha = V[:3], V[3:], A[:3], A[3:]
    linear = mass * v + _cross(w, h)
    angular = _cross(h, v) + _apply(J, w)
    force = mass * a + _cross(alpha, h) + _cross(w, linear)
    moment = _cross(h, a) + _apply(J, alpha) + _cross(v, linear) + _cross(w, angular)
    return torch.cat([force, moment])


def _inverse_dynamics(
    frames: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    tables: list[torch.Tensor],
    v: torch.Tensor,
    a: torch.Tensor,
    count: int,
    base_velocity: torch.Tensor | None,
    base_acceleration: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The recursive Newton–Euler algorithm, its passes as sums over the tree.

    ``frames`` are the bodies' columns, the motions' axes and origins; ``tables`` are body_mass,
    body_motions (M × K), motion_ancestors, q_map and motion_prismatic (or None). v and a are the
    joint velocities and accelerations (..., n); the base's twist (6, 1, B) is None for a fixed
    base, and its spatial acceleration (6, 1, B) has gravity taken off (a base accelerating
    upwards at g stands for gravity). Returns the joint torques (n, B) and the wrench on the base
    (6, B): the sum of every body's.
    """
    body_columns, axes, origins = frames
    mass, body_motions, ancestors, q_map, prismatic = tables
    rates = torch.matmul(q_map, _joint_rows(v, count))
    unit, twist, _, twist_rate = _motion_twists(axes, origins, rates, ancestors, prismatic)
    acceleration = unit * torch.matmul(q_map, _joint_rows(a, count)) + twist_rate
    V = torch.matmul(body_motions.mT, twist)
    if base_velocity is not None:
        acceleration = acceleration + _motion_cross(base_velocity, twist)
        V = V + base_velocity
    A = torch.matmul(body_motions.mT, acceleration) + base_acceleration
    h, J = _rigid_bodies(body_columns, mass)
    wrench = _momentum_rate(mass, h, J, V, A)
    torques = (unit * torch.matmul(body_motions, wrench)).sum(0)
    return torch.matmul(q_map.mT, torques), wrench.sum(1)


def _mass_matrix(
    frames: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    tables: list[torch.Tensor | None],
    count: int,
    floating: bool,
) -> torch.Tensor:
    """M(q), (B, n, n), or (B, 6 + n, 6 + n) with the base first: composite rigid bodies.

    Motion k's column is F_k = I_k S_k, I_k the composite inertia of the bodies it moves and S_k
    its twist per unit rate of its column of q; entry (j, k) is S_j · F_k where motion j is motion
    k or before it, symmetric, and motions that share a column of q (mimic joints) add up.
    ``tables``: body_mass, body_motions, motion_lineage, motion_scale, motion_column (None when
    motion m is column m) and motion_prismatic (or None). The base moves every body: its block is
    the whole robot's inertia, its coupling with motion k is F_k.
    """
    body_columns, axes, origins = frames
    mass, body_motions, lineage, scale, column, prismatic = tables
    assert mass is not None and body_motions is not None and lineage is not None
    assert scale is not None
    # Each intermediate is deleted after its last use: a call holding them all peaks at several
    # times the output, and glibc hands such peaks back to the kernel, to be faulted in again on
    # the next call (G1's with a floating base, batch 1,000, float64, in a fresh process: 35–43 →
    # 19–31 ms, 8,600–12,000 → 1,700–6,600 page faults a call).
    h, J = _rigid_bodies(body_columns, mass)
    unit = _unit_twists(axes, origins, prismatic) * scale
    composite_mass = torch.matmul(body_motions, mass)
    composite_h = torch.matmul(body_motions, h)
    composite_J = torch.matmul(body_motions, J)
    totals = (h.sum(1).mT, J.sum(2).permute(2, 0, 1)) if floating else None
    del h, J
    s_v, s_w = unit[:3], unit[3:]
    F = torch.cat(
        [
            composite_mass * s_v + _cross(s_w, composite_h),
            _cross(composite_h, s_v) + _apply(composite_J, s_w),
        ]
    )
    del composite_mass, composite_h, composite_J, s_v, s_w
    # (B, M, M): S_j · F_k, from operands laid out as bmm reads them without a copy per matrix
    pairs = torch.bmm(unit.permute(2, 1, 0).contiguous(), F.permute(2, 0, 1).contiguous())
    del unit
    strict = lineage - torch.eye(lineage.shape[0], dtype=lineage.dtype, device=lineage.device)
    motions = _plus_product(pairs * lineage, pairs.mT, strict.mT)
    del pairs
    matrix = _by_column(_by_column(motions, column, count, 1), column, count, 2)
    del motions
    if totals is None:
        return matrix
    coupling = _by_column(F.permute(2, 0, 1).contiguous(), column, count, 2)  # (B, 6, n)
    del F
    (total_h, total_J), total_mass = totals, mass.sum()
    eye = torch.eye(3, dtype=total_J.dtype, device=total_J.device).expand_as(total_J)
    skew = _skew_rows(total_h)
    # Written block by block into one tensor: concatenating a large matrix costs a copy of it.
    whole = matrix.new_empty(matrix.shape[:-2] + (6 + count, 6 + count))
    whole[:, :3, :3], whole[:, :3, 3:6] = total_mass * eye, -skew
    whole[:, 3:6, :3], whole[:, 3:6, 3:6] = skew, total_J
    whole[:, :6, 6:], whole[:, 6:, :6], whole[:, 6:, 6:] = coupling, coupling.mT, matrix
    return whole


def _by_column(
    motions: torch.Tensor, column: torch.Tensor | None, count: int, dim: int
) -> torch.Tensor:
    """Entries per motion along ``dim`` added up per column of q (``count`` of them): motion m
    goes to column[m]; as they are when motion m is column m."""
    if column is None:
        return motions
    shape = motions.shape[:dim] + (count,) + motions.shape[dim + 1 :]
    return motions.new_zeros(shape).index_add(dim, column, motions)


def _skew_rows(w: torch.Tensor) -> torch.Tensor:
    """[w]×, (B, 3, 3), of vectors (B, 3)."""
    x, y, z = w.unbind(-1)
    zero = torch.zeros_like(x)
    return torch.stack([zero, -z, y, z, zero, -x, -y, x, zero], -1).unflatten(-1, (3, 3))


def _solve(matrix: torch.Tensor, rhs: torch.Tensor) -> torch.Tensor:
    """matrix⁻¹ rhs for symmetric positive-definite matrices (B, N, N) and rhs (B, N): a Cholesky
    factorisation (half the work of LU, and M is SPD) whose success is not checked, so that no
    value crosses to the host; a singular M gives non-finite accelerations."""
    factor, _ = torch.linalg.cholesky_ex(matrix)
    return torch.cholesky_solve(rhs.unsqueeze(-1), factor).squeeze(-1)
