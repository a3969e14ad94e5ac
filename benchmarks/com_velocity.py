"""The centre of mass and velocity-level kinematics: symkin against ADAM (its PyTorch interface) and
a loop over Pinocchio, side by side in one process, on the same configurations.

    pip install ".[bench]" adam-robotics && python benchmarks/com_velocity.py [--quick]

Robots: G1 (29 joints) on a floating base, tips its two feet (``*_ankle_roll_link``); the Panda
(fixed base, tip ``panda_hand_tcp``, its fingers welded for all three: ADAM 0.5 cannot read
prismatic joints). Workloads, per batch size:

- CoM + Jacobian: the centre of mass of every link with mass and its Jacobian (symkin:
  ``center_of_mass_and_jacobian``; ADAM: ``CoM_position`` and ``CoM_jacobian``; Pinocchio:
  ``jacobianCenterOfMass``, which computes both);
- velocity + bias: each tip's velocity J·v and acceleration bias J̇·v (symkin:
  ``tip_velocity_and_bias``; ADAM: ``jacobian`` and ``jacobian_dot`` per tip, each times the
  velocity; Pinocchio: ``forwardKinematics(q, v, 0)``, then ``getFrameVelocity`` and
  ``getFrameClassicalAcceleration`` per tip).

symkin and ADAM run in float32 on the whole batch; Pinocchio (float64, C++) is called once per
configuration from Python. Before timing, the three are checked to agree (float64, 1e-9 for
Pinocchio, 1e-6 for ADAM). Prints the median time per call and the ratios. One torch thread
unless --threads. The full run takes about 2 minutes on a 2-core CPU, --quick about 30 s.
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


class Symkin:
    def __init__(self, robot: Robot, path: str) -> None:
        model = symkin.load(path)
        outputs = (symkin.center_of_mass(model), symkin.Velocities())
        kinematics = symkin.derive(model, robot.tips, None, robot.floating, outputs)
        self.module = symkin.module_class(symkin.load_module(symkin.generate(kinematics)))()
        self.floating = robot.floating

    def com(self, s: State):
        base = (s.base,) if self.floating else ()
        return self.module.center_of_mass_and_jacobian(s.q, *base)

    def motion(self, s: State):
        base = (s.base, s.base_twist) if self.floating else ()
        return self.module.tip_velocity_and_bias(s.q, s.v, *base)


class Adam:
    """ADAM in its default mixed representation: the base velocity is [ṗ; ω] in world axes, the
    frames' velocities [ṗ; ω] in world axes (symkin's for the tips)."""

    def __init__(self, robot: Robot, path: str, joint_names, dtype: torch.dtype) -> None:
        from adam.pytorch import KinDynComputationsBatch

        self.computations = KinDynComputationsBatch(path, list(joint_names), dtype=dtype)
        self.tips, self.dtype = robot.tips, dtype

    def com(self, s: State):
        return (
            self.computations.CoM_position(s.X_world_base, s.q),
            self.computations.CoM_jacobian(s.X_world_base, s.q),
        )

    def motion(self, s: State):
        R = s.X_world_base[:, :3, :3]
        mixed = torch.cat(
            [(R @ s.base_twist[:, :3, None])[..., 0], (R @ s.base_twist[:, 3:, None])[..., 0], s.v],
            -1,
        )[..., None]
        velocities, biases = [], []
        for tip in self.tips:
            J = self.computations.jacobian(tip, s.X_world_base, s.q)
            J_dot = self.computations.jacobian_dot(tip, s.X_world_base, s.q, mixed[:, :6, 0], s.v)
            velocities.append((J @ mixed)[..., 0])
            biases.append((J_dot @ mixed)[..., 0])
        return torch.stack(velocities, 1), torch.stack(biases, 1)


class Pinocchio(PinocchioLoop):
    def com(self, q: np.ndarray):
        """Per configuration, the CoM and its Jacobian. With a fixed base, Pinocchio leaves out the
        links welded to the root (its universe's inertia), which symkin and ADAM count."""
        pin, model, data = self.pin, self.model, self.data
        universe = model.inertias[0]
        results = []
        for x in q:
            J = pin.jacobianCenterOfMass(model, data, x)
            com = data.com[0]
            if not self.floating:
                mass = data.mass[0]
                total = mass + universe.mass
                com, J = (mass * com + universe.mass * universe.lever) / total, mass * J / total
            results.append((com.copy(), J))
        return results

    def motion(self, q: np.ndarray, v: np.ndarray):
        pin, model, data = self.pin, self.model, self.data
        zero, frame = np.zeros(model.nv), pin.ReferenceFrame.LOCAL_WORLD_ALIGNED
        results = []
        for x, dx in zip(q, v, strict=True):
            pin.forwardKinematics(model, data, x, dx, zero)
            results.append(
                [
                    (
                        pin.getFrameVelocity(model, data, f, frame).vector,
                        pin.getFrameClassicalAcceleration(model, data, f, frame).vector,
                    )
                    for f in self.tips
                ]
            )
        return results


def check_agreement(robot: Robot, ours: Symkin, adam: Adam, pinocchio: Pinocchio) -> None:
    """The three compute the same quantities (float64) on a few configurations."""
    module = ours.module.double()
    state = random_state(module, 4, robot.floating, seed=99)
    com, com_jacobian = ours.com(state)
    velocity, bias = ours.motion(state)
    velocity = velocity.reshape(4, -1, 6)
    bias = bias.reshape(4, -1, 6)
    adam_com, adam_jacobian = adam.com(state)
    np.testing.assert_allclose(com, adam_com, atol=1e-6)
    shift = 0 if robot.floating else 6  # ADAM's base columns: mixed, not symkin's; compared below
    if robot.floating:
        R = state.X_world_base[:, :3, :3]
        adam_jacobian = torch.cat(
            [adam_jacobian[:, :, :3] @ R, adam_jacobian[:, :, 3:6] @ R, adam_jacobian[:, :, 6:]], -1
        )
    np.testing.assert_allclose(com_jacobian, adam_jacobian[:, :, shift:], atol=1e-6)
    adam_velocity, adam_bias = adam.motion(state)
    np.testing.assert_allclose(velocity, adam_velocity, atol=1e-6)
    # symkin's bias holds the base twist constant in base axes, ADAM's in world axes: the base
    # origin then accelerates by R (ω × v), which every tip shares.
    R = state.X_world_base[:, :3, :3]
    w, u = state.base_twist[:, 3:], state.base_twist[:, :3]
    base_acceleration = (R @ torch.linalg.cross(w, u)[..., None])[..., 0]
    np.testing.assert_allclose(
        bias[..., :3], adam_bias[..., :3] + base_acceleration[:, None], atol=1e-6
    )
    np.testing.assert_allclose(bias[..., 3:], adam_bias[..., 3:], atol=1e-6)
    q, v = pinocchio.arrays(state)
    for i, (expected_com, _) in enumerate(pinocchio.com(q)):
        np.testing.assert_allclose(com[i], expected_com, atol=1e-9)
    for i, tips in enumerate(pinocchio.motion(q, v)):
        for t, (expected_velocity, expected_bias) in enumerate(tips):
            np.testing.assert_allclose(velocity[i, t], expected_velocity, atol=1e-9)
            np.testing.assert_allclose(bias[i, t], expected_bias, atol=1e-9)


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
            state32 = state.to(torch.float32)
            q, v = pinocchio.arrays(state)
            for workload, calls in (
                ("CoM + Jacobian", (ours.com, adam32.com, pinocchio.com)),
                ("velocity + bias", (ours.motion, adam32.motion, pinocchio.motion)),
            ):
                inputs = ((state32,), (state32,), (q,) if workload.startswith("CoM") else (q, v))
                times = median_times(
                    [functools.partial(call, *x) for call, x in zip(calls, inputs, strict=True)],
                    options.budget,
                    min_rounds=3,
                )
                print_row(robot, workload, batch, times)


if __name__ == "__main__":
    main()
