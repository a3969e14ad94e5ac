"""The fixed part of every generated torch module, robot-independent.

``templates/torch/module.py.jinja`` copies everything below this docstring verbatim into each
module, so generated files stay standalone; here it is linted, type-checked and unit-tested as
code. The generated part defines the frame program, the tables and the module class, and calls
these helpers with them.

Conventions: columns are homogeneous 4-vectors over the batch, (4, L, B) tensors of L lanes
(w = 0 for directions, 1 for points); Jacobians have rows [v; ω] (linear velocity of a point,
angular velocity) in base axes.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

# Tensors of this many elements or more take the forms that are fastest over many
# configurations. Under torch.compile and torch.export those forms are always taken: the
# compilers fuse them, and a choice by size would specialise the batch dimension.
_LARGE = 8192
_tracing = getattr(torch.compiler, "is_compiling", lambda: False)
# The check torch.autograd.Function.apply itself makes; should a torch release drop it, every
# call takes the plain-autograd path, which is correct everywhere (only slower to differentiate).
_functorch_transforms_active = getattr(torch._C, "_are_functorch_transforms_active", lambda: True)


def _make_table(
    values: list,
    kind: str,
    shape: tuple[int, ...] | None,
    dtype: torch.dtype | None = None,
    device: torch.device | None = None,
) -> torch.Tensor:
    """A table from its exact values: ``kind`` "float" (in ``dtype``, default torch's), "index"
    (int64) or "mask" (bool), viewed as ``shape``; "columns": (K, 4) rows as (4, K, 1) columns."""
    if kind == "index":
        return torch.tensor(values, dtype=torch.long, device=device)
    if kind == "mask":
        return torch.tensor(values, dtype=torch.bool, device=device).reshape(-1, 1)
    table = torch.tensor(values, dtype=dtype or torch.get_default_dtype(), device=device)
    if kind == "columns":
        # Contiguous: torch.export.save stores a buffer whole only when it is.
        return table.reshape(-1, 4).mT.contiguous().reshape(4, -1, 1)
    return table.reshape(shape) if shape is not None else table


def _check_joints(q: torch.Tensor, count: int) -> None:
    if not isinstance(q, torch.Tensor):
        raise ValueError(f"expected a tensor q of shape (..., {count}), got a {type(q).__name__}")
    if not q.is_floating_point() or q.shape[-1:] != (count,):
        raise ValueError(
            f"expected a floating-point tensor q of shape (..., {count}), "
            f"got a {q.dtype} tensor of shape {tuple(q.shape)}"
        )


def _joint_rows(q: torch.Tensor, count: int) -> torch.Tensor:
    """The joint values as rows over the flattened batch, (n, B)."""
    if count:
        return q.reshape(-1, count).mT
    # No joints: the batch size cannot come from q's width.
    return q.new_zeros(0, q.shape[:-1].numel())


def _cross(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a × b over the first dimension (x, y, z)."""
    if not _tracing() and a.numel() < _LARGE:
        return torch.linalg.cross(a, b, dim=0)
    # torch.linalg.cross is one operation, but several times slower than these over many lanes.
    ax, ay, az = a.unbind()
    bx, by, bz = b.unbind()
    return torch.stack(
        [
            torch.addcmul(ay * bz, az, by, value=-1),
            torch.addcmul(az * bx, ax, bz, value=-1),
            torch.addcmul(ax * by, ay, bx, value=-1),
        ]
    )


def _pose_rows(pose_columns: torch.Tensor, tips: int, fresh: bool = False) -> torch.Tensor:
    """The tips' columns (4, 4·T, B) as a row per configuration, (B, 16·T): rows, tips, columns.
    ``fresh``: a tensor of its own even where a view would do (one configuration)."""
    rows = pose_columns.reshape(16 * tips, -1).mT
    return rows.clone(memory_format=torch.contiguous_format) if fresh else rows.contiguous()


def _poses(rows: torch.Tensor, batch_shape: torch.Size, tips: int) -> torch.Tensor:
    """The poses, (..., 4, 4) for one tip, (..., T, 4, 4) for T, from their rows (B, 16·T)."""
    if tips == 1:
        return rows.reshape(batch_shape + (4, 4))
    return rows.reshape(-1, 4, tips, 4).transpose(1, 2).reshape(batch_shape + (tips, 4, 4))


def _jacobian(
    points: torch.Tensor,
    axes: torch.Tensor,
    origins: torch.Tensor,
    pair_located: torch.Tensor,
    pair_motion: torch.Tensor,
    pair_scale: torch.Tensor,
    pair_prismatic: torch.Tensor | None,
    pair_slot: torch.Tensor | None,
    source: torch.Tensor | None,
    rows: int,
    slots: int,
) -> torch.Tensor:
    """Jacobians of points, (B, K·rows·n): a column per pair of a point and a joint above it.

    ``points`` are the points' positions (3, K, B); a revolute joint's column is
    scale·[axis × (point − origin); axis], a prismatic joint's scale·[axis; 0], the first
    ``rows`` of it (see _gathered for the rest).
    """
    axis = axes.index_select(1, pair_motion)[:3]
    lever = points.index_select(1, pair_located) - origins[:3].index_select(1, pair_motion)
    linear = _cross(axis, lever)
    if pair_prismatic is not None:
        linear = torch.where(pair_prismatic, axis, linear)
        axis = axis.masked_fill(pair_prismatic, 0)
    columns = torch.cat([linear, axis]) if rows == 6 else linear
    return _gathered(columns, pair_scale, pair_slot, source, rows, slots)


def _gathered(
    columns: torch.Tensor,
    pair_scale: torch.Tensor,
    pair_slot: torch.Tensor | None,
    source: torch.Tensor | None,
    rows: int,
    slots: int,
) -> torch.Tensor:
    """Pairs' unit columns (rows, P, B), scaled, as each configuration's row of Jacobians
    (B, K·rows·n). Pairs of a mimic joint and its source share a slot (``pair_slot``) and are
    added up. The (mostly zero) row is gathered from the slots' columns by ``source`` (None: the
    slots already are the output, in order)."""
    batch = columns.shape[2]
    columns = columns * pair_scale
    if pair_slot is not None:
        columns = columns.new_zeros(rows, slots, batch).index_add(1, pair_slot, columns)
    if source is None:
        return columns.reshape(-1, batch).mT.contiguous()
    entries = torch.cat([columns.reshape(-1, batch), columns.new_zeros(1, batch)])
    if not _tracing() and entries.numel() < _LARGE:
        return entries.index_select(0, source).mT.contiguous()
    # Over many configurations, transpose the few nonzero columns rather than the whole output.
    return entries.mT.contiguous().index_select(1, source)


def _unit_twists(
    axes: torch.Tensor, origins: torch.Tensor, motion_prismatic: torch.Tensor | None
) -> torch.Tensor:
    """Each motion's unit twist S about the base origin, (6, M, B), rows [linear; angular] in base
    axes: [origin × axis; axis] (revolute) or [axis; 0] (prismatic)."""
    axis = axes[:3]
    linear, angular = _cross(origins[:3], axis), axis
    if motion_prismatic is not None:
        linear = torch.where(motion_prismatic, axis, linear)
        angular = angular.masked_fill(motion_prismatic, 0)
    return torch.cat([linear, angular])


def _motion_twists(
    axes: torch.Tensor,
    origins: torch.Tensor,
    rates: torch.Tensor,
    ancestors: torch.Tensor,
    motion_prismatic: torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
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
    before = torch.matmul(ancestors, twist)
    rate = torch.cat(
        [_cross(before[3:], linear) + _cross(before[:3], angular), _cross(before[3:], angular)]
    )
    return unit, twist, rate, rate * rates


def _tip_motion(
    pose_columns: torch.Tensor,
    twist: torch.Tensor,
    twist_rate: torch.Tensor,
    subtree: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The tips' origins p, velocities [ṗ; ω] and classical accelerations with q̈ = 0, [p̈; α]
    (each (3, T, B) or (6, T, B)), from the motions' twists and their rates of change with q̈ = 0
    (see _motion_twists)."""
    p = pose_columns[:3, 3::4]
    moving = torch.matmul(subtree.mT, twist)  # the tips' twists about the base origin
    turning = torch.matmul(subtree.mT, twist_rate)  # and their derivatives
    velocity = moving[:3] + _cross(moving[3:], p)
    acceleration = turning[:3] + _cross(turning[3:], p) + _cross(moving[3:], velocity)
    return p, torch.cat([velocity, moving[3:]]), torch.cat([acceleration, turning[3:]])


def _jacobian_rate_columns(
    p: torch.Tensor,
    velocity: torch.Tensor,
    unit: torch.Tensor,
    rate: torch.Tensor,
    pair_located: torch.Tensor,
    pair_motion: torch.Tensor,
) -> torch.Tensor:
    """Per pair of a tip and a motion, the time derivative of its unit Jacobian column (6, P, B):
    [dSv/dt + dSω/dt × p + Sω × ṗ; dSω/dt] (see _motion_twists)."""
    p, p_rate = p.index_select(1, pair_located), velocity[:3].index_select(1, pair_located)
    rate, unit = rate.index_select(1, pair_motion), unit.index_select(1, pair_motion)
    linear = rate[:3] + _cross(rate[3:], p) + _cross(unit[3:], p_rate)
    return torch.cat([linear, rate[3:]])


def _q_gradient(
    grad_rows: torch.Tensor,
    pose_columns: torch.Tensor,
    axes: torch.Tensor,
    origins: torch.Tensor,
    q_map: torch.Tensor,
    subtree: torch.Tensor,
    motion_prismatic: torch.Tensor | None,
    tips: int,
) -> torch.Tensor:
    """dL/dq, (n, B), from dL/dpose (its rows, (B, 16·T)): the tips' wrenches summed up the tree.

    For tip t with gradient G: force f = G_p and moment n = Σ_c R_c × G_Rc + p × f about the base
    origin. A joint above the tips sums theirs, (f_j, n_j), and its rate gets
    axis · (n_j − o_j × f_j) (revolute) or axis · f_j (prismatic); q_map takes the rates to q.
    """
    batch = pose_columns.shape[2]
    gradient = grad_rows.reshape(batch, 4, tips, 4).permute(1, 2, 3, 0)[:3]
    columns = pose_columns[:3].reshape(3, tips, 4, batch)
    force = gradient[:, :, 3]
    moment = _cross(columns, gradient).sum(2)
    wrench = torch.cat([force, moment]).transpose(0, 1).reshape(tips, -1)
    wrench = torch.matmul(subtree, wrench)
    wrench = wrench.reshape(-1, 6, batch).transpose(0, 1)
    drive = wrench[3:] - _cross(origins[:3], wrench[:3])
    if motion_prismatic is not None:
        drive = torch.where(motion_prismatic, wrench[:3], drive)
    return torch.matmul(q_map.mT, (axes[:3] * drive).sum(0))


class _PoseWithClosedFormBackward(torch.autograd.Function):
    """The poses' rows, (B, 16·T), with the vector-Jacobian product in closed form as backward.

    ``apply(frames, count, tips, q, *tables)``: ``frames(q, *tables[:count])`` gives the tips'
    columns and every joint's axis and origin; the rest of ``tables`` are the gradient's
    (q_map, subtree, and motion_prismatic when a joint slides). The backward accumulates the
    tips' wrenches up the tree (see _q_gradient), with no autograd graph recorded.
    """

    @staticmethod
    def forward(ctx, frames: Callable, count: int, tips: int, q: torch.Tensor, *tables):
        pose_columns, axes, origins = frames(q, *tables[:count])
        ctx.save_for_backward(q, pose_columns, axes, origins, *tables)
        ctx.frames, ctx.count, ctx.tips = frames, count, tips
        # A tensor of its own, not a view, so that the caller's views of it may be edited in place.
        return _pose_rows(pose_columns, tips, fresh=True)

    @staticmethod
    def backward(ctx, grad_rows: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        q, pose_columns, axes, origins, *tables = ctx.saved_tensors
        frame_tables, gradient_tables = tables[: ctx.count], tables[ctx.count :]
        if torch.is_grad_enabled():
            # Double backward: recompute with autograd so the gradient is itself differentiable.
            pose_columns, axes, origins = ctx.frames(q, *frame_tables)
        q_map, subtree, *prismatic = gradient_tables
        motion_prismatic = prismatic[0] if prismatic else None
        gradient = _q_gradient(
            grad_rows, pose_columns, axes, origins, q_map, subtree, motion_prismatic, ctx.tips
        )
        return (None, None, None, gradient.mT.reshape(q.shape), *(None for _ in tables))


def _base_pose(base: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """X_world_base, (..., 4, 4), from the base pose: (..., 7), position then quaternion
    (w, x, y, z), normalised here (the gradient goes through the normalisation), or (..., 4, 4).

    A quaternion of zero norm is the identity, as MuJoCo's mju_normalize4 has it: no check of the
    values, so no host synchronisation and no error for one bad configuration of a batch.
    """
    shape = base.shape if isinstance(base, torch.Tensor) else ()
    if shape[-1:] != (7,) and shape[-2:] != (4, 4):
        described = tuple(base.shape) if isinstance(base, torch.Tensor) else type(base).__name__
        raise ValueError(f"expected a base pose of shape (..., 7) or (..., 4, 4), got {described}")
    if base.dtype != q.dtype or base.device != q.device:
        raise ValueError(f"the base is {base.dtype} on {base.device}, q {q.dtype} on {q.device}")
    batch = base.shape[:-1] if base.shape[-1] == 7 else base.shape[:-2]
    try:
        torch.broadcast_shapes(q.shape[:-1], batch)
    except RuntimeError:
        shapes = f"q {tuple(q.shape)} and base {tuple(base.shape)}"
        raise ValueError(f"the batch shapes of {shapes} do not broadcast") from None
    if base.shape[-1] != 7:
        return base
    top = torch.cat([_quaternion_matrix(base[..., 3:]), base[..., :3, None]], -1)
    bottom = base.new_tensor((0.0, 0.0, 0.0, 1.0)).expand(base.shape[:-1] + (1, 4))
    return torch.cat([top, bottom], -2)


def _quaternion_matrix(quaternion: torch.Tensor) -> torch.Tensor:
    """Rotation matrices (..., 3, 3) of quaternions (..., 4), (w, x, y, z), normalised first."""
    w, x, y, z = _unit_quaternion(quaternion).unbind(-1)
    entries = [
        1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
    ]  # fmt: skip
    return torch.stack(entries, -1).unflatten(-1, (3, 3))


def _unit_quaternion(quaternion: torch.Tensor) -> torch.Tensor:
    """(..., 4) quaternions (w, x, y, z) divided by their norm; one of norm below 1e-15 (MuJoCo's
    mjMINVAL) is the identity (1, 0, 0, 0)."""
    norm = torch.linalg.vector_norm(quaternion, dim=-1, keepdim=True)
    identity = quaternion.new_tensor((1.0, 0.0, 0.0, 0.0))
    # The clamp keeps the unused quotient finite, so no NaN reaches the gradient.
    return torch.where(norm < 1e-15, identity, quaternion / norm.clamp_min(1e-15))


def _in_world(
    X_world_base: torch.Tensor, pose: torch.Tensor, jacobian: torch.Tensor | None, tips: int
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Poses and Jacobians relative to the base, made world ones: X_world_tip = X_world_base·X_tip.
    The Jacobian gains the base's twist first (Pinocchio's free flyer: the base origin's velocity
    and the angular velocity, both in base axes), and its rows turn to world axes."""
    X = X_world_base.unsqueeze(-3) if tips > 1 else X_world_base
    in_world = _times(X, pose)
    if jacobian is None:
        return in_world, None
    columns = torch.cat([_base_columns(pose[..., :3, 3]), jacobian], -1)
    R = X[..., None, :3, :3]  # turns the linear and the angular rows alike
    return in_world, _times(R, columns.unflatten(-2, (2, 3))).flatten(-3, -2)


def _times(A: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    """A @ Y for small blocks A (..., r, c), Y (..., c, N) (c = 3 or 4): one multiply-add per
    column of A, which a CPU runs several times faster than a batched matmul of tiny blocks."""
    product = A[..., :, 0:1] * Y[..., 0:1, :]
    for k in range(1, A.shape[-1]):
        product = torch.addcmul(product, A[..., :, k : k + 1], Y[..., k : k + 1, :])
    return product


def _base_columns(p: torch.Tensor) -> torch.Tensor:
    """The velocity of points p (..., 3) per unit twist of the base, [v; ω] in base axes:
    (..., 6, 6), [[I, −[p]×], [0, I]] (a base turning at ω moves p at ω × p = −[p]× ω)."""
    minus_skew = _skew(-p)
    eye = torch.eye(3, dtype=p.dtype, device=p.device).expand_as(minus_skew)
    top = torch.cat([eye, minus_skew], -1)
    return torch.cat([top, torch.cat([torch.zeros_like(eye), eye], -1)], -2)


def _skew(w: torch.Tensor) -> torch.Tensor:
    """[w]×, (..., 3, 3), of vectors (..., 3): [w]× x = w × x."""
    x, y, z = w.unbind(-1)
    zero = torch.zeros_like(x)
    return torch.stack([zero, -z, y, z, zero, -x, -y, x, zero], -1).unflatten(-1, (3, 3))


def _motion_in_world(
    X_world_base: torch.Tensor,
    base_velocity: torch.Tensor,
    p: torch.Tensor,
    velocity: torch.Tensor,
    acceleration: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Tips' velocities and classical accelerations with q̈ = 0, (..., T, 6) relative to the
    base, made world ones for a base moving at ``base_velocity`` (..., 6), [v; ω] in base axes,
    that does not accelerate (in base axes).

    In base axes a tip at p moves at u = [v + ω × p + ṗ; ω + ω_tip]; its acceleration adds to the
    relative one ω × u_v + ω × ṗ and ω × u_ω (the base axes turn at ω).
    """
    R = X_world_base[..., None, :3, :3]
    v_base, w_base = base_velocity[..., None, :3], base_velocity[..., None, 3:]
    linear = v_base + torch.linalg.cross(w_base, p, dim=-1) + velocity[..., :3]
    angular = w_base + velocity[..., 3:]
    turned = torch.linalg.cross(w_base, linear + velocity[..., :3], dim=-1)
    linear_acceleration = turned + acceleration[..., :3]
    angular_acceleration = torch.linalg.cross(w_base, angular, dim=-1) + acceleration[..., 3:]
    rows = torch.stack([linear, angular, linear_acceleration, angular_acceleration], -1)
    in_world = _times(R, rows).mT  # (..., T, 4, 3)
    return in_world[..., :2, :].flatten(-2), in_world[..., 2:, :].flatten(-2)


def _jacobian_rate_in_world(
    X_world_base: torch.Tensor,
    base_velocity: torch.Tensor,
    p: torch.Tensor,
    velocity: torch.Tensor,
    jacobian: torch.Tensor,
    jacobian_rate: torch.Tensor,
) -> torch.Tensor:
    """The time derivative (..., T, 6, 6 + n) of the world Jacobian R·M (see _in_world) for a base
    moving at ``base_velocity``: R·([ω]× M + dM/dt), with dM/dt = [[0, −[ṗ]×, dJv/dt], [0, 0,
    dJω/dt]], from the relative Jacobians and their rates (..., T, 6, n)."""
    M = torch.cat([_base_columns(p), jacobian], -1)
    zero = torch.zeros_like(M[..., :3, :3])
    rate_top = torch.cat([zero, _skew(-velocity[..., :3]), jacobian_rate[..., :3, :]], -1)
    rate_bottom = torch.cat([zero, zero, jacobian_rate[..., 3:, :]], -1)
    W = _skew(base_velocity[..., None, None, 3:])
    R = X_world_base[..., None, None, :3, :3]  # turns the linear and the angular rows alike
    rate = torch.stack([rate_top, rate_bottom], -3)
    return _times(R, _times(W, M.unflatten(-2, (2, 3))) + rate).flatten(-3, -2)


def _points_in_world(
    X_world_base: torch.Tensor, points: torch.Tensor, jacobian: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Points (..., K, 3) relative to the base, and their Jacobians (..., K, 3, n), made world
    ones: the Jacobians gain the base's twist first (base axes), their rows turn to world axes."""
    R, t = X_world_base[..., None, :3, :3], X_world_base[..., None, :3, 3]
    in_world = _times(R, points.unsqueeze(-1)).squeeze(-1) + t
    if jacobian is None:
        return in_world, None
    return in_world, _times(R, torch.cat([_base_columns(points)[..., :3, :], jacobian], -1))


def _point_rows(points: torch.Tensor, batch_shape: torch.Size) -> torch.Tensor:
    """Points (4, K, B) as (..., K, 3)."""
    return points[:3].permute(2, 1, 0).reshape(batch_shape + (points.shape[1], 3))


def _weighted_mean(points: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Σ_k w_k p_k of points (4, K, B) with normalised weights (K, 1): (B, 3)."""
    return (points[:3] * weights).sum(1).mT


def _weighted_jacobian(
    points: torch.Tensor,
    axes: torch.Tensor,
    origins: torch.Tensor,
    subtree: torch.Tensor,
    moving: torch.Tensor,
    q_map: torch.Tensor,
    motion_prismatic: torch.Tensor | None,
) -> torch.Tensor:
    """The Jacobian of Σ_k w_k p_k (normalised weights), (B, 3, n), from points (4, K, B).

    Motion m moves the points of weight μ_m (``moving``, (M, 1)) whose weighted sum is
    c_m = Σ_k subtree[m, k] p_k: its column is axis × (c_m − μ_m o_m) (revolute) or μ_m axis
    (prismatic); q_map takes the motions' columns to q's.
    """
    moved = torch.matmul(subtree, points[:3])
    linear = _cross(axes[:3], moved - origins[:3] * moving)
    if motion_prismatic is not None:
        linear = torch.where(motion_prismatic, axes[:3] * moving, linear)
    return torch.matmul(q_map.mT, linear).permute(2, 0, 1)


def _check_velocity(v: torch.Tensor, q: torch.Tensor, name: str = "v") -> None:
    """A joint velocity must be a tensor of q's shape, dtype and device."""
    if not isinstance(v, torch.Tensor) or v.shape != q.shape:
        shape = tuple(v.shape) if isinstance(v, torch.Tensor) else type(v).__name__
        raise ValueError(f"expected {name} of q's shape {tuple(q.shape)}, got {shape}")
    if v.dtype != q.dtype or v.device != q.device:
        raise ValueError(f"{name} is {v.dtype} on {v.device}, q {q.dtype} on {q.device}")


def _check_base_velocity(base_velocity: torch.Tensor, q: torch.Tensor) -> None:
    """A base twist must be a (..., 6) tensor of q's dtype and device."""
    if not isinstance(base_velocity, torch.Tensor) or base_velocity.shape[-1:] != (6,):
        shape = getattr(base_velocity, "shape", type(base_velocity).__name__)
        raise ValueError(f"expected a base velocity of shape (..., 6), got {tuple(shape)}")
    if base_velocity.dtype != q.dtype or base_velocity.device != q.device:
        raise ValueError(f"the base velocity's dtype or device is not q's ({q.dtype}, {q.device})")


def _by_tip(rows: torch.Tensor, batch_shape: torch.Size) -> torch.Tensor:
    """(C, T, B) per tip as (..., T, C)."""
    return rows.permute(2, 1, 0).reshape(batch_shape + rows.shape[1::-1])
