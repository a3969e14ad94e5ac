"""Steps in joint space for a step in velocity space: q (..., nq) moves by v (..., nv), and a
floating base's pose (..., 7) by its twist (..., 6).

Every entry of q but a ball joint's moves by its entry of v. A ball joint's unit quaternion
(w, x, y, z) turns by its angular velocity ω in its child's axes, ``q ⊗ exp(ω/2)``, as MuJoCo's
``mj_integratePos`` does; its entries of v are three where q has four. A base moves by a twist
[Δv; Δω] in its own axes: p + R·Δv, and its quaternion turned by Δω as a ball joint's.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from symkin.contract import KinematicsModule
from symkin.tools.losses import quaternion_to_matrix


def turned(quaternion: torch.Tensor, rotation: torch.Tensor) -> torch.Tensor:
    """Unit quaternions (..., 4), w first, turned by rotation vectors (..., 3) in their own axes:
    ``q ⊗ exp(rotation/2)``, made unit again."""
    angle = torch.linalg.vector_norm(rotation, dim=-1, keepdim=True)
    half = angle / 2
    # sin(θ/2)/θ, finite at θ = 0.
    factor = torch.where(
        angle > 1e-12, torch.sin(half) / angle.clamp(min=1e-12), torch.full_like(angle, 0.5)
    )
    product = _product(quaternion, torch.cat([torch.cos(half), rotation * factor], dim=-1))
    return product / torch.linalg.vector_norm(product, dim=-1, keepdim=True)


def integrated(module: KinematicsModule, q: torch.Tensor, step: torch.Tensor) -> torch.Tensor:
    """q (..., nq) moved by ``step`` (..., nv): added, a ball joint's quaternion turned."""
    pieces = []
    for q_part, step_part, ball in _parts(module, q, step):
        assert step_part is not None
        pieces.append(turned(q_part, step_part) if ball else q_part + step_part)
    return torch.cat(pieces, -1)


def with_unit_quaternions(module: KinematicsModule, q: torch.Tensor) -> torch.Tensor:
    """q (..., nq) with each ball joint's quaternion divided by its norm; one of norm below 1e-15
    the identity, as the modules read it."""
    pieces = []
    for part, _, ball in _parts(module, q):
        if ball:
            norm = torch.linalg.vector_norm(part, dim=-1, keepdim=True)
            identity = torch.zeros_like(part)
            identity[..., 0] = 1
            part = torch.where(norm < 1e-15, identity, part / norm.clamp_min(1e-15))
        pieces.append(part)
    return torch.cat(pieces, -1)


def tangents(module: KinematicsModule, q: torch.Tensor) -> torch.Tensor:
    """(..., nv, nq): row k is how q moves per unit of v's entry k, at q whose quaternions are unit
    (``½ q ⊗ (0, e)`` for a ball joint's angular velocity about axis e, orthogonal to q, so that a
    function of q's unit quaternion changes by it to first order)."""
    columns = q.shape[-1]
    rows: list[torch.Tensor] = []
    done = 0
    for q_part, _, ball in _parts(module, q):
        width = q_part.shape[-1]
        if ball:
            axes = torch.eye(3, dtype=q.dtype, device=q.device)
            pure = torch.cat([torch.zeros_like(axes[:, :1]), axes], -1)  # (3, 4): (0, e_k)
            moved = _product(q_part.unsqueeze(-2), pure) / 2  # (..., 3, 4)
            rows.append(torch.nn.functional.pad(moved, (done, columns - done - width)))
        else:
            unit = torch.eye(width, dtype=q.dtype, device=q.device)
            unit = torch.nn.functional.pad(unit, (done, columns - done - width))
            rows.append(unit.expand(q.shape[:-1] + unit.shape))
        done += width
    return torch.cat(rows, -2)


def _parts(
    module: KinematicsModule, q: torch.Tensor, v: torch.Tensor | None = None
) -> Iterator[tuple[torch.Tensor, torch.Tensor | None, bool]]:
    """q and v cut alike: runs of entries they share, and each ball joint's quaternion (in q) and
    angular velocity (in v; None without v), with whether it is a ball joint's."""
    q_done = v_done = 0
    for _, q_index, v_index in module.ball_joints:
        if q_index > q_done:
            yield q[..., q_done:q_index], _cut(v, v_done, v_index), False
        yield q[..., q_index : q_index + 4], _cut(v, v_index, v_index + 3), True
        q_done, v_done = q_index + 4, v_index + 3
    if q.shape[-1] > q_done or not q_done:
        yield q[..., q_done:], _cut(v, v_done, None), False


def _cut(v: torch.Tensor | None, start: int, stop: int | None) -> torch.Tensor | None:
    return None if v is None else v[..., start:stop]


def _product(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The Hamilton products a ⊗ b of quaternions (..., 4), w first (shapes broadcast)."""
    w1, x1, y1, z1 = a.unbind(-1)
    w2, x2, y2, z2 = b.unbind(-1)
    return torch.stack(
        [
            w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2,
            w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
            w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
            w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2,
        ],
        dim=-1,
    )


def moved_base(base: torch.Tensor, twist: torch.Tensor) -> torch.Tensor:
    """Base poses (..., 7), position then unit quaternion, moved by twists (..., 6) [Δv; Δω] in
    their own axes: p + R·Δv, and q ⊗ exp(Δω/2)."""
    position, quaternion = base[..., :3], base[..., 3:]
    R = quaternion_to_matrix(quaternion)
    position = position + (R @ twist[..., :3].unsqueeze(-1)).squeeze(-1)
    return torch.cat([position, turned(quaternion, twist[..., 3:])], dim=-1)


def base_tangents(base: torch.Tensor) -> torch.Tensor:
    """(..., 6, 7): row k is how a base pose (..., 7) with a unit quaternion moves per unit of its
    twist's entry k (see :func:`moved_base`): R's column k for a slide, ``½ q ⊗ (0, e)`` for a turn
    about axis e (orthogonal to q)."""
    quaternion = base[..., 3:]
    w, vector = quaternion[..., :1, None], quaternion[..., 1:]
    x, y, z = vector.unbind(-1)
    zero = torch.zeros_like(x)
    # Row k of (w·1 − [v]×): the vector part of q ⊗ (0, e_k), as [v]× e_k = v × e_k.
    skew = torch.stack(
        [
            torch.stack([zero, -z, y], -1),
            torch.stack([z, zero, -x], -1),
            torch.stack([-y, x, zero], -1),
        ],
        -2,
    )
    eye = torch.eye(3, dtype=base.dtype, device=base.device)
    turning = torch.cat([-vector.unsqueeze(-1), w * eye - skew], -1) / 2  # (..., 3, 4)
    sliding = quaternion_to_matrix(quaternion).mT  # row k: R's column k
    return torch.cat(
        [
            torch.cat([sliding, torch.zeros_like(turning)], -1),
            torch.cat([torch.zeros_like(sliding), turning], -1),
        ],
        -2,
    )
