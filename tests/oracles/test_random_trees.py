"""Random kinematic trees against an independent numeric implementation, the closed form's CSE
over them, and numerical range: large joint values, extreme constants, cancelling mimic joints."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch
from helpers import PinocchioOracle, compile_file, compile_model, robot_file, sample_q
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from reference import JointSpec, finite_difference_jacobian, joint_values, pose, urdf_text

import symkin

QUARTER = math.pi / 2
numbers = st.floats(-0.5, 0.5, allow_nan=False)
angles = st.one_of(
    st.floats(-math.pi, math.pi, allow_nan=False), st.integers(-2, 2).map(lambda k: k * QUARTER)
)
axes = st.one_of(
    st.sampled_from([(1, 0, 0), (0, 1, 0), (0, 0, 1), (0, 0, -1), (-1, 0, 0)]),
    st.tuples(numbers, numbers, numbers).filter(lambda v: math.hypot(*v) > 0.1),
)


@st.composite
def random_trees(draw):
    count = draw(st.integers(1, 7))
    links = ["l0"]
    joints: list[JointSpec] = []
    for i in range(1, count + 1):
        parent = draw(st.sampled_from(links))
        moving = [j.name for j in joints if j.type != "fixed"]
        kind = draw(st.sampled_from(["revolute", "continuous", "prismatic", "fixed", "mimic"]))
        mimic = None
        if kind == "mimic":
            if not moving:
                kind = "revolute"
            else:
                multiplier = draw(st.one_of(st.sampled_from([1.0, -1.0]), st.floats(-2, 2)))
                mimic = (
                    draw(st.sampled_from(moving)),
                    multiplier,
                    draw(st.one_of(st.just(0.0), st.floats(-0.5, 0.5))),
                )
                kind = draw(st.sampled_from(["revolute", "prismatic"]))
        joints.append(
            JointSpec(
                f"j{i}",
                kind,
                parent,
                f"l{i}",
                xyz=draw(st.tuples(numbers, numbers, numbers)),
                rpy=draw(st.tuples(angles, angles, angles)),
                axis=draw(axes),
                lower=-1.0,
                upper=1.0,
                mimic=mimic,
            )
        )
        links.append(f"l{i}")
    return links, joints


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_trees(), st.integers(0, 2**16))
def test_random_trees_match_the_numeric_reference(tree, seed):
    links, joints = tree
    model = symkin.parse_urdf(urdf_text("random", links, joints))
    module = compile_model(model)
    kinematics = symkin.derive(model, notes=lambda message: None)
    closed = symkin.simplify(kinematics)  # it once crashed behind five mimic joints of one source
    if not module.joint_names:
        q = torch.zeros(2, 0, dtype=torch.float64)
    else:
        q = sample_q(module, 2, seed=seed)
    poses, jacobians = module.forward_and_jacobian(q)
    tips = module.tip_names
    poses = poses.reshape(2, len(tips), 4, 4)
    jacobians = jacobians.reshape(2, len(tips), 6, len(module.joint_names))
    for i in range(2):
        q_i = q[i].numpy()
        # The closed form after CSE, run as a scalar program: every pose and Jacobian entry.
        entries = closed.evaluate(dict(zip(kinematics.q, q_i.tolist(), strict=True)))
        expected = torch.cat([poses[i].flatten(), jacobians[i].flatten()]).numpy()
        np.testing.assert_allclose(entries, expected, atol=1e-9, rtol=0)
        for t, tip in enumerate(tips):

            def tip_pose(x, tip=tip):
                return pose(joints, "l0", tip, joint_values(joints, module.joint_names, x))

            np.testing.assert_allclose(poses[i, t].numpy(), tip_pose(q_i), atol=1e-9, rtol=0)
            if module.joint_names:
                np.testing.assert_allclose(
                    jacobians[i, t].numpy(),
                    finite_difference_jacobian(tip_pose, q_i),
                    atol=1e-6,
                    rtol=0,
                )


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_trees(), st.integers(0, 2**16), st.booleans())
def test_random_trees_center_of_mass_and_velocities(tree, seed, middle_base):
    """The CoM against masses placed by the numeric reference, its Jacobian and the tip's
    velocity against finite differences, dJ/dt against differences in time of the module's
    Jacobian, the bias's linear part against the position's second difference in time."""
    links, joints = tree
    rng = np.random.default_rng(seed)
    masses = {
        link: (float(rng.uniform(0.1, 3)), tuple(rng.uniform(-0.3, 0.3, 3).tolist()))
        for link in links
    }
    model = symkin.parse_urdf(urdf_text("random", links, joints, masses))
    base = links[len(links) // 2] if middle_base else links[0]
    tip = links[-1] if links[-1] != base else links[0]
    outputs = (symkin.center_of_mass(model), symkin.Velocities())
    module = compile_model(model, (tip,), base, False, outputs)
    n = len(module.joint_names)
    q = sample_q(module, 1, seed=seed)[0] if n else torch.zeros(0, dtype=torch.float64)
    v = torch.as_tensor(rng.normal(size=n))
    total = sum(mass for mass, _ in masses.values())

    def com_of(x):
        values = joint_values(joints, module.joint_names, x)
        return (
            sum(
                mass * (pose(joints, base, link, values) @ np.array([*center, 1.0]))[:3]
                for link, (mass, center) in masses.items()
            )
            / total
        )

    def tip_pose(x):
        return pose(joints, base, tip, joint_values(joints, module.joint_names, x))

    q_np, v_np = q.numpy(), v.numpy()
    np.testing.assert_allclose(module.center_of_mass(q).numpy(), com_of(q_np), atol=1e-9, rtol=0)
    if not n:
        return
    com_jacobian = np.stack(
        [(com_of(q_np + e * 1e-6) - com_of(q_np - e * 1e-6)) / 2e-6 for e in np.eye(n)], -1
    )
    np.testing.assert_allclose(module.center_of_mass_jacobian(q).numpy(), com_jacobian, atol=1e-6)
    jacobian = finite_difference_jacobian(tip_pose, q_np)
    np.testing.assert_allclose(module.tip_velocity(q, v).numpy(), jacobian @ v_np, atol=1e-6)
    step = 1e-6
    rate = (module.jacobian(q + step * v) - module.jacobian(q - step * v)).numpy() / (2 * step)
    np.testing.assert_allclose(module.jacobian_derivative(q, v).numpy(), rate, atol=1e-6)
    h = 1e-4
    positions = [tip_pose(q_np + t * v_np)[:3, 3] for t in (-h, 0.0, h)]
    linear = (positions[0] - 2 * positions[1] + positions[2]) / h**2
    bias = module.acceleration_bias(q, v).numpy()
    np.testing.assert_allclose(bias[:3], linear, atol=1e-4 * max(1.0, np.abs(linear).max()))
    np.testing.assert_allclose(bias[3:], (rate @ v_np)[3:], atol=1e-6)


def _joints_under_a_mimic_joint() -> tuple[list[str], list[JointSpec]]:
    """Found by this test: l7 hangs below j2, a mimic of j1 on another branch, so M couples j1
    and j7 (Pinocchio 4.1's crba has 0 there, its rnea does not: see PinocchioOracle.dynamics)."""
    edges = [("l0", "l1"), ("l0", "l2"), ("l2", "l3"), ("l0", "l4"), ("l0", "l5"), ("l0", "l6")]
    edges.append(("l2", "l7"))
    joints = [
        JointSpec(f"j{k}", "revolute", parent, child, lower=-1.0, upper=1.0)
        for k, (parent, child) in enumerate(edges, start=1)
    ]
    joints[1] = dataclasses.replace(joints[1], mimic=("j1", 1.0, 0.0))
    return [f"l{k}" for k in range(8)], joints


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_trees(), st.integers(0, 2**16))
@example(_joints_under_a_mimic_joint(), 0)
def test_random_trees_dynamics_match_pinocchio(tree, seed):
    """Random masses and inertias (a box's, about turned axes) on random trees: inverse dynamics
    and the mass matrix against Pinocchio, 1e-9 relative to the torque scale."""
    links, joints = tree
    rng = np.random.default_rng(seed)
    masses = {}
    for link in links:
        mass, box = float(rng.uniform(0.1, 3)), rng.uniform(0.05, 0.5, 3)
        moments = mass / 12 * (box @ box - box**2)  # a box's principal moments: always physical
        turned = tuple(rng.uniform(-np.pi, np.pi, 3).tolist())
        masses[link] = (
            mass,
            tuple(rng.uniform(-0.3, 0.3, 3).tolist()),
            turned,
            tuple(moments.tolist()),
        )
    xml = urdf_text("random", links, joints, masses)
    model = symkin.parse_urdf(xml)
    module = compile_model(model, None, None, False, (symkin.rigid_bodies(model),))
    n = len(module.joint_names)
    if not n:
        return
    q = sample_q(module, 1, seed=seed)[0]
    v, a = (torch.as_tensor(rng.normal(size=n)) for _ in range(2))
    oracle = PinocchioOracle(xml=xml)
    tau, matrix, _, _ = oracle.dynamics(module.joint_names, q.numpy(), v.numpy(), a.numpy())
    scale = max(1.0, float(np.abs(tau).max()))
    np.testing.assert_allclose(module.inverse_dynamics(q, v, a).numpy(), tau, atol=1e-9 * scale)
    np.testing.assert_allclose(
        module.mass_matrix(q).numpy(), matrix, atol=1e-9 * max(1.0, np.abs(matrix).max())
    )


# --- Numerical behaviour ---------------------------------------------------------------


def test_outputs_stay_finite_for_large_joint_values():
    module = compile_file(
        str(robot_file("tiago_description/robots/tiago_no_hand.urdf")), ("arm_tool_link",)
    )
    q = (torch.rand(64, len(module.joint_names), dtype=torch.float64) * 2 - 1) * 1e3
    for dtype in (torch.float64, torch.float32):
        pose, jacobian = module.forward_and_jacobian(q.to(dtype))
        assert torch.isfinite(pose).all() and torch.isfinite(jacobian).all()
        R = pose[..., :3, :3].double()
        assert (R @ R.transpose(-1, -2) - torch.eye(3, dtype=torch.float64)).abs().max() < 1e-5


def test_extreme_but_valid_constants(tmp_path):
    joints = [
        JointSpec(
            "j1",
            "revolute",
            "a",
            "b",
            xyz=(1e4, -1e-9, 3e3),
            rpy=(1e-12, 3.0, -2.9),
            axis=(1e-6, 0, 1),
        ),
        JointSpec(
            "j2", "prismatic", "b", "c", xyz=(1e-8, 0, 0), axis=(0, 1e5, 0), lower=-1e3, upper=1e3
        ),
    ]
    module = compile_model(symkin.parse_urdf(urdf_text("extreme", ["a", "b", "c"], joints)))
    q = sample_q(module, 8)
    for i in range(8):
        expected = pose(joints, "a", "c", joint_values(joints, module.joint_names, q[i].numpy()))
        np.testing.assert_allclose(module(q[i]).numpy(), expected, rtol=1e-12, atol=1e-9)


def test_mimic_joints_that_cancel_their_source_compile_and_count():
    """A public gripper's two joints in a row, axes -x then +x, the second mimicking the first: the
    rotations cancel and SymPy leaves cos(q)**2 + sin(q)**2 in the closed form. It once crashed the
    count."""
    joints = [
        JointSpec("drive", "revolute", "palm", "knuckle", xyz=(0, 0.02, 0.05), axis=(-1, 0, 0)),
        JointSpec(
            "follow",
            "revolute",
            "knuckle",
            "finger",
            xyz=(0, 0.04, 0),
            axis=(1, 0, 0),
            mimic=("drive", 1.0, 0.0),
        ),
        JointSpec(
            "tip",
            "revolute",
            "finger",
            "fingertip",
            xyz=(0, 0.03, 0),
            axis=(1, 0, 0),
            mimic=("drive", -1.0, 0.0),
        ),
    ]
    xml = urdf_text("gripper", ["palm", "knuckle", "finger", "fingertip"], joints)
    kinematics = symkin.derive(symkin.parse_urdf(xml))
    assert (
        symkin.simplify(kinematics).ops.arithmetic > 0
        and symkin.unsimplified_ops(kinematics).arithmetic > 0
    )
    module = compile_model(symkin.parse_urdf(xml))
    q = sample_q(module, 3)
    oracle = PinocchioOracle(xml=xml)
    for i in range(3):
        expected_pose, expected_jacobian = oracle(
            module.joint_names, module.tip_names, "palm", q[i].numpy()
        )
        np.testing.assert_allclose(module(q[i]).numpy(), expected_pose[0], atol=1e-12)
        np.testing.assert_allclose(module.jacobian(q[i]).numpy(), expected_jacobian[0], atol=1e-12)
