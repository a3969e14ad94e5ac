"""Collision terms for losses, on top of a compiled module's ``collision_spheres`` and distances.

Spheres are (..., S, 4): centre then radius, metres, in the frame the obstacles are given in.
Distances are signed: negative when overlapping. Every function keeps the leading batch shape,
dtype and device, and has finite gradients everywhere.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def collision_penalty(distances: torch.Tensor, margin: float = 0.02) -> torch.Tensor:
    """A smooth penalty per distance, 0 beyond ``margin`` (metres) and growing as
    ½ (margin − d)² below it: add ``collision_penalty(d).sum(-1)`` to a loss to keep bodies at
    least ``margin`` apart. ``margin`` 0 penalises overlap only."""
    if margin < 0:
        raise ValueError(f"margin must be 0 or more metres, not {margin}")
    return 0.5 * F.relu(margin - distances).square()


def plane_distances(
    spheres: torch.Tensor, normal: torch.Tensor, offset: float | torch.Tensor = 0.0
) -> torch.Tensor:
    """Signed distances (..., S) from spheres to the half-space {x : n·x ≤ offset} behind the
    plane with unit-normalised ``normal`` (3,) or (..., 3) (a floor: normal (0, 0, 1), offset 0,
    heights above it)."""
    unit = normal / normal.norm(dim=-1, keepdim=True)
    return (spheres[..., :3] * unit.unsqueeze(-2)).sum(-1) - offset - spheres[..., 3]


def box_distances(
    spheres: torch.Tensor, X_frame_box: torch.Tensor, half_extents: torch.Tensor
) -> torch.Tensor:
    """Signed distances (..., S, K) from spheres to K boxes with poses ``X_frame_box``
    (..., K, 4, 4) in the spheres' frame and half side lengths ``half_extents`` (..., K, 3); inside
    a box, minus the depth of the centre less the radius."""
    R, t = X_frame_box[..., :3, :3], X_frame_box[..., :3, 3]
    # Each centre in each box's axes: Rᵀ (c − t), (..., S, K, 3).
    local = ((spheres[..., :, None, :3] - t.unsqueeze(-3)).unsqueeze(-2) @ R.unsqueeze(-3)).squeeze(
        -2
    )
    excess = local.abs() - half_extents.unsqueeze(-3)
    outside = (excess.clamp_min(0).square().sum(-1)).clamp_min(1e-30).sqrt()
    outside = torch.where(excess.amax(-1) > 0, outside, torch.zeros_like(outside))
    return outside + excess.amax(-1).clamp_max(0) - spheres[..., :, None, 3]
