"""The fixed part of every generated torch module, robot-independent: checks, the tree form,
chunks, poses and Jacobians. Its neighbours hold the rest by output kind (floating.py, gradients.py,
velocities.py, dynamics.py, collision.py).

A generated module copies the definitions it uses of these modules (with those they use in turn)
below its own, so generated files stay standalone; here they are linted, type-checked and
unit-tested as code. The generated part defines the frame program, the tables and the module
class, and calls these helpers with them.

Conventions: columns are homogeneous 4-vectors over the batch, (4, L, B) tensors of L lanes
(w = 0 for directions, 1 for points); Jacobians have rows [v; ω] (linear velocity of a point,
angular velocity) in base axes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator

import torch

# Tensors of this many elements or more take the forms that are fastest over many
# configurations. Under torch.compile and torch.export those forms are always taken: the
# compilers fuse them, and a choice by size would specialise the batch dimension.
_LARGE = 8192
# An arm's Jacobians and poses over many configurations are computed a chunk at a time (see
# _chunk_length).
_CHUNK_CONFIGURATIONS = 2048
_CHUNK_BYTES = 1 << 20
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
    if not width:
        return None  # no joints: an empty Jacobian
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


def _by_tip(rows: torch.Tensor, batch_shape: torch.Size) -> torch.Tensor:
    """(C, T, B) per tip as (..., T, C)."""
    return rows.permute(2, 1, 0).reshape(batch_shape + rows.shape[1::-1])
