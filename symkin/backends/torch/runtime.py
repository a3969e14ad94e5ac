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

import functools
from collections.abc import Callable, Iterator, Sequence

import torch

# Tensors of this many elements or more take the forms that are fastest over many
# configurations. Under torch.compile and torch.export those forms are always taken: the
# compilers fuse them, and a choice by size would specialise the batch dimension.
_LARGE = 8192
# An arm's Jacobians and poses over many configurations are computed a chunk at a time (see
# _chunk_length).
_CHUNK_CONFIGURATIONS = 2048
_CHUNK_BYTES = 1 << 20
# Sphere pairs of the checked pairs of links (padded) × configurations measured per step when
# searching for each pair of links' nearest sphere pair in eager mode.
_SPHERE_PAIR_STEP = 1 << 17
# Configurations up to which collision_spheres take their closed-form backward: it saves autograd's
# walk back through the frame program, but its force on every sphere costs more per configuration
# (the Panda's 82 spheres, forward + backward: 1.20 → 0.67 ms at batch 1, 2.0 → 1.6 ms at 1,000,
# 6.5 → 9.5 ms at 4,096).
_FEW_SPHERE_CONFIGURATIONS = 1024
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


def _autocast_off(method: Callable) -> Callable:
    """The method with autocast off while it runs: kinematics keep q's dtype under torch.autocast
    (in bfloat16, a matrix product of the frame program errs by millimetres), and never meet
    operands autocast made of another dtype. Outside autocast, one cheap test."""

    @functools.wraps(method)
    def in_q_dtype(self, q, *rest, **named):
        if isinstance(q, torch.Tensor) and torch.is_autocast_enabled(q.device.type):
            with torch.autocast(q.device.type, enabled=False):
                return method(self, q, *rest, **named)
        return method(self, q, *rest, **named)

    return in_q_dtype


def _check_joints(q: torch.Tensor, count: int) -> None:
    if not isinstance(q, torch.Tensor):
        raise ValueError(f"expected a tensor q of shape (..., {count}), got a {type(q).__name__}")
    if not q.is_floating_point() or q.shape[-1:] != (count,):
        raise ValueError(
            f"expected a floating-point tensor q of shape (..., {count}), "
            f"got a {q.dtype} tensor of shape {tuple(q.shape)}"
        )


def _check_out(out: torch.Tensor | None, shape: torch.Size, *inputs: torch.Tensor) -> None:
    """An ``out`` tensor must be a contiguous tensor of ``shape`` and of the inputs' dtype and
    device, outside autograd (torch writes into out= tensors without recording it)."""
    if out is None:
        return
    q = inputs[0]
    if not isinstance(out, torch.Tensor) or out.shape != shape or not out.is_contiguous():
        described = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(
            f"expected out as a contiguous tensor of shape {tuple(shape)}, got {described}"
        )
    if out.dtype != q.dtype or out.device != q.device:
        raise ValueError(f"out is {out.dtype} on {out.device}, q {q.dtype} on {q.device}")
    if torch.is_grad_enabled() and any(x.requires_grad for x in inputs):
        raise ValueError("out= does not record gradients: call it under torch.no_grad()")


def _joint_rows(q: torch.Tensor, count: int) -> torch.Tensor:
    """The joint values as rows over the flattened batch, (n, B)."""
    if count:
        return q.reshape(-1, count).mT
    # No joints: the batch size cannot come from q's width.
    return q.new_zeros(0, q.shape[:-1].numel())


def _unit_quaternions(joints: torch.Tensor, starts: tuple[int, ...]) -> torch.Tensor:
    """The joint rows (n, B) with each ball joint's quaternion (the four rows from each of
    ``starts``, w first) divided by its norm, as MuJoCo's mju_normalize4 does: one of norm below
    1e-15 (mjMINVAL) becomes the identity, with no branch on the data."""
    pieces, done = [], 0
    for start in starts:
        quaternion = joints[start : start + 4]
        squared = (quaternion * quaternion).sum(0, keepdim=True)
        small = squared < 1e-30
        unit = quaternion * torch.where(small, 0.0, torch.rsqrt(squared.clamp_min(1e-30)))
        pieces += [joints[done:start], unit[:1] + small.to(unit.dtype), unit[1:]]
        done = start + 4
    return torch.cat([*pieces, joints[done:]])


def _frames_along_tree(
    q: torch.Tensor,
    X: torch.Tensor | None,
    base: torch.Tensor,
    joint_map: torch.Tensor,
    joint_offsets: torch.Tensor,
    step_constants: torch.Tensor,
    steps: torch.Tensor,
    located: torch.Tensor,
    located_nodes: torch.Tensor,
    parents: torch.Tensor,
    *,
    levels: tuple[tuple[int, int | None], ...],
    count: int,
    whole_level: int | None = None,
    motions_in_node_order: bool = False,
    motions: bool = True,
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """One group of ``count`` frames, and where ``motions`` every motion's axis and origin (4,
    M, B; else None), computed along the tree: few tensor operations, each of 4×4 products. With
    the motions the group is columns, as the frame program gives them (the tips' (4, 4·T, B), the
    rigid bodies' (4, 4·K, B), points' (4, 4·P, B): the points are columns 3::4); alone, the
    frames as placed, (count, B, 4, 4), which its callers read directly. ``located`` and
    ``located_nodes`` are the group's placements and nodes, then the motions'. ``whole_level``,
    where the group's frames lie on the nodes of one level in order (its index, the base's level
    0), lets a call place them there without gathering every node, and with the motions too
    where ``motions_in_node_order`` (see symkin.compiler.tree_form.TreeForm.whole_levels).

    Edge e's joint value is θ = joint_map[e]·q + joint_offsets[e] and its transform from its
    parent node step_constants[e] + [sin θ, cos θ, θ] · steps[e] (4×4 matrices as rows of 16);
    each level's nodes are its parents' times theirs (``levels``: see
    symkin.compiler.tree_form.TreeForm); each frame, axis and origin is
    ``located`` on its node. The base node is ``base`` (the identity, (1, 4, 4)), or the base's
    world pose ``X`` (4, 4, 1, B) (see _with_base). A level's frames are (k·B, 4, 4),
    node by node: 3-D products (bmm) cost half of broadcasting ones over a few configurations.
    """
    theta = torch.addmm(joint_offsets, joint_map, _joint_rows(q, joint_map.shape[1]))  # (E, B)
    batch = theta.shape[1]
    basis = torch.stack([theta.sin(), theta.cos(), theta], -1)  # (E, B, 3)
    steps = torch.baddbmm(step_constants, basis, steps).view(-1, 4, 4)  # (E·B, 4, 4)
    levels_done = _levels_along_tree(X, base, steps, parents, levels, batch)
    if not motions:
        if whole_level is not None:
            on_level = levels_done[whole_level].view(count, 4 * batch, 4)
            return torch.bmm(on_level, located[:count]).view(count, batch, 4, 4), None, None
        located_nodes, located = located_nodes[:count], located[:count]
    if motions and whole_level is not None and motions_in_node_order:
        # The group's level, then every node below the base in order: nothing to gather.
        on_nodes = torch.cat([levels_done[whole_level], *levels_done[1:]])
    else:
        nodes = torch.cat(levels_done).view(1 + theta.shape[0], batch, 4, 4)
        on_nodes = nodes.index_select(0, located_nodes)
    # Each node's frames over the batch as rows (B·4, 4), times its placement: one 3-D product.
    frames_placed = located.shape[0]  # count [+ M]; named, as the batch may be empty
    on_nodes = on_nodes.view(frames_placed, 4 * batch, 4)
    placed = torch.bmm(on_nodes, located).view(frames_placed, batch, 4, 4)
    if not motions:
        return placed, None, None
    columns = placed[:count].permute(2, 0, 3, 1).reshape(4, 4 * count, batch)
    axes, origins = placed[count:, :, :, :2].permute(3, 2, 0, 1)
    return columns, axes, origins


def _levels_along_tree(
    X: torch.Tensor | None,
    base: torch.Tensor,
    steps: torch.Tensor,
    parents: torch.Tensor,
    levels: tuple[tuple[int, int | None], ...],
    batch: int,
) -> list[torch.Tensor]:
    """Each level's nodes' frames, (k·B, 4, 4) node by node, the base's first, from the edges'
    transforms ``steps`` (E·B, 4, 4) (see _frames_along_tree)."""
    levels_done = [base.expand(batch, 4, 4) if X is None else X.squeeze(2).permute(2, 0, 1)]
    start, width = 0, 1  # the level above's: where its edges start, how many nodes it has
    # split_with_sizes: Tensor.split's Python wrapper costs a few microseconds a call.
    for (count, first), step in zip(
        levels, steps.split_with_sizes([n * batch for n, _ in levels]), strict=True
    ):
        if X is None and start == 0:
            levels_done.append(step)  # hung from the base, the identity
        else:
            above = levels_done[-1]
            if first is None:
                above = above.unflatten(0, (width, batch))
                above = above.index_select(0, parents[start : start + count]).flatten(0, 1)
            elif first == 1 and count > 1:
                above = above.expand(count, batch, 4, 4).flatten(0, 1)
            elif first is not None and first * batch < above.shape[0]:
                above = above[: first * batch]
            levels_done.append(torch.bmm(above, step))
        start, width = start + count, count
    return levels_done


def _rows_of_frames(frames: torch.Tensor) -> torch.Tensor:
    """Frames (T, B, 4, 4) as _pose_rows gives them, (B, 16·T): rows, tips, columns."""
    return frames.permute(1, 2, 0, 3).reshape(frames.shape[1], 16 * frames.shape[0])


def _chunk_length(q: torch.Tensor, X: torch.Tensor | None, width: int) -> int | None:
    """How many configurations an output of ``width`` entries per configuration (Jacobians, pose
    rows) is computed for at a time, each chunk written into its part of the one output: 1 MiB of
    output a chunk where that is at least 2,048 configurations (an arm's, a hand's poses; not a
    tree's Jacobians, which are mostly output), or None: all at once. Outside tracing and
    torch.func transforms, and where autograd records nothing (written chunks would cut its graph).

    A chunk's intermediates then stay in the caches and are reused from the heap, where the whole
    batch's are fetched from memory and, past glibc's thresholds, faulted in afresh on every
    call: the Panda's Jacobian at batch 100,000 measured 53.6 ms at once and 17.7 ms in chunks
    of 8,192, the UR5's 46.1 and 15.0 ms; the Allegro hand's poses at 32,768 18.9 and 8.7 ms (at
    8,192, two chunks, 2.1 and 2.3 ms).
    """
    chunk = _CHUNK_BYTES // (width * q.element_size())
    # Tracing is asked first: comparing the batch's size with anything would specialise it.
    if chunk < _CHUNK_CONFIGURATIONS or _tracing() or _functorch_transforms_active():
        return None
    recording = torch.is_grad_enabled() and (q.requires_grad or (X is not None and X.requires_grad))
    return None if recording or q.shape[:-1].numel() <= chunk else chunk


def _chunks(
    q: torch.Tensor, X: torch.Tensor | None, chunk: int
) -> Iterator[tuple[slice, torch.Tensor, torch.Tensor | None]]:
    """q's configurations (..., n) and the base's pose X (4, 4, 1, B) ``chunk`` at a time: where
    each chunk lies in the flattened batch, its q (chunk, n) and its X."""
    q = q.reshape(-1, q.shape[-1])
    for start in range(0, q.shape[0], chunk):
        part = slice(start, start + chunk)
        yield part, q[part], None if X is None else X[..., part].contiguous()


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
    rows = pose_columns.reshape(16 * tips, pose_columns.shape[2]).mT
    return rows.clone(memory_format=torch.contiguous_format) if fresh else rows.contiguous()


def _poses(rows: torch.Tensor, batch_shape: torch.Size, tips: int) -> torch.Tensor:
    """The poses, (..., 4, 4) for one tip, (..., T, 4, 4) for T, from their rows (B, 16·T)."""
    if tips == 1:
        return rows.reshape(batch_shape + (4, 4))
    by_tip = rows.reshape(rows.shape[0], 4, tips, 4).transpose(1, 2)
    return by_tip.reshape(batch_shape + (tips, 4, 4))


def _jacobian(
    points: torch.Tensor,
    axes: torch.Tensor,
    origins: torch.Tensor,
    pair_located: torch.Tensor | None,
    pair_motion: torch.Tensor | None,
    pair_scale: torch.Tensor,
    pair_prismatic: torch.Tensor | None,
    pair_slot: torch.Tensor | None,
    source: torch.Tensor | None,
    rows: int,
    slots: int,
    extra: torch.Tensor | None = None,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """Jacobians of points, (B, K·rows·n): a column per pair of a point and a joint above it.

    ``points`` are the points' positions (3, K, B); a revolute joint's column is
    scale·[axis × (point − origin); axis], a prismatic joint's scale·[axis; 0], the first
    ``rows`` of it (see _gathered for the rest, ``extra`` and ``out``). Pairs are gathered by
    ``pair_located`` and ``pair_motion``, or None: one point and every motion in order.
    """
    # The columns are passed on unnamed, so that _gathered frees them once it has scaled them
    # (see _gathered).
    return _gathered(
        _unit_columns(points, axes, origins, pair_located, pair_motion, pair_prismatic, rows),
        pair_scale,
        pair_slot,
        source,
        rows,
        slots,
        extra,
        out,
    )


def _unit_columns(
    points: torch.Tensor,
    axes: torch.Tensor,
    origins: torch.Tensor,
    pair_located: torch.Tensor | None,
    pair_motion: torch.Tensor | None,
    pair_prismatic: torch.Tensor | None,
    rows: int,
) -> torch.Tensor:
    """The pairs' unit columns (rows, P, B) (see _jacobian)."""
    axis, origin = axes[:3], origins[:3]
    if pair_located is not None and pair_motion is not None:
        points = points.index_select(1, pair_located)
        axis, origin = axis.index_select(1, pair_motion), origin.index_select(1, pair_motion)
    lever = points - origin
    linear = _cross(axis, lever)
    if pair_prismatic is not None:
        linear = torch.where(pair_prismatic, axis, linear)
        axis = axis.masked_fill(pair_prismatic, 0)
    return torch.cat([linear, axis]) if rows == 6 else linear


def _gathered(
    columns: torch.Tensor,
    pair_scale: torch.Tensor,
    pair_slot: torch.Tensor | None,
    source: torch.Tensor | None,
    rows: int,
    slots: int,
    extra: torch.Tensor | None = None,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """Pairs' unit columns (rows, P, B), scaled, as each configuration's row of Jacobians
    (B, K·rows·n). Pairs of a mimic joint and its source share a slot (``pair_slot``) and are
    added up. The (mostly zero) row is gathered from the slots' columns by ``source`` (None: the
    slots already are the output, in order), and from ``extra`` entries (E, B) after them; into
    ``out`` (contiguous, B·K·rows·n entries) when given.

    Each step's result replaces its input, which is freed before the next is made: a call that
    holds them all peaks at twice the memory, and glibc hands a heap that shrinks by more than
    twice its largest recent block back to the kernel, so that the next call faults every page
    in again (Talos' Jacobians at batch 1,000, in a loop: 5,000–6,200 page faults and 18.6–19.2
    ms a call while every step was held, 400–800 and 6.0 ms since).
    """
    batch = columns.shape[2]
    columns = columns * pair_scale
    if pair_slot is not None:
        columns = columns.new_zeros(rows, slots, batch).index_add(1, pair_slot, columns)
    width = columns.shape[0] * columns.shape[1] if source is None else source.shape[0]
    target = None if out is None else out.view(batch, width)
    if source is None:
        slot_rows = columns.flatten(0, 1).mT
        return slot_rows.contiguous() if target is None else target.copy_(slot_rows)
    entries = torch.cat(
        [columns.flatten(0, 1), *([] if extra is None else [extra]), columns.new_zeros(1, batch)]
    )
    del columns, extra
    if target is None and not _tracing() and entries.numel() < _LARGE:
        return entries.index_select(0, source).mT.contiguous()
    # Over many configurations, transpose the few nonzero columns rather than the whole output.
    entries = entries.mT.contiguous()
    return (
        entries.index_select(1, source)
        if target is None
        else torch.index_select(entries, 1, source, out=target)
    )


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


def _check_velocity(v: torch.Tensor, q: torch.Tensor, count: int, name: str = "v") -> None:
    """A joint velocity must be a tensor of shape (..., count) over q's batch shape, of q's dtype
    and device."""
    expected = q.shape[:-1] + (count,)
    if not isinstance(v, torch.Tensor) or v.shape != expected:
        shape = tuple(v.shape) if isinstance(v, torch.Tensor) else type(v).__name__
        raise ValueError(f"expected {name} of shape {tuple(expected)}, got {shape}")
    if v.dtype != q.dtype or v.device != q.device:
        raise ValueError(f"{name} is {v.dtype} on {v.device}, q {q.dtype} on {q.device}")


def _by_tip(rows: torch.Tensor, batch_shape: torch.Size) -> torch.Tensor:
    """(C, T, B) per tip as (..., T, C)."""
    return rows.permute(2, 1, 0).reshape(batch_shape + rows.shape[1::-1])


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
        distances = torch.sum(first_centres.sub_(second_centres).square_(), 0, out=work[2])
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
