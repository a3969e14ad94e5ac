"""Velocity-level kinematics over the frame program's columns, robot-independent: the motions'
twists and their rates, the tips' velocities and accelerations, Jacobians' time derivatives. Copied
into generated modules like runtime.py (as far as they use it); see its conventions."""

from __future__ import annotations

import torch

from symkin.backends.torch.runtime import _cross


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
    pair_located: torch.Tensor | None,
    pair_motion: torch.Tensor | None,
) -> torch.Tensor:
    """Per pair of a tip and a motion, the time derivative of its unit Jacobian column (6, P, B):
    [dSv/dt + dSω/dt × p + Sω × ṗ; dSω/dt] (see _motion_twists; pairs as _jacobian's)."""
    p_rate = velocity[:3]
    if pair_located is not None and pair_motion is not None:
        p, p_rate = p.index_select(1, pair_located), p_rate.index_select(1, pair_located)
        rate, unit = rate.index_select(1, pair_motion), unit.index_select(1, pair_motion)
    linear = rate[:3] + _cross(rate[3:], p) + _cross(unit[3:], p_rate)
    return torch.cat([linear, rate[3:]])


def _check_velocity(v: torch.Tensor, q: torch.Tensor, count: int, name: str = "v") -> None:
    """A joint velocity must be a tensor of shape (..., count) over q's batch shape, of q's dtype
    and device."""
    expected = q.shape[:-1] + (count,)
    if not isinstance(v, torch.Tensor) or v.shape != expected:
        shape = tuple(v.shape) if isinstance(v, torch.Tensor) else type(v).__name__
        raise ValueError(f"expected {name} of shape {tuple(expected)}, got {shape}")
    if v.dtype != q.dtype or v.device != q.device:
        raise ValueError(f"{name} is {v.dtype} on {v.device}, q {q.dtype} on {q.device}")
