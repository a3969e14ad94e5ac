"""Collision spheres and the distances between them, robot-independent: what a torch module
compiled with ``--collision`` copies besides runtime.py (whose layout it shares: sphere centres
are points, (4, S, B) columns over the batch)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from symkin.backends.torch.gradients import _q_gradient
from symkin.backends.torch.runtime import _cross, _functorch_transforms_active, _tracing

# Sphere pairs of the checked pairs of links (padded) × configurations measured per step when
# searching for each pair of links' nearest sphere pair in eager mode.
_SPHERE_PAIR_STEP = 1 << 17
# Configurations up to which collision_spheres take their closed-form backward: it saves autograd's
# walk back through the frame program, but its force on every sphere costs more per configuration
# (the Panda's 82 spheres, forward + backward: 1.20 → 0.67 ms at batch 1, 2.0 → 1.6 ms at 1,000,
# 6.5 → 9.5 ms at 4,096).
_FEW_SPHERE_CONFIGURATIONS = 1024


def _spheres(centres: torch.Tensor, radii: torch.Tensor, batch_shape: torch.Size) -> torch.Tensor:
    """Sphere centres (4, S, B) and radii (S, 1) as (..., S, 4): x, y, z, radius."""
    rows = torch.cat([centres[:3], radii.expand(centres.shape[1:]).unsqueeze(0)])
    return rows.permute(2, 1, 0).reshape(batch_shape + (centres.shape[1], 4))


def _length(v: torch.Tensor, dim: int) -> torch.Tensor:
    """‖v‖ along ``dim``, with a finite gradient where v is 0 (there: 0)."""
    return (v * v).sum(dim).clamp_min(1e-30).sqrt()


def _pair_distances(
    centres: torch.Tensor,
    first: torch.Tensor,
    second: torch.Tensor,
    reach: torch.Tensor,
    starts: torch.Tensor,
    order: torch.Tensor,
    groups: tuple[tuple[int, int], ...],
) -> torch.Tensor:
    """The least signed distance between the spheres of each pair of links, (P, B), from sphere
    centres (4, S, B) and the rows of sphere pairs: their spheres (Q,), radius sums (Q, 1), each
    row's start (P,), each pair of links' row (P,) and the rows' groups (count, width) (see the
    compiler's CollisionTables). The gradient is the nearest sphere pair's, as the least's."""
    on_first, on_second, nearest = _nearest_centres(
        centres, first, second, reach, starts, order, groups
    )
    return _length(on_first - on_second, 0) - reach[:, 0][nearest]


def _nearest_centres(
    centres: torch.Tensor,
    first: torch.Tensor,
    second: torch.Tensor,
    reach: torch.Tensor,
    starts: torch.Tensor,
    order: torch.Tensor,
    groups: tuple[tuple[int, int], ...],
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The centres (3, P, B) of each pair of links' nearest pair of spheres, on its first link and
    on its second, and which pair that is, (P, B), an index into the rows (see _pair_distances)."""
    points = centres[:3]
    nearest = _nearest_sphere_pairs(points.detach(), first, second, reach, groups)
    nearest = (nearest + starts.unsqueeze(1)).index_select(0, order)
    return (
        _sphere_centres(points, first[nearest]),
        _sphere_centres(points, second[nearest]),
        nearest,
    )


class _PointsWithClosedFormBackward(torch.autograd.Function):
    """Points (4, K, B) with the vector-Jacobian product to q in closed form as backward.

    ``apply(frames, count, q, *tables)``: ``frames(q, *tables[:count])`` gives the points and
    every joint's axis and origin; the rest of ``tables`` are the gradient's (q_map, which motions
    move each point, and motion_prismatic when a joint slides). A point's gradient is a force at
    it, summed up the tree as the poses' backward sums the tips' wrenches (see _q_gradient), with
    no autograd graph recorded.
    """

    @staticmethod
    def forward(ctx, frames: Callable, count: int, q: torch.Tensor, *tables: torch.Tensor):
        points, axes, origins = frames(q, *tables[:count])
        ctx.save_for_backward(q, points, axes, origins, *tables)
        ctx.frames, ctx.count = frames, count
        return points

    @staticmethod
    def backward(ctx, grad_points: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        q, points, axes, origins, *tables = ctx.saved_tensors
        if torch.is_grad_enabled():
            # Double backward: recompute with autograd so the gradient is itself differentiable.
            points, axes, origins = ctx.frames(q, *tables[: ctx.count])
        force = grad_points[:3].contiguous()  # often a transposed view of the caller's gradient
        wrench = torch.cat([force, _cross(points[:3], force)])  # about the origin
        gradient = _q_gradient(wrench, axes, origins, *tables[ctx.count :])
        return (None,) * 2 + (gradient.mT.reshape(q.shape), *(None for _ in tables))


class _PairDistancesWithClosedFormBackward(torch.autograd.Function):
    """_pair_distances of the sphere centres ``frames`` gives, with the vector-Jacobian product to
    q in closed form as backward.

    ``apply(frames, count, groups, q, *tables)``: ``frames(q, *tables[:count])`` gives the sphere
    centres (4, S, B) and every joint's axis and origin; the rest of ``tables`` are the rows'
    (first, second, reach, starts, order; see _pair_distances), then the gradient's (q_map, which
    motions move each pair's first and second link, and motion_prismatic when a joint slides). A
    distance's gradient pushes its nearest pair's centres apart along their gap: a force on each
    of the two links, summed up the tree as the poses' backward sums the tips' wrenches (see
    _q_gradient), with no autograd graph recorded.
    """

    @staticmethod
    def forward(
        ctx,
        frames: Callable,
        count: int,
        groups: tuple[tuple[int, int], ...],
        q: torch.Tensor,
        *tables: torch.Tensor,
    ):
        centres, axes, origins = frames(q, *tables[:count])
        first, second, reach, starts, order = tables[count : count + 5]
        on_first, on_second, nearest = _nearest_centres(
            centres, first, second, reach, starts, order, groups
        )
        ctx.save_for_backward(q, axes, origins, on_first, on_second, nearest, *tables)
        ctx.frames, ctx.count = frames, count
        return _length(on_first - on_second, 0) - reach[:, 0][nearest]

    @staticmethod
    def backward(ctx, grad_distances: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        q, axes, origins, on_first, on_second, nearest, *tables = ctx.saved_tensors
        if torch.is_grad_enabled():
            # Double backward: recompute with autograd so the gradient is itself differentiable.
            centres, axes, origins = ctx.frames(q, *tables[: ctx.count])
            first, second = tables[ctx.count : ctx.count + 2]
            on_first = _sphere_centres(centres[:3], first[nearest])
            on_second = _sphere_centres(centres[:3], second[nearest])
        gap = on_first - on_second
        push = gap * (grad_distances / _length(gap, 0))  # on the first link; minus on the second
        moments = torch.cat([_cross(on_first, push), _cross(push, on_second)], 1)
        wrench = torch.cat([torch.cat([push, -push], 1), moments])  # (6, 2P, B), about the origin
        gradient = _q_gradient(wrench, axes, origins, *tables[ctx.count + 5 :])
        return (None,) * 3 + (gradient.mT.reshape(q.shape), *(None for _ in tables))


def _nearest_sphere_pairs(
    points: torch.Tensor,
    first: torch.Tensor,
    second: torch.Tensor,
    reach: torch.Tensor,
    groups: tuple[tuple[int, int], ...],
) -> torch.Tensor:
    """Per row of sphere pairs and configuration, the place in its row of its nearest pair, (P, B).

    Every sphere pair is measured, without a graph for autograd, a few configurations at a time
    outside tracing (intermediates of all pairs over a large batch are too big for the caches),
    into arrays made once per call: made afresh at every step, the allocator maps them and the
    kernel faults them in again and again (measured 2.6-3.3× slower at batch 1,000 and 4,096).
    """
    # Under torch.func transforms, whose batching rules take no out=, and under tracing, where the
    # compiler plans memory itself: every array made by its operation, over the whole batch.
    plain = _tracing() or _functorch_transforms_active()
    step = max(16, _SPHERE_PAIR_STEP // len(first))
    picks, made_for = [], 0
    work: Sequence[torch.Tensor | None] = [None] * 3
    sizes_of_groups = [count * width for count, width in groups]
    for some in [points] if plain else points.split(step, -1):
        batch = some.shape[-1]
        if not plain and made_for != batch:  # the first step's arrays, and a shorter last one's
            sizes = [(3, len(first), batch)] * 2 + [(len(first), batch)]
            work, made_for = [points.new_empty(size) for size in sizes], batch
        some = some.contiguous()
        first_centres = torch.index_select(some, 1, first, out=work[0])
        second_centres = torch.index_select(some, 1, second, out=work[1])
        gaps = first_centres.sub_(second_centres)
        # gaps·gaps in place: square_ has no batching rule under torch.func (a slow loop), mul_ has.
        distances = torch.sum(gaps.mul_(gaps), 0, out=work[2])
        distances.sqrt_().sub_(reach)
        rows = distances.split(sizes_of_groups)
        least = [
            row.view(count, width, batch).min(1).indices
            for row, (count, width) in zip(rows, groups, strict=True)
        ]
        picks.append(torch.cat(least))
    return torch.cat(picks, -1)


def _sphere_centres(points: torch.Tensor, spheres: torch.Tensor) -> torch.Tensor:
    """The centres (3, P, B) of spheres (P, B), one per configuration, from points (3, S, B)."""
    return points.gather(1, spheres.expand((3,) + spheres.shape))


def _sphere_distances(spheres: torch.Tensor, obstacles: torch.Tensor) -> torch.Tensor:
    """Signed distances (..., S, K) between spheres (..., S, 4) and obstacles (..., K, 4)."""
    if obstacles.shape[-1:] != (4,) or obstacles.dim() < 2:
        shape = tuple(obstacles.shape)
        raise ValueError(f"expected obstacles of shape (..., K, 4): centre and radius, got {shape}")
    gap = spheres[..., :, None, :3] - obstacles[..., None, :, :3]
    return _length(gap, -1) - spheres[..., :, None, 3] - obstacles[..., None, :, 3]
