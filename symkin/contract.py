"""The contract every generated module keeps, whatever its backend, stated as a type."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class KinematicsModule(Protocol):
    """A generated kinematics module: a ``torch.nn.Module`` instance, or an imported JAX module.

    Arrays are ``torch.Tensor`` or ``jax.Array``; shapes for T tips, nq entries of q and nv of v
    (equal but for ball joints: four entries of q, three of v); a module with one tip leaves out the
    T axis:

    - ``forward(q)``: q ``(..., nq)`` → poses ``X_base_tip`` ``(..., T, 4, 4)``, base frame;
    - ``jacobian(q)``: ``(..., T, 6, nv)`` geometric Jacobians, rows [v; ω] in base-frame axes;
    - ``forward_and_jacobian(q)``: both, computed together;
    - ``compact_jacobian(q)``: ``(..., 6, K)`` the Jacobians without their structural zeros: tip
      t's columns ``jacobian_columns[t]`` side by side, from ``jacobian_column_starts[t]`` on.

    A floating-base module (``floating_base`` true) takes the base pose as a second argument,
    ``(..., 7)`` (xyz, then quaternion w, x, y, z) or ``(..., 4, 4)``; its poses are in the world
    frame and its Jacobians have 6 + nv columns, the base's twist (in base axes) first.
    """

    robot_name: str
    base_name: str
    tip_names: tuple[str, ...]
    jacobian_columns: tuple[tuple[int, ...], ...]
    jacobian_column_starts: tuple[int, ...]
    joint_names: tuple[str, ...]
    velocity_names: tuple[str, ...]
    nq: int
    nv: int
    ball_joints: tuple[tuple[str, int, int], ...]
    floating_base: bool
    lower: Any
    upper: Any

    def forward(self, q: Any, *base: Any) -> Any: ...

    def jacobian(self, q: Any, *base: Any) -> Any: ...

    def forward_and_jacobian(self, q: Any, *base: Any) -> tuple[Any, Any]: ...

    def compact_jacobian(self, q: Any, *base: Any) -> Any: ...
