"""An independent numeric kinematics: a joint spec rendered to URDF text, and FK by plain 4×4 products.

Nothing here uses symkin: the spec is the ground truth both for the URDF that
symkin parses and for the numbers it must reproduce.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

import numpy as np


@dataclass(frozen=True)
class JointSpec:
    name: str
    type: str  # revolute, continuous, prismatic, fixed
    parent: str
    child: str
    xyz: tuple[float, float, float] = (0.0, 0.0, 0.0)
    rpy: tuple[float, float, float] = (0.0, 0.0, 0.0)
    axis: tuple[float, float, float] = (1.0, 0.0, 0.0)
    lower: float = -3.0
    upper: float = 3.0
    mimic: tuple[str, float, float] | None = None  # (source joint, multiplier, offset)


def urdf_text(name: str, links: list[str], joints: list[JointSpec]) -> str:
    lines = [f"<robot name={quoteattr(name)}>"]
    lines += [f"  <link name={quoteattr(link)}/>" for link in links]
    for j in joints:
        lines.append(f"  <joint name={quoteattr(j.name)} type={quoteattr(j.type)}>")
        lines.append(f"    <parent link={quoteattr(j.parent)}/>")
        lines.append(f"    <child link={quoteattr(j.child)}/>")
        lines.append(f'    <origin xyz="{" ".join(map(repr, j.xyz))}" rpy="{" ".join(map(repr, j.rpy))}"/>')
        lines.append(f'    <axis xyz="{" ".join(map(repr, j.axis))}"/>')
        if j.type in ("revolute", "prismatic"):
            lines.append(f'    <limit lower="{j.lower!r}" upper="{j.upper!r}" effort="1" velocity="1"/>')
        if j.mimic is not None:
            source, multiplier, offset = j.mimic
            lines.append(f'    <mimic joint={quoteattr(source)} multiplier="{multiplier!r}" offset="{offset!r}"/>')
        lines.append("  </joint>")
    lines.append("</robot>")
    return "\n".join(lines) + "\n"


def _rot(axis: np.ndarray, angle: float) -> np.ndarray:
    k = axis / np.linalg.norm(axis)
    K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + math.sin(angle) * K + (1 - math.cos(angle)) * (K @ K)


def _homogeneous(R: np.ndarray, p: np.ndarray) -> np.ndarray:
    X = np.eye(4)
    X[:3, :3], X[:3, 3] = R, p
    return X


def origin_matrix(xyz, rpy) -> np.ndarray:
    roll, pitch, yaw = rpy
    R = _rot(np.array([0, 0, 1.0]), yaw) @ _rot(np.array([0, 1.0, 0]), pitch) @ _rot(np.array([1.0, 0, 0]), roll)
    return _homogeneous(R, np.array(xyz, dtype=float))


def joint_values(joints: list[JointSpec], q_names: tuple[str, ...], q: np.ndarray) -> dict[str, float]:
    by_name = {j.name: j for j in joints}
    given = dict(zip(q_names, q))

    def value(name: str) -> float:
        joint = by_name[name]
        if joint.mimic is None:
            return float(given.get(name, 0.0))
        source, multiplier, offset = joint.mimic
        return multiplier * value(source) + offset

    return {j.name: value(j.name) for j in joints if j.type != "fixed"}


def pose(joints: list[JointSpec], base: str, tip: str, values: dict[str, float]) -> np.ndarray:
    """X_base_tip by multiplying origin and motion matrices from base to tip."""
    parent_joint = {j.child: j for j in joints}
    chain = []
    link = tip
    while link != base:
        joint = parent_joint[link]
        chain.append(joint)
        link = joint.parent
    X = np.eye(4)
    for joint in reversed(chain):
        X = X @ origin_matrix(joint.xyz, joint.rpy)
        axis = np.array(joint.axis, dtype=float)
        if joint.type in ("revolute", "continuous"):
            X = X @ _homogeneous(_rot(axis, values[joint.name]), np.zeros(3))
        elif joint.type == "prismatic":
            X = X @ _homogeneous(np.eye(3), axis / np.linalg.norm(axis) * values[joint.name])
    return X


def finite_difference_jacobian(pose_of_q, q: np.ndarray, step: float = 1e-6) -> np.ndarray:
    """6×n geometric Jacobian of ``pose_of_q`` by central differences: [dp/dq; vee(dR/dq Rᵀ)]."""
    X = pose_of_q(q)
    columns = []
    for i in range(len(q)):
        dq = np.zeros_like(q)
        dq[i] = step
        dX = (pose_of_q(q + dq) - pose_of_q(q - dq)) / (2 * step)
        omega = dX[:3, :3] @ X[:3, :3].T
        columns.append(np.concatenate([dX[:3, 3], [omega[2, 1], omega[0, 2], omega[1, 0]]]))
    return np.stack(columns, axis=1)
