"""Pose errors that are safe to train on, and rotation conversions for network inputs and outputs.

A small runtime beside the generated modules (which never need it). Poses are
(..., 4, 4) homogeneous transforms, rotations (..., 3, 3); every function keeps
the leading batch shape, dtype and device, and has finite gradients everywhere,
including at zero error and at a rotation error of π.

Conventions:
    quaternion: (..., 4) unit, **w first** (w, x, y, z), with w ≥ 0.
    6-D rotation: (..., 6) the first two **columns** of R, stacked (Zhou et al., 2019).
"""

from __future__ import annotations

import torch

from symkin.backends.torch.floating import _quaternion_matrix


def _check_shape(tensor: torch.Tensor, tail: tuple[int, ...], name: str) -> None:
    if (
        not isinstance(tensor, torch.Tensor)
        or tuple(tensor.shape[-len(tail) :]) != tail
        or not tensor.is_floating_point()
    ):
        shape = tuple(tensor.shape) if isinstance(tensor, torch.Tensor) else type(tensor).__name__
        raise ValueError(
            f"{name} must be a floating-point tensor of shape (..., {', '.join(map(str, tail))}), "
            f"got {shape}"
        )


def _compared(a: torch.Tensor, b: torch.Tensor, names: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Two checked tensors in their promoted dtype (a float32 network output against float64
    targets compares in float64, as ``a - b`` would); a ValueError when their devices differ."""
    if a.device != b.device:
        raise ValueError(f"{names} are on different devices: {a.device} and {b.device}")
    dtype = torch.promote_types(a.dtype, b.dtype)
    return a.to(dtype), b.to(dtype)


def position_error(X: torch.Tensor, X_target: torch.Tensor) -> torch.Tensor:
    """Distance between the two poses' origins, (...,) metres; its gradient at zero is zero, not
    NaN. Of two dtypes, the wider is used."""
    _check_shape(X, (4, 4), "X")
    _check_shape(X_target, (4, 4), "X_target")
    X, X_target = _compared(X, X_target, "X and X_target")
    return torch.linalg.vector_norm(X[..., :3, 3] - X_target[..., :3, 3], dim=-1)


def rotation_error(R: torch.Tensor, R_target: torch.Tensor) -> torch.Tensor:
    """Geodesic angle between two rotations, (...,) radians in [0, π].

    Computed as ``atan2(|sin θ|, cos θ)`` from the relative rotation's
    skew-symmetric part and trace, so that neither zero error nor θ near π
    gives an infinite or NaN gradient (``acos`` of the trace does at both).
    Accepts rotations (..., 3, 3) or poses (..., 4, 4); of two dtypes, the wider is used.
    """
    R, R_target = _rotation_part(R, "R"), _rotation_part(R_target, "R_target")
    R, R_target = _compared(R, R_target, "R and R_target")
    relative = R_target.transpose(-1, -2) @ R
    trace = relative.diagonal(dim1=-2, dim2=-1).sum(-1)
    sine = torch.linalg.vector_norm(_vee(relative - relative.transpose(-1, -2)), dim=-1) / 2
    return torch.atan2(sine, (trace - 1) / 2)


def pose_error(
    X: torch.Tensor,
    X_target: torch.Tensor,
    position_weight: float = 1.0,
    rotation_weight: float = 1.0,
) -> torch.Tensor:
    """``position_weight · position_error + rotation_weight · rotation_error``, (...,).

    With the default weights a metre counts as much as a radian; for a
    hand-sized workspace, ``rotation_weight=0.1`` (10 cm per radian) is a common choice.
    """
    return position_weight * position_error(X, X_target) + rotation_weight * rotation_error(
        X, X_target
    )


def matrix_to_quaternion(R: torch.Tensor) -> torch.Tensor:
    """Unit quaternion (w, x, y, z), w ≥ 0, of rotations (..., 3, 3) or poses (..., 4, 4).

    Shepperd's method without branches: the four candidate formulas are all
    computed and the best-conditioned one is selected, so gradients stay finite.
    """
    R = _rotation_part(R, "R")
    m = R.reshape(*R.shape[:-2], 9).unbind(-1)
    m00, m01, m02, m10, m11, m12, m20, m21, m22 = m
    squares = torch.stack(
        [1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22], dim=-1
    )
    # sqrt only where positive: a zero under the root would give an infinite derivative.
    roots = torch.where(
        squares > 0, squares.clamp_min(torch.finfo(R.dtype).tiny).sqrt(), torch.zeros_like(squares)
    )
    candidates = torch.stack(
        [
            torch.stack([roots[..., 0] ** 2, m21 - m12, m02 - m20, m10 - m01], dim=-1),
            torch.stack([m21 - m12, roots[..., 1] ** 2, m10 + m01, m02 + m20], dim=-1),
            torch.stack([m02 - m20, m10 + m01, roots[..., 2] ** 2, m12 + m21], dim=-1),
            torch.stack([m10 - m01, m20 + m02, m21 + m12, roots[..., 3] ** 2], dim=-1),
        ],
        dim=-2,
    ) / (2 * roots.clamp_min(0.1)).unsqueeze(-1)
    best = _one_hot(roots.argmax(dim=-1), 4, R.dtype)
    quaternion = (candidates * best.unsqueeze(-1)).sum(-2)
    quaternion = torch.where(quaternion[..., :1] < 0, -quaternion, quaternion)
    return quaternion / torch.linalg.vector_norm(quaternion, dim=-1, keepdim=True)


def quaternion_to_matrix(quaternion: torch.Tensor) -> torch.Tensor:
    """Rotation matrices (..., 3, 3) of quaternions (w, x, y, z), normalised first; a quaternion
    of zero norm is the identity (as in MuJoCo, and as generated modules read a base pose)."""
    _check_shape(quaternion, (4,), "quaternion")
    return _quaternion_matrix(quaternion)


def matrix_to_rotation_6d(R: torch.Tensor) -> torch.Tensor:
    """The continuous 6-D representation: the first two columns of R, (..., 6)."""
    R = _rotation_part(R, "R")
    return torch.cat([R[..., :, 0], R[..., :, 1]], dim=-1)


def rotation_6d_to_matrix(d6: torch.Tensor) -> torch.Tensor:
    """Rotations (..., 3, 3) from any (..., 6) vectors, by Gram–Schmidt on the two 3-vectors
    (columns of R)."""
    _check_shape(d6, (6,), "d6")
    a1, a2 = d6[..., :3], d6[..., 3:]
    b1 = torch.nn.functional.normalize(a1, dim=-1)
    b2 = torch.nn.functional.normalize(a2 - (b1 * a2).sum(-1, keepdim=True) * b1, dim=-1)
    b3 = torch.linalg.cross(b1, b2, dim=-1)
    return torch.stack([b1, b2, b3], dim=-1)


def rotation_vector(R: torch.Tensor) -> torch.Tensor:
    """Axis times angle (..., 3) of rotations (..., 3, 3): the logarithm map, also near π."""
    R = _rotation_part(R, "R")
    skew = _vee(R - R.transpose(-1, -2))
    sine = torch.linalg.vector_norm(skew, dim=-1) / 2
    cosine = (R.diagonal(dim1=-2, dim2=-1).sum(-1) - 1) / 2
    angle = torch.atan2(sine, cosine)
    small = sine < 1e-6
    # angle / sin θ → 1 as θ → 0; skew / 2 is sin θ · axis.
    from_skew = (
        skew
        / 2
        * torch.where(small, torch.ones_like(angle), angle / sine.clamp_min(1e-12)).unsqueeze(-1)
    )
    # Near π the skew part vanishes: the axis is the largest column of (R + I), with the sign of the
    # skew part.
    symmetric = (R + R.transpose(-1, -2)) / 2 + torch.eye(3, dtype=R.dtype, device=R.device)
    column = _one_hot(symmetric.diagonal(dim1=-2, dim2=-1).argmax(-1), 3, R.dtype)
    axis = torch.nn.functional.normalize((symmetric @ column.unsqueeze(-1)).squeeze(-1), dim=-1)
    axis = torch.where((axis * skew).sum(-1, keepdim=True) < 0, -axis, axis)
    return torch.where((small & (cosine < 0)).unsqueeze(-1), axis * angle.unsqueeze(-1), from_skew)


def _rotation_part(R: torch.Tensor, name: str) -> torch.Tensor:
    if isinstance(R, torch.Tensor) and R.shape[-2:] == (4, 4):
        return R[..., :3, :3]
    _check_shape(R, (3, 3), name)
    return R


def _one_hot(index: torch.Tensor, count: int, dtype: torch.dtype) -> torch.Tensor:
    """(..., count) rows with a 1 at ``index``: torch's one_hot reads the indices' range back to the
    host (a synchronisation on a GPU), this does not."""
    return (index.unsqueeze(-1) == torch.arange(count, device=index.device)).to(dtype)


def _vee(skew: torch.Tensor) -> torch.Tensor:
    """(..., 3) from the (..., 3, 3) matrix A - Aᵀ: its axial vector times 2."""
    return torch.stack([skew[..., 2, 1], skew[..., 0, 2], skew[..., 1, 0]], dim=-1)
