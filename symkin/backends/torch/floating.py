"""The floating base's part of every generated torch module: the base pose from (..., 7) or
(..., 4, 4), over the batch as the frame program lays it out, and what turns base-relative columns,
motions and points into world ones. Copied into generated modules like
:mod:`symkin.backends.torch.runtime` (as far as they use it); see its conventions.
"""

from __future__ import annotations

import torch

from symkin.backends.torch.runtime import (
    _cross,
    _functorch_transforms_active,
    _tracing,
)


def _base_pose(base: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """X_world_base, (..., 4, 4), from the base pose: (..., 7), position then quaternion
    (w, x, y, z), normalised here (the gradient goes through the normalisation), or (..., 4, 4).

    A quaternion of zero norm is the identity, as MuJoCo's mju_normalize4 has it: no check of the
    values, so no host synchronisation and no error for one bad configuration of a batch.
    """
    _check_base(base, q)
    return _pose_matrices(base) if base.shape[-1] == 7 else base


def _pose_matrices(base: torch.Tensor) -> torch.Tensor:
    """(..., 4, 4) poses of base poses (..., 7) (see _pose_over_batch)."""
    columns = _pose_over_batch(base.reshape(-1, 7))
    return columns.squeeze(2).permute(2, 0, 1).reshape(base.shape[:-1] + (4, 4))


def _check_base(base: torch.Tensor, q: torch.Tensor) -> torch.Size:
    """The batch shape q and the base pose share; a ValueError saying what is wrong otherwise."""
    shape = base.shape if isinstance(base, torch.Tensor) else ()
    if shape[-1:] != (7,) and shape[-2:] != (4, 4):
        described = tuple(base.shape) if isinstance(base, torch.Tensor) else type(base).__name__
        raise ValueError(f"expected a base pose of shape (..., 7) or (..., 4, 4), got {described}")
    if base.dtype != q.dtype or base.device != q.device:
        raise ValueError(f"the base is {base.dtype} on {base.device}, q {q.dtype} on {q.device}")
    batch = base.shape[:-1] if base.shape[-1] == 7 else base.shape[:-2]
    if not _tracing() and batch == q.shape[:-1]:
        return batch  # the common case, without broadcast_shapes' 7 µs
    try:
        return torch.broadcast_shapes(q.shape[:-1], batch)
    except RuntimeError:
        shapes = f"q {tuple(q.shape)} and base {tuple(base.shape)}"
        raise ValueError(f"the batch shapes of {shapes} do not broadcast") from None


def _with_base(
    q: torch.Tensor, base: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Size]:
    """q and the base's world pose over the batch shape they share: q (..., n), the pose as
    (4, 4, 1, B) entries over the flattened batch (the frame program's layout, see
    _world_tables), and the batch shape. A (..., 4, 4) pose must be a rigid transform."""
    q, pose, batch = _base_over_batch(q, base)
    return q, _pose_over_batch(pose) if pose.dim() == 2 else pose, batch


def _base_over_batch(
    q: torch.Tensor, base: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Size]:
    """What _with_base gives, with a (..., 7) base's pose still as its rows (B, 7)."""
    batch = _check_base(base, q)
    # Outside tracing, inputs already of the batch shape are not expanded (a few µs each).
    same = not _tracing() and base.shape[: len(batch)] == batch and q.shape[:-1] == batch
    if base.shape[-1] == 7:
        pose = (base if same else base.expand(batch + (7,))).reshape(-1, 7)
    else:
        matrices = (base if same else base.expand(batch + (4, 4))).reshape(-1, 4, 4)
        pose = matrices.permute(1, 2, 0).contiguous().unsqueeze(2)
    return q if same else q.expand(batch + q.shape[-1:]), pose, batch


def _quaternion_matrix(quaternion: torch.Tensor) -> torch.Tensor:
    """Rotation matrices (..., 3, 3) of quaternions (..., 4), (w, x, y, z), normalised first."""
    pose = torch.cat([quaternion.new_zeros(quaternion.shape[:-1] + (3,)), quaternion], -1)
    return _pose_matrices(pose)[..., :3, :3]


def _pose_over_batch(base: torch.Tensor) -> torch.Tensor:
    """The poses [[R, p], [0, 1]] of B base poses (B, 7), p then (w, x, y, z), as (4, 4, 1, B),
    differentiable: with its vector-Jacobian product in closed form (one node of the autograd
    graph where autograd through _pose_entries records a dozen: forward and backward at batch
    4,096 1.09 → 0.65 ms, at batch 1 210 → 185 µs), except under torch.func transforms, which
    differentiate _pose_entries itself."""
    if base.requires_grad and torch.is_grad_enabled() and not _functorch_transforms_active():
        return _PoseOfBase.apply(base)
    return _pose_entries(base)


def _pose_entries(base: torch.Tensor) -> torch.Tensor:
    """What _pose_over_batch gives, in plain tensor operations.

    Each entry of R is 1, 0 or ± an entry of M = 2·S, S = q qᵀ/|q|², plus or minus another (R00 =
    1 − M_yy − M_zz, R01 = M_xy − M_wz, ...): the pose's 16 entries are one constant linear map
    of S's 16, p's 3 and 1. With |q|² among the map's rows (S's trace times |q|²), the products
    over the batch laid out last, as the frame program has it, are q qᵀ, the map of it, |q|²'s
    reciprocal and one multiply-add per part (seven operations at batch 1, where the entries one
    by one take forty). Column by column, so a configuration's pose does not depend on the batch
    it came in. A quaternion of norm below 1e-15 (MuJoCo's mjMINVAL) has S = 0: the identity.
    """
    # Rows made contiguous first: q qᵀ of strided rows, or batch first, costs 2-3× the copy and
    # the product together over many configurations.
    rows = base.mT.contiguous()  # (7, B)
    quaternion = rows[3:]
    outer = quaternion.unsqueeze(1) * quaternion.unsqueeze(0)  # q qᵀ, (4, 4, B)
    of_outer, of_position, constant, _ = _pose_maps(base.dtype, base.device)
    mapped = torch.mm(of_outer, outer.view(16, base.shape[0]))  # (17, B): |q|² last
    scale = _reciprocal_norm(mapped[16:])
    rotation = torch.addcmul(constant, mapped[:16], scale)
    return torch.addmm(rotation, of_position, rows[:3]).view(4, 4, 1, base.shape[0])


class _PoseOfBase(torch.autograd.Function):
    """_pose_entries with the vector-Jacobian product in closed form (see _base_gradient)."""

    @staticmethod
    def forward(ctx, base: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(base)
        return _pose_entries(base)

    @staticmethod
    def backward(ctx, grad_X: torch.Tensor) -> torch.Tensor:
        # Under create_graph the operations below are recorded: the gradient is differentiable.
        (base,) = ctx.saved_tensors
        return _base_gradient(base, grad_X)


def _base_gradient(base: torch.Tensor, grad_X: torch.Tensor) -> torch.Tensor:
    """dL/dbase, (B, 7), from dL/dX (4, 4, 1, B) for X = _pose_entries(base).

    p's gradient is X's last column's. R is linear in S = q qᵀ·s, s = 1/|q|² (0 for the identity):
    with G = dL/dS (the map's transpose applied to dL/dR) and H = G + Gᵀ (one map of dL/dX, see
    _pose_maps), dS = s (dq qᵀ + q dqᵀ) − 2 s² (qᵀdq) q qᵀ gives dL/dq = s·H q − s²·(qᵀ H q)·q.
    """
    batch = base.shape[0]
    quaternion = base[:, 3:].mT.contiguous()  # (4, B)
    of_gradient = _pose_maps(base.dtype, base.device)[3]
    H = torch.mm(of_gradient, grad_X.reshape(16, batch)).view(4, 4, batch)
    Hq = (H * quaternion).sum(1)  # (4, B)
    s = _reciprocal_norm((quaternion * quaternion).sum(0))
    along = (Hq * quaternion).sum(0) * (s * s)  # s²·(qᵀ H q)
    grad_quaternion = torch.addcmul(Hq * s, quaternion, along, value=-1)
    return torch.cat([grad_X[:3, 3, 0], grad_quaternion]).mT


def _pose_map() -> list[list[float]]:
    """What _pose_entries multiplies: per pose entry 4i + j, its coefficients (16 × 20) on the
    entries 4a + b of q qᵀ/|q|² = M / 2 (w, x, y, z = 0, 1, 2, 3), on p's x, y, z (16, 17, 18) and
    on 1 (19); a 17th row, |q|², on the diagonal of q qᵀ."""
    terms = {  # pose entry: (sign, entry), (sign, entry)
        0: ((-1, 10), (-1, 15)), 1: ((1, 6), (-1, 3)), 2: ((1, 7), (1, 2)), 3: ((1, 16), (0, 19)),
        4: ((1, 6), (1, 3)), 5: ((-1, 5), (-1, 15)), 6: ((1, 11), (-1, 1)), 7: ((1, 17), (0, 19)),
        8: ((1, 7), (-1, 2)), 9: ((1, 11), (1, 1)), 10: ((-1, 5), (-1, 10)), 11: ((1, 18), (0, 19)),
    }  # fmt: skip
    rows = [[0.0] * 20 for _ in range(16)]
    for entry, pair in terms.items():
        for sign, feature in pair:
            rows[entry][feature] += 2 * sign if feature < 16 else sign
    for diagonal in (0, 5, 10, 15):
        rows[diagonal][19] += 1.0
    return [*rows, [1.0 if feature in (0, 5, 10, 15) else 0.0 for feature in range(20)]]


_POSE_MAP = _pose_map()
_POSE_MAPS: dict = {}


def _pose_maps(
    dtype: torch.dtype, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """_pose_entries's map on ``device``, split by what it multiplies (17 × 16, 16 × 3, 16 ×
    1), and the map of its gradient (see _base_gradient: (G + Gᵀ) from dL/dX's 16 entries),
    made once per dtype and device: a tensor made from a Python list is a blocking copy to a
    GPU, a host synchronisation on every call. Under torch.compile and torch.export they are made
    in the graph, as constants."""
    if _tracing():
        return _pose_map_tensors(dtype, device)
    key = (dtype, device)
    if key not in _POSE_MAPS:
        _POSE_MAPS[key] = _pose_map_tensors(dtype, device)
    return _POSE_MAPS[key]


def _pose_map_tensors(
    dtype: torch.dtype, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    table = torch.tensor(_POSE_MAP, dtype=dtype, device=device)
    of_outer = table[:, :16].contiguous()
    # Row 4a + b of the gradient's map: S_ab's coefficients plus S_ba's.
    swapped = [4 * (k % 4) + k // 4 for k in range(16)]
    of_gradient = (of_outer[:16].mT + of_outer[:16].mT[swapped]).contiguous()
    return of_outer, table[:16, 16:19].contiguous(), table[:16, 19:].contiguous(), of_gradient


def _base_entries(X: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """What the base's six Jacobian columns for points (3, T, B) in the world read, as extra
    entries for _gathered: X's 16 entries (4, 4, 1, B), then each r_j × (p − o) (3 rows i, 3
    columns j, T, B) (see the compiler's _world_source for where each entry goes). A base twist
    [v; ω] in base axes moves a point like three slides along the base's axes r_j ([r_j; 0]) and
    three hinges about them through the base's origin o ([r_j × (p − o); r_j]): Pinocchio's free
    flyer in LOCAL_WORLD_ALIGNED. X is the base's pose from _with_base."""
    batch = points.shape[2]
    offset = points - X[:3, 3]  # (3, T, B)
    turned = _cross(X[:3, :3], offset.unsqueeze(1))  # (3, 3, T, B)
    return torch.cat([X.view(16, batch), turned.reshape(9 * points.shape[1], batch)])


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
    """The time derivative (..., T, 6, 6 + n) of the world Jacobian R·M, M = [base columns (see
    _base_columns), relative Jacobian], for a base moving at ``base_velocity``: R·([ω]× M +
    dM/dt), with dM/dt = [[0, −[ṗ]×, dJv/dt], [0, 0, dJω/dt]], from the relative Jacobians and
    their rates (..., T, 6, n)."""
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


def _check_base_velocity(base_velocity: torch.Tensor, q: torch.Tensor) -> None:
    """A base twist must be a (..., 6) tensor of q's dtype and device."""
    if not isinstance(base_velocity, torch.Tensor) or base_velocity.shape[-1:] != (6,):
        shape = getattr(base_velocity, "shape", type(base_velocity).__name__)
        raise ValueError(f"expected a base velocity of shape (..., 6), got {tuple(shape)}")
    if base_velocity.dtype != q.dtype or base_velocity.device != q.device:
        raise ValueError(f"the base velocity's dtype or device is not q's ({q.dtype}, {q.device})")


def _world_tables(X: torch.Tensor | None, frame_tables) -> tuple[torch.Tensor, ...]:
    """The frame program's tables with its constant columns (the first table) in the world for
    the base's pose X (4, 4, 1, B) from _with_base, or unchanged for None.

    Every column of the frame program is a combination of earlier ones and constants with
    scalar coefficients, so with X · constant for each constant it yields X · column for each
    column: the world frame at the cost of one product over the constants.
    """
    if X is None:
        return tuple(frame_tables)
    constants = frame_tables[0].squeeze(2)  # (4, K)
    # Entry (i, k, b) is Σ_j X_ij constant_jk: one batched product of tiny matrices.
    in_world = torch.matmul(constants.mT, X.squeeze(2))
    return (in_world, *frame_tables[1:])


def _base_pose_gradient(
    grad_rows: torch.Tensor, pose_columns: torch.Tensor, X: torch.Tensor, tips: int
) -> torch.Tensor:
    """dL/dX, (4, 4, 1, B), for the world poses' gradient (B, 16·T) and world columns (4, 4·T, B).

    The world columns are X · relative ones c, so dL/dX = Σ_c G_c cᵀ = M · X⁻ᵀ with M = Σ_c G_c
    world_cᵀ and X⁻ᵀ = [[R, 0], [−(Rᵀ t)ᵀ, 1]]: X is a rigid transform (R, t).
    """
    G = grad_rows.mT.reshape(4, 4 * tips, grad_rows.shape[0])  # the gradient as columns
    M = torch.stack([(G * pose_columns[k]).sum(1) for k in range(4)], 1)  # (4, 4, B)
    R, t = X[:3, :3, 0], X[:3, 3, 0]
    turned = M[:, 0, None] * R[0]
    for k in (1, 2):
        turned = torch.addcmul(turned, M[:, k, None], R[k])
    moved = (R * t[:, None]).sum(0)  # Rᵀ t
    return torch.cat([torch.addcmul(turned, M[:, 3:], moved, value=-1), M[:, 3:]], 1).unsqueeze(2)


def _quaternion_base_gradient(wrench: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
    """dL/dbase, (B, 7), for a base pose made from rows (B, 7) (position t, then a quaternion q,
    (w, x, y, z), normalised as it is made), from the tips' total wrench (6, B) [f; n] about the
    world origin: f, then 2 s (0, m) ⊗ q with s = 1/|q|² (0 for a zero q, as in making it) and
    m = n − t × f, the moment about the base's origin. Turning the base by ω about its origin
    changes L by m·ω; dq turns it by ω = 2 vec(du ⊗ u*), u = q/|q| (du ⊥ u), so dL/du =
    2 (0, m) ⊗ u, already ⊥ u, and dL/dq = dL/du / |q|. Over many configurations this replaces
    Σ_c G_c world_cᵀ, four products of the whole gradient, and a second node of the autograd graph.
    """
    rows = base.mT  # (7, B)
    force, moment = wrench[:3], wrench[3:]
    about_base = moment - _cross(rows[:3], force)
    w, vector = rows[3:4], rows[4:]
    scalar = -(about_base * vector).sum(0, keepdim=True)
    turned = torch.cat([scalar, torch.addcmul(_cross(about_base, vector), about_base, w)])
    scale = 2 * _reciprocal_norm((rows[3:] * rows[3:]).sum(0))
    return torch.cat([force, turned * scale]).mT


def _reciprocal_norm(squared: torch.Tensor) -> torch.Tensor:
    """1/|q|², or 0 where |q|² < 1e-30 (|q| < 1e-15, MuJoCo's mjMINVAL): no branch on the
    values, and no infinity whose gradient would be NaN."""
    return (squared >= 1e-30) / squared.clamp_min(1e-30)
