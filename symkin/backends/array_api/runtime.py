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


def _poses(pose_columns: Array, batch_shape: tuple[int, ...], tips: int) -> Array:
    """The poses, (..., 4, 4) for one tip, (..., T, 4, 4) for T, from the tips' columns."""
    poses = pose_columns.reshape(4, tips, 4, -1).transpose(3, 1, 0, 2)
    return poses.reshape(batch_shape + ((4, 4) if tips == 1 else (tips, 4, 4)))


def _jacobian(
    points: Array,
    axes: Array,
    origins: Array,
    pair_located: Array,
    pair_motion: Array,
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
    ``rows`` of it. Pairs of a mimic joint and its source share a slot (``pair_slot``) and are
    added up. Each configuration's (mostly zero) row of the output is gathered from the slots'
    nonzero columns by ``source`` (None: the slots already are the output, in order).
    """
    batch = points.shape[2]
    axis = axes[:3, pair_motion]
    linear = xp.cross(axis, points[:, pair_located] - origins[:3, pair_motion], axis=0)
    if pair_prismatic is not None:
        linear = xp.where(pair_prismatic, axis, linear)
        axis = xp.where(pair_prismatic, 0, axis)
    columns = (xp.concatenate([linear, axis]) if rows == 6 else linear) * pair_scale
    if pair_slot is not None:
        # Added up by a product with a (pairs × slots) indicator: the same in JAX and NumPy.
        indicator = (pair_slot[:, None] == xp.arange(slots)).astype(columns.dtype)
        columns = xp.einsum("rpb,ps->rsb", columns, indicator)
    if source is None:
        return columns.reshape(-1, batch).T
    entries = xp.concatenate([columns.reshape(-1, batch), xp.zeros((1, batch), columns.dtype)])
    return entries[source].T


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


def _minus_skew(points: Array) -> Array:
    """−[p]× of points (..., 3), (..., 3, 3): a point turned at ω moves at ω × p = −[p]× ω."""
    px, py, pz = xp.moveaxis(points, -1, 0)
    zero = xp.zeros_like(px)
    return xp.stack([zero, pz, -py, -pz, zero, px, py, -px, zero], -1).reshape(px.shape + (3, 3))


def _in_world(X_world_base: Array, pose: Array, jacobian: Array | None, tips: int) -> Any:
    """Poses relative to the base made world ones, X_world_tip = X_world_base·X_tip; with
    Jacobians, (poses, Jacobians) with the base's twist first (Pinocchio's free flyer: the base
    origin's velocity and the angular velocity, both in base axes) and rows in world axes."""
    X = X_world_base[..., None, :, :] if tips > 1 else X_world_base
    in_world = X @ pose
    if jacobian is None:
        return in_world
    minus_skew = _minus_skew(pose[..., :3, 3])
    eye = xp.broadcast_to(xp.eye(3, dtype=pose.dtype), minus_skew.shape)
    top = xp.concatenate([eye, minus_skew], -1)
    base_columns = xp.concatenate([top, xp.concatenate([xp.zeros_like(eye), eye], -1)], -2)
    columns = xp.concatenate([base_columns, jacobian], -1)
    R = X[..., :3, :3]
    return in_world, xp.concatenate([R @ columns[..., :3, :], R @ columns[..., 3:, :]], -2)


def _points_in_world(X_world_base: Array, points: Array, jacobian: Array | None) -> Any:
    """Points (..., K, 3) relative to the base made world ones; with Jacobians (..., K, 3, n),
    (points, Jacobians) with the base's twist first (base axes) and rows in world axes."""
    R, t = X_world_base[..., None, :3, :3], X_world_base[..., None, :3, 3]
    in_world = (R @ points[..., None])[..., 0] + t
    if jacobian is None:
        return in_world
    minus_skew = _minus_skew(points)
    eye = xp.broadcast_to(xp.eye(3, dtype=points.dtype), minus_skew.shape)
    return in_world, R @ xp.concatenate([eye, minus_skew, jacobian], -1)


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
