"""The collision rows of :func:`symkin.solve_ik`: for a module compiled with ``--collision``, one
residual row per distance d between spheres (self pairs, then spheres × obstacles),
√weight · max(0, margin − d), with its Jacobian by forward-mode differentiation along each entry of
v at once (a ball joint's through its quaternion's tangents, a floating base's twist through its
pose's, see :mod:`symkin.tools.coordinates`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from symkin.tools.coordinates import base_tangents, tangents
from symkin.tools.losses import _check_shape


@dataclass(frozen=True)
class CollisionRows:
    """The collision rows of a module compiled with ``--collision``: per distance d (self pairs,
    then spheres × obstacles), √weight · max(0, margin − d)."""

    module: Any  # a KinematicsModule compiled with --collision
    weight: float
    obstacles: torch.Tensor | None
    margin: float

    @staticmethod
    def make(module, weight, obstacles, margin) -> CollisionRows | None:
        if not hasattr(module, "self_collision_distances"):
            if weight or obstacles is not None:
                raise ValueError(
                    "collision_weight and obstacles need a module compiled with --collision"
                )
            return None
        if not (weight >= 0 and math.isfinite(weight)) or not (margin >= 0):
            raise ValueError(
                "collision_weight and collision_margin must be finite and non-negative"
            )
        if obstacles is not None:
            _check_shape(obstacles, (4,), "obstacles")
        return CollisionRows(module, weight, obstacles, margin)

    def distances(self, q: torch.Tensor, base: torch.Tensor | None = None) -> torch.Tensor:
        """(..., m) every distance the rows are made of; ``base`` (..., 7) the pose of a floating
        base, which only the obstacles' depend on."""
        found = [self.module.self_collision_distances(q)]
        if self.obstacles is not None:
            obstacles = self.obstacles.to(q)
            placed = (q, obstacles) if base is None else (q, base, obstacles)
            found.append(self.module.obstacle_distances(*placed).flatten(-2))
        return torch.cat(found, -1)

    def colliding(self, q: torch.Tensor, base: torch.Tensor | None = None) -> torch.Tensor:
        with torch.no_grad():
            return (self.distances(q, base) < 0).any(-1)

    def colliding_rows(self, error: torch.Tensor) -> torch.Tensor:
        """From the rows' errors −√w·max(0, margin − d): whether some d is negative."""
        return (-error > math.sqrt(self.weight) * self.margin * (1 + 1e-9)).any(-1)

    def rows(
        self, q: torch.Tensor, base: torch.Tensor | None, columns: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The rows' errors (..., m) (their target, 0, less their value) and Jacobians
        (..., m, columns): a floating base's twist first (``base`` (..., 7), or None for a fixed
        one), nonzero for the obstacles' rows, then v's entries."""
        flat = q.reshape(-1, q.shape[-1])
        joint_moves = tangents(self.module, flat)  # (B, nv, nq): per entry of v
        inputs: tuple[torch.Tensor, ...] = (flat,)
        directions: tuple[torch.Tensor, ...] = (joint_moves,)
        if base is not None and self.obstacles is not None:
            # The self distances do not depend on a floating base, the obstacles' do.
            flat_base = base.reshape(-1, 7)
            base_moves = base_tangents(flat_base)  # (B, 6, 7): per entry of the base's twist
            count, nv = joint_moves.shape[:2]
            inputs = (flat, flat_base)
            directions = (
                torch.cat([joint_moves.new_zeros(count, 6, flat.shape[1]), joint_moves], 1),
                torch.cat([base_moves, base_moves.new_zeros(count, nv, 7)], 1),
            )
        if directions[0].shape[-2]:
            # Every direction in one forward-mode pass, vmapped: what does not depend on the
            # direction (the distances, each pair's nearest sphere pair) is computed once.
            def along(*direction: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
                values = torch.func.jvp(self.distances, inputs, direction)
                return values[0], values[1]

            repeated, derivatives = torch.func.vmap(along, in_dims=1)(*directions)
            distances, jacobian = repeated[0], derivatives.movedim(0, -1)
        else:
            distances = self.distances(*inputs)
            jacobian = distances.new_zeros(distances.shape + (0,))
        scale = math.sqrt(self.weight)
        pulling = (distances < self.margin).to(q.dtype)
        error = -scale * (self.margin - distances).clamp_min(0)
        jacobian = -scale * pulling.unsqueeze(-1) * jacobian
        if columns > jacobian.shape[-1]:  # a floating base's, without obstacles: zero
            jacobian = torch.nn.functional.pad(jacobian, (columns - jacobian.shape[-1], 0))
        return error.reshape(*q.shape[:-1], -1), jacobian.reshape(*q.shape[:-1], -1, columns)
