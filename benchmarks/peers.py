"""What the side-by-side benchmarks share: the robots, a batch of states, the URDF every peer can
read, and Pinocchio called once per configuration."""

from __future__ import annotations

import argparse
import platform
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

import symkin
from symkin.readers.load import resolve_robot_path


@dataclass(frozen=True)
class Robot:
    label: str
    path: str
    tips: tuple[str, ...]
    floating: bool
    welded: tuple[str, ...] = ()


ROBOTS = [
    Robot(
        "G1",
        "example-robot-data:g1_description/urdf/g1_29dof_rev_1_0.urdf",
        ("left_ankle_roll_link", "right_ankle_roll_link"),
        True,
    ),
    Robot(
        "Panda",
        "example-robot-data:panda_description/urdf/panda.urdf",
        ("panda_hand_tcp",),
        False,
        ("panda_finger_joint1", "panda_finger_joint2"),
    ),
]


@dataclass
class State:
    """A batch: joint positions and velocities, base pose (7 and 4 × 4) and base twist in base
    axes (zero for a fixed base)."""

    q: torch.Tensor
    v: torch.Tensor
    base: torch.Tensor
    X_world_base: torch.Tensor
    base_twist: torch.Tensor

    def to(self, dtype: torch.dtype) -> State:
        return State(*(getattr(self, f).to(dtype) for f in self.__dataclass_fields__))


def random_state(module, batch: int, floating: bool, seed: int) -> State:
    generator = torch.Generator().manual_seed(seed)
    n = len(module.joint_names)
    q = torch.rand(batch, n, generator=generator, dtype=torch.float64) * 2 - 1
    v = torch.randn(batch, n, generator=generator, dtype=torch.float64)
    base = torch.zeros(batch, 7, dtype=torch.float64)
    base[:, 3] = 1
    twist = torch.zeros(batch, 6, dtype=torch.float64)
    if floating:
        base[:, :3] = torch.randn(batch, 3, generator=generator, dtype=torch.float64)
        base[:, 3:] = torch.nn.functional.normalize(
            torch.randn(batch, 4, generator=generator, dtype=torch.float64), dim=-1
        )
        twist = torch.randn(batch, 6, generator=generator, dtype=torch.float64)
    X = torch.eye(4, dtype=torch.float64).repeat(batch, 1, 1)
    X[:, :3, :3] = symkin.quaternion_to_matrix(base[:, 3:])
    X[:, :3, 3] = base[:, :3]
    return State(q, v, base, X, twist)


def readable_urdf(robot: Robot, folder: Path) -> str:
    """The robot's URDF as all three read it, written into ``folder``: an explicit identity
    ``<origin>`` in every joint without one (G1's ``pelvis_contour_joint``; ADAM 0.5 fails on the
    default URDF allows), and the ``welded`` joints made fixed (ADAM 0.5 fails on the Panda's
    prismatic fingers)."""
    from lxml import etree

    tree = etree.parse(str(resolve_robot_path(robot.path)))
    for joint in tree.iter("joint"):
        if joint.find("origin") is None:
            etree.SubElement(joint, "origin", xyz="0 0 0", rpy="0 0 0")
        if joint.get("name") in robot.welded:
            joint.set("type", "fixed")
            for child in joint.findall("mimic"):
                joint.remove(child)
    path = folder / f"{robot.label}.urdf"
    tree.write(str(path))
    return str(path)


class PinocchioLoop:
    """Pinocchio's model of the robot, called once per configuration of a batch."""

    def __init__(self, robot: Robot, path: str, joint_names) -> None:
        import pinocchio as pin

        self.pin = pin
        self.model = (
            pin.buildModelFromUrdf(path, pin.JointModelFreeFlyer())
            if robot.floating
            else pin.buildModelFromUrdf(path)
        )
        self.data = self.model.createData()
        self.floating = robot.floating
        self.tips = [self.model.getFrameId(tip) for tip in robot.tips]
        first = 2 if robot.floating else 1
        names = list(self.model.names)
        self.q_index = [self.model.idx_qs[names.index(j)] for j in joint_names]
        self.v_index = [self.model.idx_vs[names.index(j)] for j in joint_names]
        assert all(self.model.nqs[j] == 1 for j in range(first, self.model.njoints))

    def arrays(self, s: State) -> tuple[np.ndarray, np.ndarray]:
        """Pinocchio's q and v for the batch."""
        batch = s.q.shape[0]
        q, v = np.zeros((batch, self.model.nq)), np.zeros((batch, self.model.nv))
        q[:, self.q_index], v[:, self.v_index] = s.q.numpy(), s.v.numpy()
        if self.floating:
            w, xyz = s.base[:, 3:4].numpy(), s.base[:, 4:].numpy()
            q[:, :7] = np.concatenate([s.base[:, :3].numpy(), xyz, w], -1)
            v[:, :6] = s.base_twist.numpy()
        return q, v


def arguments(description: str) -> argparse.Namespace:
    """The command line both peer benchmarks take; sets torch's threads."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="batches 1 and 4,096, short timing")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 1000, 4096])
    parser.add_argument("--budget", type=float, default=1.0, help="seconds of timing per setting")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parsed = parser.parse_args()
    if parsed.quick:
        parsed.batches, parsed.budget = [1, 4096], 0.25
    torch.set_num_threads(parsed.threads)
    return parsed


def print_header() -> None:
    """What ran where and when, and the table's head."""
    import adam
    import pinocchio

    print(
        f"symkin {symkin.__version__}, ADAM {getattr(adam, '__version__', '0.5')}, Pinocchio "
        f"{pinocchio.__version__}, torch {torch.__version__}, "
        f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} thread(s), "
        f"{time.strftime('%Y-%m-%d')}\n\n"
        "Median microseconds per call (whole batch); ratios = theirs / symkin (higher: symkin "
        "faster).\n\n"
        "| robot | workload | batch | symkin µs | ADAM µs | Pinocchio loop µs | ADAM / symkin | "
        "Pinocchio / symkin |\n|---|---|---|---|---|---|---|---|",
        flush=True,
    )


def print_row(robot: Robot, workload: str, batch: int, times: list[float]) -> None:
    """One table row from the median seconds of symkin, ADAM and the Pinocchio loop."""
    ours, adam, pinocchio = times
    print(
        f"| {robot.label} | {workload} | {batch:,} | {ours * 1e6:,.0f} | {adam * 1e6:,.0f} | "
        f"{pinocchio * 1e6:,.0f} | {adam / ours:.1f}× | {pinocchio / ours:.1f}× |",
        flush=True,
    )
