"""Small handwritten robots, one feature each, against Pinocchio and the numeric reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from helpers import PinocchioOracle, as_tips, compile_model, sample_q
from reference import JointSpec, finite_difference_jacobian, joint_values, pose, urdf_text

import symkin

LINKS = ["base", "a", "b", "c", "d"]


def chain(*specs) -> list[JointSpec]:
    """Joints j1, j2, … from base through a, b, c, d, each spec a dict of JointSpec fields."""
    return [
        JointSpec(name=f"j{i + 1}", parent=LINKS[i], child=LINKS[i + 1], **spec)
        for i, spec in enumerate(specs)
    ]


FEATURES = {
    "revolute": chain(
        dict(type="revolute", xyz=(0, 0, 0.3), axis=(0, 0, 1)),
        dict(type="revolute", xyz=(0.1, 0, 0.2), axis=(0, 1, 0)),
    ),
    "continuous": chain(
        dict(type="continuous", xyz=(0, 0, 0.1), axis=(0, 0, 1)),
        dict(type="continuous", xyz=(0.2, 0, 0), axis=(1, 0, 0)),
    ),
    "prismatic": chain(
        dict(type="prismatic", xyz=(0, 0, 0.1), axis=(0, 0, 1), lower=0.0, upper=0.5),
        dict(type="revolute", xyz=(0.3, 0, 0), axis=(0, 0, 1)),
        dict(
            type="prismatic",
            xyz=(0, 0.1, 0),
            rpy=(0.3, 0, 0),
            axis=(1, 0, 0),
            lower=-0.2,
            upper=0.2,
        ),
    ),
    "fixed": chain(
        dict(type="fixed", xyz=(0, 0, 0.5), rpy=(0, 0, math.pi / 2)),
        dict(type="revolute", xyz=(0.1, 0, 0), axis=(0, 0, 1)),
        dict(type="fixed", xyz=(0.2, 0.1, 0), rpy=(math.pi, 0, 0)),
        dict(type="fixed", xyz=(0, 0, 0.05), rpy=(0, 0.4, 0)),
    ),
    "mimic": chain(
        dict(type="revolute", xyz=(0, 0, 0.2), axis=(0, 0, 1)),
        dict(type="revolute", xyz=(0.3, 0, 0), axis=(0, 1, 0), mimic=("j1", -0.5, 0.25)),
        dict(type="prismatic", xyz=(0.2, 0, 0), axis=(1, 0, 0), lower=0, upper=0.1),
        dict(type="prismatic", xyz=(0, 0.1, 0), axis=(0, 1, 0), mimic=("j3", 2.0, 0.01)),
    ),
    "non-unit axis": chain(
        dict(type="revolute", xyz=(0, 0, 0.2), axis=(1, 1, 0)),
        dict(type="revolute", xyz=(0.3, 0, 0), axis=(0.2, -0.3, 0.9)),
        dict(type="prismatic", xyz=(0.1, 0, 0), axis=(0, 3, 4)),
    ),
    "rpy origins": chain(
        dict(type="revolute", xyz=(0.1, -0.2, 0.3), rpy=(0.3, -0.7, 1.1), axis=(0, 0, 1)),
        dict(
            type="revolute", xyz=(0.2, 0.1, 0), rpy=(math.pi / 2, 0, -math.pi / 2), axis=(0, 1, 0)
        ),
        dict(
            type="revolute",
            xyz=(0, 0, 0.1),
            rpy=(1.5707963267948966, 3.14159265359, 0.2),
            axis=(1, 0, 0),
        ),
    ),
}


@pytest.mark.parametrize("feature", FEATURES)
def test_feature_matches_pinocchio_and_reference(feature):
    joints = FEATURES[feature]
    links = LINKS[: len(joints) + 1]
    xml = urdf_text(feature, links, joints)
    module = compile_model(symkin.parse_urdf(xml), tips=[links[-1]])
    q = sample_q(module, batch=6, seed=3)
    poses, jacobians = module.forward_and_jacobian(q)
    oracle = PinocchioOracle(xml=xml)
    for i in range(q.shape[0]):
        q_i = q[i].numpy()
        expected_pose, expected_jacobian = oracle(module.joint_names, module.tip_names, "base", q_i)
        np.testing.assert_allclose(poses[i].numpy(), expected_pose[0], atol=1e-9, rtol=0)
        np.testing.assert_allclose(jacobians[i].numpy(), expected_jacobian[0], atol=1e-9, rtol=0)

        def reference_pose(q_vector):
            return pose(
                joints, "base", links[-1], joint_values(joints, module.joint_names, q_vector)
            )

        np.testing.assert_allclose(poses[i].numpy(), reference_pose(q_i), atol=1e-12, rtol=0)
        np.testing.assert_allclose(
            jacobians[i].numpy(), finite_difference_jacobian(reference_pose, q_i), atol=1e-7, rtol=0
        )


def test_mimic_joints_are_not_in_q_and_chains_resolve():
    joints = chain(
        dict(type="revolute", xyz=(0, 0, 0.2), axis=(0, 0, 1)),
        dict(type="revolute", xyz=(0.3, 0, 0), axis=(0, 1, 0), mimic=("j1", 2.0, 0.1)),
        dict(
            type="revolute", xyz=(0.3, 0, 0), axis=(0, 1, 0), mimic=("j2", -1.5, 0.2)
        ),  # a mimic of a mimic
    )
    module = compile_model(symkin.parse_urdf(urdf_text("m", LINKS[:4], joints)))
    assert module.joint_names == ("j1",)
    q = sample_q(module, 5)
    for i in range(5):
        values = joint_values(joints, module.joint_names, q[i].numpy())
        assert values["j3"] == pytest.approx(-1.5 * (2.0 * q[i, 0].item() + 0.1) + 0.2)
        np.testing.assert_allclose(
            module(q[i]).numpy(), pose(joints, "base", "c", values), atol=1e-12
        )


def test_q_order_follows_tips_in_the_order_given():
    # base -> a (j1) -> b (j2); base -> c (j3) -> d (j4)
    joints = [
        JointSpec("j1", "revolute", "base", "a", axis=(0, 0, 1)),
        JointSpec("j2", "revolute", "a", "b", xyz=(0.1, 0, 0), axis=(0, 1, 0)),
        JointSpec("j3", "revolute", "base", "c", xyz=(0, 0.2, 0), axis=(1, 0, 0)),
        JointSpec("j4", "prismatic", "c", "d", axis=(0, 0, 1)),
    ]
    model = symkin.parse_urdf(urdf_text("tree", LINKS, joints))
    forward = compile_model(model, tips=["b", "d"])
    backward = compile_model(model, tips=["d", "b"])
    assert forward.joint_names == ("j1", "j2", "j3", "j4")
    assert backward.joint_names == ("j3", "j4", "j1", "j2")
    assert forward.tip_names == ("b", "d") and backward.tip_names == ("d", "b")
    q = sample_q(forward, 4)
    swapped = q[:, [2, 3, 0, 1]]
    torch.testing.assert_close(forward(q), backward(swapped).flip(-3), rtol=0, atol=1e-12)
    # A tip's Jacobian has zero columns for joints on other branches.
    jacobian = forward.jacobian(q)
    assert (jacobian[:, 0, :, 2:] == 0).all() and (jacobian[:, 1, :, :2] == 0).all()
    assert as_tips(forward(q), 2).shape == (4, 2, 4, 4)


def test_right_angles_are_exact_but_near_misses_are_kept():
    exact = chain(dict(type="revolute", rpy=(1.57079632679, 0, 0), axis=(0, 0, 1)))
    near = chain(dict(type="revolute", rpy=(1.5708, 0, 0), axis=(0, 0, 1)))
    exact_pose = symkin.derive(symkin.parse_urdf(urdf_text("e", LINKS[:2], exact))).pose("a")
    near_pose = symkin.derive(symkin.parse_urdf(urdf_text("n", LINKS[:2], near))).pose("a")
    assert exact_pose[2, 2] == 0 and exact_pose[1, 2] == -1  # cos(π/2), -sin(π/2) exactly
    assert near_pose[2, 2] == pytest.approx(math.cos(1.5708), abs=0) and near_pose[2, 2] != 0


PLANAR_ARM = """
name = "planar"
convention = "standard"

[[joints]]
a = {l1}
alpha = 0
d = 0
theta = 0
mass = {m1}
com = [{c1}, 0, 0]

[[joints]]
a = {l2}
alpha = 0
d = 0
theta = 0
mass = {m2}
com = [{c2}, 0, 0]
"""


def test_planar_arm_center_of_mass_and_accelerations_by_hand(tmp_path):
    """Two links in a plane, by hand: DH masses sit at ``com`` in frame i (the link's far end),
    so link i's centre is (l_i + com_i) along it; the tip's acceleration with q̈ = 0 is
    centripetal, -Σ l_i ω_i² along each link; dJ/dt as differentiated on paper."""
    l1, l2, m1, m2, c1, c2 = 0.5, 0.3, 2.0, 1.0, -0.2, -0.1
    path = tmp_path / "planar.toml"
    path.write_text(PLANAR_ARM.format(l1=l1, l2=l2, m1=m1, m2=m2, c1=c1, c2=c2))
    model = symkin.load(str(path))
    module = compile_model(
        model, None, None, False, (symkin.center_of_mass(model), symkin.Velocities())
    )
    assert module.mass == m1 + m2
    q = sample_q(module, 6, seed=8)
    v = torch.randn(q.shape, generator=torch.Generator().manual_seed(8), dtype=torch.float64)
    t1, t12, w1, w12 = q[:, 0], q[:, 0] + q[:, 1], v[:, 0], v[:, 0] + v[:, 1]
    zero = torch.zeros_like(t1)

    def along(length, angle):
        return length * torch.stack([angle.cos(), angle.sin(), zero], -1)

    center_1 = along(l1 + c1, t1)
    center_2 = along(l1, t1) + along(l2 + c2, t12)
    com = (m1 * center_1 + m2 * center_2) / (m1 + m2)
    torch.testing.assert_close(module.center_of_mass(q), com, rtol=0, atol=1e-14)

    def perpendicular(length, angle):  # d(along)/d(angle)
        return length * torch.stack([-angle.sin(), angle.cos(), zero], -1)

    com_jacobian = torch.stack(
        [
            (
                m1 * perpendicular(l1 + c1, t1)
                + m2 * (perpendicular(l1, t1) + perpendicular(l2 + c2, t12))
            ),
            m2 * perpendicular(l2 + c2, t12),
        ],
        -1,
    ) / (m1 + m2)
    torch.testing.assert_close(module.center_of_mass_jacobian(q), com_jacobian, rtol=0, atol=1e-14)

    linear_rate = torch.stack(
        [
            -along(l1, t1) * w1[:, None] - along(l2, t12) * w12[:, None],
            -along(l2, t12) * w12[:, None],
        ],
        -1,
    )
    rate = torch.cat([linear_rate, torch.zeros_like(linear_rate)], -2)
    torch.testing.assert_close(module.jacobian_derivative(q, v), rate, rtol=0, atol=1e-14)
    centripetal = -along(l1, t1) * w1[:, None] ** 2 - along(l2, t12) * w12[:, None] ** 2
    bias = torch.cat([centripetal, torch.zeros_like(centripetal)], -1)
    torch.testing.assert_close(module.acceleration_bias(q, v), bias, rtol=0, atol=1e-14)
    velocity = torch.cat(
        [
            perpendicular(l1, t1) * w1[:, None] + perpendicular(l2, t12) * w12[:, None],
            torch.stack([zero, zero, w12], -1),
        ],
        -1,
    )
    torch.testing.assert_close(module.tip_velocity(q, v), velocity, rtol=0, atol=1e-14)


def test_planar_arm_dynamics_by_hand(tmp_path):
    """The two-link arm of every robotics textbook, gravity along −y in its plane: M(q), the
    Coriolis and centrifugal torques with h = −m₂l₁l_c2·sin q₂, and gravity, as written on paper.
    Link i's centre sits l_ci along it, so ``com`` is l_ci − l_i in DH frame i."""
    l1, l2, lc1, lc2, m1, m2, i1, i2, g = 0.5, 0.4, 0.2, 0.15, 2.0, 1.5, 0.03, 0.02, 9.81
    text = PLANAR_ARM.format(l1=l1, l2=l2, m1=m1, m2=m2, c1=lc1 - l1, c2=lc2 - l2)
    text = text.replace(
        f"com = [{lc1 - l1}, 0, 0]",
        f"com = [{lc1 - l1}, 0, 0]\ninertia = [{i1 / 2}, 0, 0, {i1 / 2}, 0, {i1}]",
    )
    text = text.replace(
        f"com = [{lc2 - l2}, 0, 0]",
        f"com = [{lc2 - l2}, 0, 0]\ninertia = [{i2 / 2}, 0, 0, {i2 / 2}, 0, {i2}]",
    )
    path = tmp_path / "planar.toml"
    path.write_text(text)
    model = symkin.load(str(path))
    module = compile_model(model, None, None, False, (symkin.rigid_bodies(model, (0.0, -g, 0.0)),))
    generator = torch.Generator().manual_seed(9)
    q, v, a = (torch.randn(5, 2, generator=generator, dtype=torch.float64) for _ in range(3))
    c2, s2 = q[:, 1].cos(), q[:, 1].sin()
    m11 = m1 * lc1**2 + m2 * (l1**2 + lc2**2 + 2 * l1 * lc2 * c2) + i1 + i2
    m12 = m2 * (lc2**2 + l1 * lc2 * c2) + i2
    m22 = torch.full_like(c2, m2 * lc2**2 + i2)
    matrix = torch.stack([torch.stack([m11, m12], -1), torch.stack([m12, m22], -1)], -2)
    torch.testing.assert_close(module.mass_matrix(q), matrix, rtol=0, atol=1e-14)
    h = -m2 * l1 * lc2 * s2
    coriolis = torch.stack([h * v[:, 1] ** 2 + 2 * h * v[:, 0] * v[:, 1], -h * v[:, 0] ** 2], -1)
    cos1, cos12 = q[:, 0].cos(), (q[:, 0] + q[:, 1]).cos()
    gravity = torch.stack(
        [(m1 * lc1 + m2 * l1) * g * cos1 + m2 * lc2 * g * cos12, m2 * lc2 * g * cos12], -1
    )
    torch.testing.assert_close(module.gravity_torques(q), gravity, rtol=0, atol=1e-13)
    torch.testing.assert_close(
        module.nonlinear_effects(q, v), coriolis + gravity, rtol=0, atol=1e-13
    )
    tau = (matrix @ a.unsqueeze(-1)).squeeze(-1) + coriolis + gravity
    torch.testing.assert_close(module.inverse_dynamics(q, v, a), tau, rtol=0, atol=1e-13)
    torch.testing.assert_close(module.forward_dynamics(q, v, tau), a, rtol=0, atol=1e-12)
    assert module.gravity == (0.0, -g, 0.0)
