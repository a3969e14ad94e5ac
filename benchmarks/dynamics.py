"""Rigid-body dynamics: symkin against ADAM (its PyTorch interface) and a loop over Pinocchio, side
by side in one process, on the same states.

    pip install ".[bench]" adam-robotics && python benchmarks/dynamics.py [--quick]

Robots as in benchmarks/com_velocity.py: G1 (29 joints) on a floating base, and the Panda (fixed
base, fingers welded for all three). Workloads, per batch size:

- inverse dynamics: symkin ``inverse_dynamics``; ADAM ``mass_matrix`` times the accelerations plus
  ``bias_force`` (it has no inverse dynamics of its own); Pinocchio ``rnea``;
- mass matrix: symkin ``mass_matrix``; ADAM ``mass_matrix``; Pinocchio ``crba``;
- forward dynamics: symkin ``forward_dynamics``; ADAM ``aba`` on G1 (its ABA takes a floating
  base) and, on the Panda, a solve with its mass matrix and bias force; Pinocchio ``aba``.

ADAM runs in its body-fixed representation, whose base velocity is symkin's (base axes), with
symkin's gravity (9.81 m/s²). symkin and ADAM in float32 on the whole batch; Pinocchio (float64,
C++) once per configuration from Python. Before timing, the three are checked to agree (float64:
1e-9 relative to the torque scale with Pinocchio, 1e-6 with ADAM). One torch thread unless
--threads. The full run takes about 3 minutes on a 2-core CPU, --quick about 1 minute.
"""

from __future__ import annotations

import functools
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from bench import median_times  # noqa: E402
from peers import (  # noqa: E402
    ROBOTS,
    PinocchioLoop,
    Robot,
    State,
    arguments,
    print_header,
    print_row,
    random_state,
    readable_urdf,
)

import symkin  # noqa: E402


class Accelerations:
    """Joint and base accelerations and joint torques for a batch (base ones zero when fixed)."""

    def __init__(self, state: State, floating: bool, seed: int) -> None:
        generator = torch.Generator().manual_seed(seed)
        shape, dtype = state.q.shape, state.q.dtype
        self.a = torch.randn(shape, generator=generator, dtype=dtype)
        self.base = torch.randn(shape[0], 6, generator=generator, dtype=dtype) * floating
        self.tau = 10 * torch.randn(shape, generator=generator, dtype=dtype)

    def to(self, dtype: torch.dtype) -> Accelerations:
        converted = object.__new__(Accelerations)
        converted.a, converted.base, converted.tau = (
            x.to(dtype) for x in (self.a, self.base, self.tau)
        )
        return converted


class Symkin:
    def __init__(self, robot: Robot, path: str) -> None:
        model = symkin.load(path)
        kinematics = symkin.derive(
            model, robot.tips, None, robot.floating, (symkin.rigid_bodies(model),)
        )
        self.module = symkin.module_class(symkin.load_module(symkin.generate(kinematics)))()
        self.floating = robot.floating

    def inverse(self, s: State, x: Accelerations):
        if self.floating:
            return self.module.inverse_dynamics(s.q, s.v, x.a, s.base, s.base_twist, x.base)
        return self.module.inverse_dynamics(s.q, s.v, x.a)

    def mass(self, s: State, x: Accelerations):
        return (
            self.module.mass_matrix(s.q, s.base) if self.floating else self.module.mass_matrix(s.q)
        )

    def forward(self, s: State, x: Accelerations):
        if self.floating:
            tau = torch.cat([torch.zeros_like(x.base), x.tau], -1)
            return self.module.forward_dynamics(s.q, s.v, tau, s.base, s.base_twist)
        return self.module.forward_dynamics(s.q, s.v, x.tau)


class Adam:
    def __init__(self, robot: Robot, path: str, joint_names, dtype: torch.dtype) -> None:
        from adam import Representations
        from adam.pytorch import KinDynComputationsBatch

        gravity = torch.tensor([0.0, 0.0, -9.81, 0.0, 0.0, 0.0], dtype=dtype)
        self.computations = KinDynComputationsBatch(
            path, list(joint_names), dtype=dtype, gravity=gravity
        )
        self.computations.set_frame_velocity_representation(
            Representations.BODY_FIXED_REPRESENTATION
        )
        self.floating = robot.floating

    def _fixed(self, matrix: torch.Tensor, vector: torch.Tensor | None = None):
        """A fixed base's block: ADAM's models always have a free base, held still here."""
        if self.floating:
            return matrix if vector is None else (matrix, vector)
        return matrix[..., 6:, 6:] if vector is None else (matrix[..., 6:, 6:], vector[..., 6:])

    def inverse(self, s: State, x: Accelerations):
        c = self.computations
        matrix = c.mass_matrix(s.X_world_base, s.q)
        bias = c.bias_force(s.X_world_base, s.q, s.base_twist, s.v)
        accelerations = torch.cat([x.base, x.a], -1)
        return ((matrix @ accelerations[..., None])[..., 0] + bias)[
            ..., 0 if self.floating else 6 :
        ]

    def mass(self, s: State, x: Accelerations):
        return self._fixed(self.computations.mass_matrix(s.X_world_base, s.q))

    def forward(self, s: State, x: Accelerations):
        c = self.computations
        if self.floating:
            return c.aba(s.X_world_base, s.q, s.base_twist, s.v, x.tau)
        matrix, bias = self._fixed(
            c.mass_matrix(s.X_world_base, s.q), c.bias_force(s.X_world_base, s.q, s.base_twist, s.v)
        )
        return torch.linalg.solve(matrix, x.tau - bias)


class Pinocchio(PinocchioLoop):
    def accelerations(self, x: Accelerations) -> tuple[np.ndarray, np.ndarray]:
        """Pinocchio's accelerations and torques (zero wrench on a free base) for the batch."""
        batch = x.a.shape[0]
        a, tau = np.zeros((batch, self.model.nv)), np.zeros((batch, self.model.nv))
        a[:, self.v_index], tau[:, self.v_index] = x.a.numpy(), x.tau.numpy()
        if self.floating:
            a[:, :6] = x.base.numpy()
        return a, tau

    def inverse(self, q, v, a, tau):
        pin, model, data = self.pin, self.model, self.data
        return [pin.rnea(model, data, *state).copy() for state in zip(q, v, a, strict=True)]

    def mass(self, q, v, a, tau):
        pin, model, data = self.pin, self.model, self.data
        return [np.triu(pin.crba(model, data, x)) for x in q]

    def forward(self, q, v, a, tau):
        pin, model, data = self.pin, self.model, self.data
        return [pin.aba(model, data, *state).copy() for state in zip(q, v, tau, strict=True)]


def close(got, expected, tolerance: float) -> None:
    expected = np.asarray(expected)
    scale = max(1.0, float(np.abs(expected).max()))
    np.testing.assert_allclose(np.asarray(got), expected, rtol=0, atol=tolerance * scale)


def check_agreement(robot: Robot, ours: Symkin, adam: Adam, pinocchio: Pinocchio) -> None:
    """The three compute the same quantities (float64) on a few states."""
    module = ours.module.double()
    state = random_state(module, 3, robot.floating, seed=99)
    extra = Accelerations(state, robot.floating, seed=98)
    arrays = (*pinocchio.arrays(state), *pinocchio.accelerations(extra))
    order = np.argsort(pinocchio.v_index)  # Pinocchio's columns of q, in its order
    columns = ([0, 1, 2, 3, 4, 5] if robot.floating else []) + [
        (6 if robot.floating else 0) + k for k in order
    ]
    for workload in ("inverse", "mass", "forward"):
        got = getattr(ours, workload)(state, extra).numpy()
        close(got, getattr(adam, workload)(state, extra).numpy(), 1e-6)
        for i, expected in enumerate(getattr(pinocchio, workload)(*arrays)):
            if workload == "mass":
                expected = expected + np.triu(expected, 1).T
                close(got[i][np.ix_(columns, columns)], expected, 1e-9)
            else:
                close(got[i][columns], expected, 1e-9)


def main() -> None:
    options = arguments(__doc__.split("\n\n")[0])
    print_header()
    folder = Path(tempfile.mkdtemp())
    for robot in ROBOTS:
        path = readable_urdf(robot, folder)
        ours = Symkin(robot, path)
        joint_names = ours.module.joint_names
        pinocchio = Pinocchio(robot, path, joint_names)
        check_agreement(robot, ours, Adam(robot, path, joint_names, torch.float64), pinocchio)
        ours.module.float()
        adam32 = Adam(robot, path, joint_names, torch.float32)
        for batch in options.batches:
            state = random_state(ours.module, batch, robot.floating, seed=batch)
            extra = Accelerations(state, robot.floating, seed=batch + 1)
            arrays = (*pinocchio.arrays(state), *pinocchio.accelerations(extra))
            inputs32 = (state.to(torch.float32), extra.to(torch.float32))
            for workload in ("inverse", "mass", "forward"):
                calls = [
                    functools.partial(getattr(ours, workload), *inputs32),
                    functools.partial(getattr(adam32, workload), *inputs32),
                    functools.partial(getattr(pinocchio, workload), *arrays),
                ]
                times = median_times(calls, options.budget, min_rounds=3)
                label = {"inverse": "inverse dynamics", "mass": "mass matrix"}.get(
                    workload, "forward dynamics"
                )
                print_row(robot, label, batch, times)


if __name__ == "__main__":
    main()
