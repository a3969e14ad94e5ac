"""The poses' vector-Jacobian product in closed form: the tips' wrenches summed up the tree into
each joint's torque, with no autograd graph recorded. Copied into generated modules like
runtime.py (as far as they use it); see its conventions."""

from __future__ import annotations

from collections.abc import Callable

import torch

from symkin.backends.torch.floating import _base_pose_gradient, _quaternion_base_gradient
from symkin.backends.torch.runtime import _cross, _pose_rows


def _tip_wrenches(grad_rows: torch.Tensor, pose_columns: torch.Tensor, tips: int) -> torch.Tensor:
    """Each tip's wrench (6, T, B), [force; moment] about the origin of the columns' frame, from
    dL/dpose (its rows, (B, 16·T)) and the tips' columns (4, 4·T, B): for a tip with gradient G,
    f = G_p and n = Σ_c R_c × G_Rc + p × f."""
    batch = pose_columns.shape[2]
    # One transposition first: every array below then has the batch innermost and contiguous.
    gradient = grad_rows.mT.contiguous().view(4, tips, 4, batch)[:3]
    columns = pose_columns[:3].view(3, tips, 4, batch)
    force = gradient[:, :, 3]
    moment = _cross(columns, gradient).sum(2)
    return torch.cat([force, moment])


def _q_gradient(
    wrench: torch.Tensor,
    axes: torch.Tensor,
    origins: torch.Tensor,
    q_map: torch.Tensor,
    subtree: torch.Tensor,
    motion_prismatic: torch.Tensor | None = None,
) -> torch.Tensor:
    """dL/dq, (n, B), from the tips' wrenches (6, T, B) (see _tip_wrenches) summed up the tree.

    A joint above the tips sums theirs, (f_j, n_j), and its rate gets axis · (n_j − o_j × f_j)
    (revolute) or axis · f_j (prismatic); q_map takes the rates to q.
    """
    # Each joint's: the sum of its subtree's tips', (6, M, B). A product over one tip is a scaling
    # (a matrix product of inner size 1 costs several times more).
    wrench = subtree * wrench if wrench.shape[1] == 1 else torch.matmul(subtree, wrench)
    drive = wrench[3:] - _cross(origins[:3], wrench[:3])
    if motion_prismatic is not None:
        drive = torch.where(motion_prismatic, wrench[:3], drive)
    return torch.matmul(q_map.mT, (axes[:3] * drive).sum(0))


class _PoseWithClosedFormBackward(torch.autograd.Function):
    """The poses' rows, (B, 16·T), with the vector-Jacobian product in closed form as backward.

    ``apply(frames, count, tips, pose_of_base, q, base, *tables)``: ``frames(q, X,
    *tables[:count])`` gives the tips' columns and every joint's axis and origin relative to the
    base (X None: a fixed base), or in the world for X (4, 4, 1, B), the base's world pose over the
    batch: ``base`` itself where ``pose_of_base`` is None, else ``pose_of_base(base)`` of rows
    (B, 7), position then quaternion (made here: one node of the autograd graph, not two). The rest
    of ``tables`` are the gradient's (q_map, subtree, and motion_prismatic when a joint slides). The
    backward accumulates the tips' wrenches up the tree in whichever frame the columns are (see
    _q_gradient) and gives the base's gradient, with no autograd graph recorded: for rows (B, 7)
    from the tips' total wrench (see _quaternion_base_gradient), for X all of dL/dX (see
    _base_pose_gradient).
    """

    @staticmethod
    def forward(
        ctx,
        frames: Callable,
        count: int,
        tips: int,
        pose_of_base: Callable | None,
        q: torch.Tensor,
        base: torch.Tensor | None,
        *tables,
    ):
        X = base if pose_of_base is None else pose_of_base(base)
        pose_columns, axes, origins = frames(q, X, *tables[:count])
        ctx.save_for_backward(q, base, pose_columns, axes, origins, *tables)
        ctx.frames, ctx.count, ctx.tips, ctx.pose_of_base = frames, count, tips, pose_of_base
        # A tensor of its own, not a view, so that the caller's views of it may be edited in place.
        return _pose_rows(pose_columns, tips, fresh=True)

    @staticmethod
    def backward(ctx, grad_rows: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        q, base, pose_columns, axes, origins, *tables = ctx.saved_tensors
        frame_tables, gradient_tables = tables[: ctx.count], tables[ctx.count :]
        if torch.is_grad_enabled():
            # Double backward: recompute with autograd so the gradient is itself differentiable.
            X = base if ctx.pose_of_base is None else ctx.pose_of_base(base)
            pose_columns, axes, origins = ctx.frames(q, X, *frame_tables)
        wrench = _tip_wrenches(grad_rows, pose_columns, ctx.tips)
        grad_base = None
        if base is not None and ctx.needs_input_grad[5]:
            if ctx.pose_of_base is None:
                grad_base = _base_pose_gradient(grad_rows, pose_columns, base, ctx.tips)
            else:
                grad_base = _quaternion_base_gradient(wrench.sum(1), base)
        gradient = _q_gradient(wrench, axes, origins, *gradient_tables)
        return (None,) * 4 + (gradient.mT.reshape(q.shape), grad_base, *(None for _ in tables))
