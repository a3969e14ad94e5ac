"""The fixed part of every generated JAX and NumPy module, robot-independent.

``templates/functional/module.py.jinja`` copies everything below this docstring verbatim into
each module, with the import of ``xp`` made the backend's (``jax.numpy`` or ``numpy``); here it
is linted, type-checked and tested as code against NumPy. Only functions both libraries share are
used, and no array is
changed in place (JAX's are immutable), so the same text serves both.

Conventions: columns are homogeneous 4-vectors over the batch, (4, L, B) arrays of L lanes
(w = 0 for directions, 1 for points); Jacobians have rows [v; ω] (linear velocity of a point,
angular velocity) in base axes.
"""

from __future__ import annotations

from functools import lru_cache  # noqa: F401  (generated modules' _table caches with it)
from typing import Any

import numpy as xp  # the backend's array namespace: jax.numpy or numpy

Array = Any
"""An array of ``xp``."""


def _make_table(values: list, kind: str, shape: tuple[int, ...] | None, dtype: Any) -> Array:
    """A table from its exact values: ``kind`` "float" (in ``dtype``), "index" (integers) or
    "mask" (booleans, a column), viewed as ``shape``; "columns": (K, 4) rows as (4, K, 1)."""
    if kind == "index":
        return xp.asarray(values, dtype=xp.int32)
    if kind == "mask":
        return xp.asarray(values, dtype=bool).reshape(-1, 1)
    table = xp.asarray(values, dtype=dtype)
    if kind == "columns":
        return table.reshape(-1, 4).T[:, :, None]
    return table.reshape(shape) if shape is not None else table


def _check_joints(q: Array, count: int) -> Array:
    """``q`` as an array, after checking it is floating-point of shape (..., count)."""
    q = xp.asarray(q)
    if not xp.issubdtype(q.dtype, xp.floating) or q.shape[-1:] != (count,):
        raise ValueError(
            f"expected a floating-point array q of shape (..., {count}), "
            f"got {q.dtype} of shape {q.shape}"
        )
    return q


def _joint_rows(q: Array, count: int) -> Array:
    """The joint values as rows over the flattened batch, (n, B)."""
    if count:
        return q.reshape(-1, count).T
    # No joints: the batch size cannot come from q's width.
    return xp.zeros((0, q[..., 0].size), q.dtype)


def _unit_quaternions(joints: Array, starts: tuple[int, ...]) -> Array:
    """The joint rows (n, B) with each ball joint's quaternion (the four rows from each of
    ``starts``, w first) divided by its norm, as MuJoCo's mju_normalize4 does: one of norm below
    1e-15 (mjMINVAL) becomes the identity, with no branch on the data."""
    pieces, done = [], 0
    for start in starts:
        quaternion = joints[start : start + 4]
        squared = xp.sum(quaternion * quaternion, axis=0, keepdims=True)
        small = squared < 1e-30
        unit = quaternion * xp.where(small, 0.0, 1 / xp.sqrt(xp.maximum(squared, 1e-30)))
        pieces += [joints[done:start], unit[:1] + small.astype(unit.dtype), unit[1:]]
        done = start + 4
    return xp.concatenate([*pieces, joints[done:]])


def _poses(pose_columns: Array, batch_shape: tuple[int, ...], tips: int) -> Array:
    """The poses, (..., 4, 4) for one tip, (..., T, 4, 4) for T, from the tips' columns."""
    poses = pose_columns.reshape(4, tips, 4, -1).transpose(3, 1, 0, 2)
    return poses.reshape(batch_shape + ((4, 4) if tips == 1 else (tips, 4, 4)))


def _jacobian(
    points: Array,
    axes: Array,
    origins: Array,
    pair_located: Array | None,
    pair_motion: Array | None,
    pair_scale: Array,
    pair_prismatic: Array | None,
    pair_slot: Array | None,
    source: Array | None,
    rows: int,
    slots: int,
) -> Array:
    """Jacobians of points, (B, K·rows·n): a column per pair of a point and a joint above it.

    ``points`` are the points' positions (3, K, B); a revolute joint's column is
    scale·[axis × (point − origin); axis], a prismatic joint's scale·[axis; 0], the first
    ``rows`` of it (see _gathered for the rest). Pairs are gathered by ``pair_located`` and
    ``pair_motion``, or None: one point and every motion in order.
    """
    axis, origin = axes[:3], origins[:3]
    if pair_located is not None and pair_motion is not None:
        points, axis, origin = points[:, pair_located], axis[:, pair_motion], origin[:, pair_motion]
    linear = xp.cross(axis, points - origin, axis=0)
    if pair_prismatic is not None:
        linear = xp.where(pair_prismatic, axis, linear)
        axis = xp.where(pair_prismatic, 0, axis)
    columns = xp.concatenate([linear, axis]) if rows == 6 else linear
    return _gathered(columns, pair_scale, pair_slot, source, rows, slots)


def _gathered(
    columns: Array,
    pair_scale: Array,
    pair_slot: Array | None,
    source: Array | None,
    rows: int,
    slots: int,
) -> Array:
    """Pairs' unit columns (rows, P, B), scaled, as each configuration's row of Jacobians
    (B, K·rows·n). Pairs of a mimic joint and its source share a slot (``pair_slot``) and are
    added up; the (mostly zero) row is gathered from the slots' columns by ``source`` (None: the
    slots already are the output, in order)."""
    batch = columns.shape[2]
    columns = columns * pair_scale
    if pair_slot is not None:
        # Added up by a product with a (pairs × slots) indicator: the same in JAX and NumPy.
        indicator = (pair_slot[:, None] == xp.arange(slots)).astype(columns.dtype)
        columns = xp.einsum("rpb,ps->rsb", columns, indicator)
    if source is None:
        return columns.reshape(-1, batch).T
    entries = xp.concatenate([columns.reshape(-1, batch), xp.zeros((1, batch), columns.dtype)])
    return entries[source].T


def _unit_twists(axes: Array, origins: Array, motion_prismatic: Array | None) -> Array:
    """Each motion's unit twist S about the base origin, (6, M, B), rows [linear; angular] in base
    axes: [origin × axis; axis] (revolute) or [axis; 0] (prismatic)."""
    axis = axes[:3]
    linear, angular = xp.cross(origins[:3], axis, axis=0), axis
    if motion_prismatic is not None:
        linear = xp.where(motion_prismatic, axis, linear)
        angular = xp.where(motion_prismatic, 0, angular)
    return xp.concatenate([linear, angular])


def _motion_twists(
    axes: Array, origins: Array, rates: Array, ancestors: Array, motion_prismatic: Array | None
) -> tuple[Array, Array, Array, Array]:
    """Each motion's unit twist S about the base origin, its twist S·rate, S's time derivative and
    (dS/dt)·rate, each (6, M, B), rows [linear; angular] in base axes.

    S is as _unit_twists makes it; ``rates`` (M, B) are the motions' rates. A motion's axis is
    carried by the bodies before it on its path from the base, which move at V = Σ twists of the
    motions before it (``ancestors``, M × M); so
    dS/dt = V ×ₘ S = [ω × s_v + v × s_ω; ω × s_ω].
    """
    unit = _unit_twists(axes, origins, motion_prismatic)
    linear, angular = unit[:3], unit[3:]
    twist = unit * rates
    before = xp.matmul(ancestors, twist)
    turned = xp.cross(before[3:], linear, axis=0) + xp.cross(before[:3], angular, axis=0)
    rate = xp.concatenate([turned, xp.cross(before[3:], angular, axis=0)])
    return unit, twist, rate, rate * rates


def _tip_motion(
    pose_columns: Array, twist: Array, twist_rate: Array, subtree: Array
) -> tuple[Array, Array, Array]:
    """The tips' origins p, velocities [ṗ; ω] and classical accelerations with q̈ = 0, [p̈; α]
    (each (3, T, B) or (6, T, B)), from the motions' twists and their rates of change with q̈ = 0
    (see _motion_twists)."""
    p = pose_columns[:3, 3::4]
    moving = xp.matmul(subtree.T, twist)  # the tips' twists about the base origin
    turning = xp.matmul(subtree.T, twist_rate)  # and their derivatives
    velocity = moving[:3] + xp.cross(moving[3:], p, axis=0)
    acceleration = (
        turning[:3] + xp.cross(turning[3:], p, axis=0) + xp.cross(moving[3:], velocity, axis=0)
    )
    return p, xp.concatenate([velocity, moving[3:]]), xp.concatenate([acceleration, turning[3:]])


def _jacobian_rate_columns(
    p: Array,
    velocity: Array,
    unit: Array,
    rate: Array,
    pair_located: Array | None,
    pair_motion: Array | None,
) -> Array:
    """Per pair of a tip and a motion, the time derivative of its unit Jacobian column (6, P, B):
    [dSv/dt + dSω/dt × p + Sω × ṗ; dSω/dt] (see _motion_twists; pairs as _jacobian's)."""
    p_rate = velocity[:3]
    if pair_located is not None and pair_motion is not None:
        p, p_rate = p[:, pair_located], p_rate[:, pair_located]
        rate, unit = rate[:, pair_motion], unit[:, pair_motion]
    linear = rate[:3] + xp.cross(rate[3:], p, axis=0) + xp.cross(unit[3:], p_rate, axis=0)
    return xp.concatenate([linear, rate[3:]])


def _by_tip(rows: Array, batch_shape: tuple[int, ...]) -> Array:
    """(C, T, B) per tip as (..., T, C)."""
    return rows.transpose(2, 1, 0).reshape(batch_shape + rows.shape[1::-1])


def _check_velocity(v: Array, q: Array, count: int, name: str = "v") -> Array:
    """``v`` as an array of shape (..., count) over q's batch shape, in q's dtype."""
    v = xp.asarray(v)
    shape = q.shape[:-1] + (count,)
    if v.shape != shape or v.dtype != q.dtype:
        raise ValueError(
            f"expected {name} of shape {shape} and dtype {q.dtype}, got {v.shape} {v.dtype}"
        )
    return v


def _check_base_velocity(base_velocity: Array, q: Array) -> Array:
    """``base_velocity`` as a (..., 6) array of q's dtype."""
    base_velocity = xp.asarray(base_velocity, dtype=q.dtype)
    if base_velocity.shape[-1:] != (6,):
        raise ValueError(f"expected a base velocity of shape (..., 6), got {base_velocity.shape}")
    return base_velocity


def _base_pose(base: Array, q: Array) -> Array:
    """X_world_base, (..., 4, 4), from the base pose: (..., 7), position then quaternion
    (w, x, y, z), normalised here, or (..., 4, 4). A quaternion of zero norm is the identity, as
    MuJoCo's mju_normalize4 has it."""
    base = xp.asarray(base, dtype=q.dtype)
    if base.shape[-1:] != (7,) and base.shape[-2:] != (4, 4):
        raise ValueError(f"expected a base pose of shape (..., 7) or (..., 4, 4), got {base.shape}")
    batch = base.shape[:-1] if base.shape[-1] == 7 else base.shape[:-2]
    try:
        xp.broadcast_shapes(q.shape[:-1], batch)
    except ValueError:
        shapes = f"q {q.shape} and base {base.shape}"
        raise ValueError(f"the batch shapes of {shapes} do not broadcast") from None
    if base.shape[-1] != 7:
        return base
    w, x, y, z = xp.moveaxis(_unit_quaternion(base[..., 3:]), -1, 0)
    px, py, pz = xp.moveaxis(base[..., :3], -1, 0)
    zero, one = xp.zeros_like(w), xp.ones_like(w)
    entries = [
        1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y), px,
        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x), py,
        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y), pz,
        zero, zero, zero, one,
    ]  # fmt: skip
    return xp.stack(entries, -1).reshape(base.shape[:-1] + (4, 4))


def _unit_quaternion(quaternion: Array) -> Array:
    """(..., 4) quaternions (w, x, y, z) divided by their norm; one of norm below 1e-15 (MuJoCo's
    mjMINVAL) is the identity (1, 0, 0, 0)."""
    norm = xp.linalg.norm(quaternion, axis=-1, keepdims=True)
    identity = xp.asarray((1.0, 0.0, 0.0, 0.0), dtype=quaternion.dtype)
    # The floor keeps the unused quotient finite, so no NaN reaches a gradient.
    return xp.where(norm < 1e-15, identity, quaternion / xp.maximum(norm, 1e-15))


def _skew(w: Array) -> Array:
    """[w]×, (..., 3, 3), of vectors (..., 3): [w]× x = w × x."""
    x, y, z = xp.moveaxis(w, -1, 0)
    zero = xp.zeros_like(x)
    return xp.stack([zero, -z, y, z, zero, -x, -y, x, zero], -1).reshape(x.shape + (3, 3))


def _base_columns(p: Array) -> Array:
    """The velocity of points p (..., 3) per unit twist of the base, [v; ω] in base axes:
    (..., 6, 6), [[I, −[p]×], [0, I]] (a base turning at ω moves p at ω × p = −[p]× ω)."""
    minus_skew = _skew(-p)
    eye = xp.broadcast_to(xp.eye(3, dtype=p.dtype), minus_skew.shape)
    top = xp.concatenate([eye, minus_skew], -1)
    return xp.concatenate([top, xp.concatenate([xp.zeros_like(eye), eye], -1)], -2)


def _in_world(X_world_base: Array, pose: Array, jacobian: Array | None, tips: int) -> Any:
    """Poses relative to the base made world ones, X_world_tip = X_world_base·X_tip; with
    Jacobians, (poses, Jacobians) with the base's twist first (Pinocchio's free flyer: the base
    origin's velocity and the angular velocity, both in base axes) and rows in world axes."""
    X = X_world_base[..., None, :, :] if tips > 1 else X_world_base
    in_world = X @ pose
    if jacobian is None:
        return in_world
    columns = xp.concatenate([_base_columns(pose[..., :3, 3]), jacobian], -1)
    R = X[..., :3, :3]
    return in_world, xp.concatenate([R @ columns[..., :3, :], R @ columns[..., 3:, :]], -2)


def _points_in_world(X_world_base: Array, points: Array, jacobian: Array | None) -> Any:
    """Points (..., K, 3) relative to the base made world ones; with Jacobians (..., K, 3, n),
    (points, Jacobians) with the base's twist first (base axes) and rows in world axes."""
    R, t = X_world_base[..., None, :3, :3], X_world_base[..., None, :3, 3]
    in_world = (R @ points[..., None])[..., 0] + t
    if jacobian is None:
        return in_world
    return in_world, R @ xp.concatenate([_base_columns(points)[..., :3, :], jacobian], -1)


def _motion_in_world(
    X_world_base: Array, base_velocity: Array, p: Array, velocity: Array, acceleration: Array
) -> tuple[Array, Array]:
    """Tips' velocities and classical accelerations with q̈ = 0, (..., T, 6) relative to the
    base, made world ones for a base moving at ``base_velocity`` (..., 6), [v; ω] in base axes,
    that does not accelerate (in base axes).

    In base axes a tip at p moves at u = [v + ω × p + ṗ; ω + ω_tip]; its acceleration adds to the
    relative one ω × u_v + ω × ṗ and ω × u_ω (the base axes turn at ω).
    """
    R = X_world_base[..., None, :3, :3]
    v_base, w_base = base_velocity[..., None, :3], base_velocity[..., None, 3:]
    linear = v_base + xp.cross(w_base, p) + velocity[..., :3]
    angular = w_base + velocity[..., 3:]
    linear_acceleration = xp.cross(w_base, linear + velocity[..., :3]) + acceleration[..., :3]
    angular_acceleration = xp.cross(w_base, angular) + acceleration[..., 3:]
    rows = xp.stack([linear, angular, linear_acceleration, angular_acceleration], -1)
    in_world = xp.swapaxes(R @ rows, -1, -2)  # (..., T, 4, 3)
    shape = in_world.shape[:-2] + (6,)
    return in_world[..., :2, :].reshape(shape), in_world[..., 2:, :].reshape(shape)


def _jacobian_rate_in_world(
    X_world_base: Array,
    base_velocity: Array,
    p: Array,
    velocity: Array,
    jacobian: Array,
    jacobian_rate: Array,
) -> Array:
    """The time derivative (..., T, 6, 6 + n) of the world Jacobian R·M (see _in_world) for a base
    moving at ``base_velocity``: R·([ω]× M + dM/dt), with dM/dt = [[0, −[ṗ]×, dJv/dt], [0, 0,
    dJω/dt]], from the relative Jacobians and their rates (..., T, 6, n)."""
    M = xp.concatenate([_base_columns(p), jacobian], -1)
    zero = xp.zeros_like(M[..., :3, :3])
    rate_top = xp.concatenate([zero, _skew(-velocity[..., :3]), jacobian_rate[..., :3, :]], -1)
    rate_bottom = xp.concatenate([zero, zero, jacobian_rate[..., 3:, :]], -1)
    W, R = _skew(base_velocity[..., None, 3:]), X_world_base[..., None, :3, :3]
    top = R @ (W @ M[..., :3, :] + rate_top)
    return xp.concatenate([top, R @ (W @ M[..., 3:, :] + rate_bottom)], -2)


def _point_rows(points: Array, batch_shape: tuple[int, ...]) -> Array:
    """Points (4, K, B) as (..., K, 3)."""
    return points[:3].transpose(2, 1, 0).reshape(batch_shape + (points.shape[1], 3))


def _weighted_mean(points: Array, weights: Array) -> Array:
    """Σ_k w_k p_k of points (4, K, B) with normalised weights (K, 1): (B, 3)."""
    return (points[:3] * weights).sum(1).T


def _weighted_jacobian(
    points: Array,
    axes: Array,
    origins: Array,
    subtree: Array,
    moving: Array,
    q_map: Array,
    motion_prismatic: Array | None,
) -> Array:
    """The Jacobian of Σ_k w_k p_k (normalised weights), (B, 3, n), from points (4, K, B).

    Motion m moves the points of weight μ_m (``moving``, (M, 1)) whose weighted sum is
    c_m = Σ_k subtree[m, k] p_k: its column is axis × (c_m − μ_m o_m) (revolute) or μ_m axis
    (prismatic); q_map takes the motions' columns to q's.
    """
    moved = xp.matmul(subtree, points[:3])
    linear = xp.cross(axes[:3], moved - origins[:3] * moving, axis=0)
    if motion_prismatic is not None:
        linear = xp.where(motion_prismatic, axes[:3] * moving, linear)
    return xp.matmul(q_map.T, linear).transpose(2, 0, 1)


def _spheres(centres: Array, radii: Array, batch_shape: tuple[int, ...]) -> Array:
    """Sphere centres (4, S, B) and radii (S, 1) as (..., S, 4): x, y, z, radius."""
    rows = xp.concatenate([centres[:3], xp.broadcast_to(radii, centres.shape[1:])[None]])
    return rows.transpose(2, 1, 0).reshape(batch_shape + (centres.shape[1], 4))


def _length(v: Array, axis: int) -> Array:
    """‖v‖ along ``axis``, with a finite gradient where v is 0 (there: 0)."""
    return xp.sqrt(xp.maximum((v * v).sum(axis), 1e-30))


def _pair_distances(
    centres: Array,
    first: Array,
    second: Array,
    reach: Array,
    order: Array,
    groups: tuple[tuple[int, int], ...],
) -> Array:
    """The least signed distance between the spheres of each pair of links, (P, B), from sphere
    centres (4, S, B) and the rows of sphere pairs: their spheres (Q,), radius sums (Q, 1), each
    pair of links' row (P,) and the rows' groups (count, width) (see the compiler's
    CollisionTables)."""
    gap = centres[:3, first] - centres[:3, second]
    distances = _length(gap, 0) - reach
    least, start = [], 0
    for count, width in groups:
        rows = distances[start : start + count * width]
        least.append(rows.reshape(count, width, distances.shape[1]).min(1))
        start += count * width
    return xp.concatenate(least)[order]


def _sphere_distances(spheres: Array, obstacles: Array) -> Array:
    """Signed distances (..., S, K) between spheres (..., S, 4) and obstacles (..., K, 4)."""
    obstacles = xp.asarray(obstacles, dtype=spheres.dtype)
    if obstacles.shape[-1:] != (4,) or obstacles.ndim < 2:
        raise ValueError(
            f"expected obstacles of shape (..., K, 4): centre and radius, got {obstacles.shape}"
        )
    gap = spheres[..., :, None, :3] - obstacles[..., None, :, :3]
    return _length(gap, -1) - spheres[..., :, None, 3] - obstacles[..., None, :, 3]
