"""An independent numeric kinematics: a joint spec rendered to URDF text, and FK by plain 4×4
products.

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
    type: str  # revolute, continuous, prismatic, fixed, planar (axis: the plane's normal)
    parent: str
    child: str
    xyz: tuple[float, float, float] = (0.0, 0.0, 0.0)
    rpy: tuple[float, float, float] = (0.0, 0.0, 0.0)
    axis: tuple[float, float, float] = (1.0, 0.0, 0.0)
    lower: float = -3.0
    upper: float = 3.0
    mimic: tuple[str, float, float] | None = None  # (source joint, multiplier, offset)


def urdf_text(
    name: str,
    links: list[str],
    joints: list[JointSpec],
    masses: dict[str, tuple] | None = None,
) -> str:
    """A URDF of the links and joints; ``masses`` gives links an ``<inertial>``: (kg, centre), or
    (kg, centre, rpy of the inertia's axes, (ixx, iyy, izz) in those axes)."""
    lines = [f"<robot name={quoteattr(name)}>"]
    for link in links:
        if masses and link in masses:
            mass, center, *axes = masses[link]
            rpy, moments = axes or ((0.0, 0.0, 0.0), (0.0, 0.0, 0.0))
            values = dict(zip(("ixx", "iyy", "izz"), moments, strict=True))
            values |= {"ixy": 0, "ixz": 0, "iyz": 0}
            inertia = " ".join(f'{k}="{v!r}"' for k, v in values.items())
            xyz, angles = " ".join(map(repr, center)), " ".join(map(repr, rpy))
            lines += [
                f"  <link name={quoteattr(link)}><inertial>",
                f'    <origin xyz="{xyz}" rpy="{angles}"/>',
                f'    <mass value="{mass!r}"/><inertia {inertia}/>',
                "  </inertial></link>",
            ]
        else:
            lines.append(f"  <link name={quoteattr(link)}/>")
    for j in joints:
        lines.append(f"  <joint name={quoteattr(j.name)} type={quoteattr(j.type)}>")
        lines.append(f"    <parent link={quoteattr(j.parent)}/>")
        lines.append(f"    <child link={quoteattr(j.child)}/>")
        lines.append(
            f'    <origin xyz="{" ".join(map(repr, j.xyz))}" rpy="{" ".join(map(repr, j.rpy))}"/>'
        )
        lines.append(f'    <axis xyz="{" ".join(map(repr, j.axis))}"/>')
        if j.type in ("revolute", "prismatic"):
            lines.append(
                f'    <limit lower="{j.lower!r}" upper="{j.upper!r}" effort="1" velocity="1"/>'
            )
        if j.mimic is not None:
            source, multiplier, offset = j.mimic
            lines.append(
                f"    <mimic joint={quoteattr(source)} "
                f'multiplier="{multiplier!r}" offset="{offset!r}"/>'
            )
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
    R = (
        _rot(np.array([0, 0, 1.0]), yaw)
        @ _rot(np.array([0, 1.0, 0]), pitch)
        @ _rot(np.array([1.0, 0, 0]), roll)
    )
    return _homogeneous(R, np.array(xyz, dtype=float))


def joint_values(
    joints: list[JointSpec], q_names: tuple[str, ...], q: np.ndarray
) -> dict[str, object]:
    """Each moving joint's value: a number, or (x, y, θ) for a planar joint (q names ``P:x``,
    ``P:y``, ``P:theta``)."""
    by_name = {j.name: j for j in joints}
    given = dict(zip(q_names, q, strict=True))

    def value(name: str):
        joint = by_name[name]
        if joint.type == "planar":
            return tuple(float(given.get(f"{name}:{part}", 0.0)) for part in ("x", "y", "theta"))
        if joint.mimic is None:
            return float(given.get(name, 0.0))
        source, multiplier, offset = joint.mimic
        return multiplier * value(source) + offset

    return {j.name: value(j.name) for j in joints if j.type != "fixed"}


def planar_axes(normal) -> tuple[np.ndarray, np.ndarray]:
    """symkin's documented in-plane axes of a planar joint: u is x made orthogonal to the normal (y
    when the normal is nearly x), v = normal × u."""
    n = np.asarray(normal, dtype=float) / np.linalg.norm(normal)
    seed = np.array([1.0, 0.0, 0.0]) if abs(n[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    u = seed - seed.dot(n) * n
    u /= np.linalg.norm(u)
    return u, np.cross(n, u)


def _from_root(joints: list[JointSpec], link: str, values: dict) -> np.ndarray:
    """X_root_link by multiplying origin and motion matrices down from the root."""
    parent_joint = {j.child: j for j in joints}
    chain = []
    while link in parent_joint:
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
        elif joint.type == "planar":
            x, y, theta = values[joint.name]
            u, v = planar_axes(axis)
            X = X @ _homogeneous(_rot(axis, theta), x * u + y * v)
    return X


def pose(joints: list[JointSpec], base: str, tip: str, values: dict) -> np.ndarray:
    """X_base_tip for any two links: X_root_base⁻¹ · X_root_tip."""
    return np.linalg.inv(_from_root(joints, base, values)) @ _from_root(joints, tip, values)


def finite_difference_jacobian(
    pose_of_q, q: np.ndarray, step: float = 1e-6, directions: np.ndarray | None = None
) -> np.ndarray:
    """6×n geometric Jacobian of ``pose_of_q`` by central differences: [dp/dq; vee(dR/dq Rᵀ)],
    column i along row i of ``directions`` (default: q's entries; (nv, nq) for ball joints, see
    symkin.tools.coordinates.tangents)."""
    X = pose_of_q(q)
    directions = np.eye(len(q)) if directions is None else directions
    columns = []
    for direction in directions:
        dq = step * direction
        dX = (pose_of_q(q + dq) - pose_of_q(q - dq)) / (2 * step)
        omega = dX[:3, :3] @ X[:3, :3].T
        columns.append(np.concatenate([dX[:3, 3], [omega[2, 1], omega[0, 2], omega[1, 0]]]))
    return np.stack(columns, axis=1)
