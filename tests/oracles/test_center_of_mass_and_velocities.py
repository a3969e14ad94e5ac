"""The centre of mass and velocity-level kinematics against Pinocchio and MuJoCo, float64, 1e-9:
CoM and its Jacobian, tip velocities, the Jacobian's time derivative and the acceleration bias,
for fixed and floating bases, mimic and prismatic joints; dJ/dt also against central differences
in time of Pinocchio's Jacobian."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import (
    PinocchioOracle,
    compile_file,
    compile_model,
    random_base_poses,
    robot_file,
    sample_q,
)
from mjcf_oracle import MujocoOracle

import symkin

mujoco = pytest.importorskip("mujoco")
gymnasium = pytest.importorskip("gymnasium")
GYMNASIUM = Path(gymnasium.__file__).parent / "envs/mujoco/assets"

# (file, floating): arms, a humanoid with 12 mimic joints, humanoids and quadrupeds on a free base.
COM_CASES = [
    ("panda_description/urdf/panda.urdf", False),
    ("ur_description/urdf/ur5_robot.urdf", False),
    ("talos_data/robots/talos_full_v2.urdf", False),
    ("talos_data/robots/talos_full_v2.urdf", True),
    ("g1_description/urdf/g1_29dof_rev_1_0.urdf", True),
    ("solo_description/robots/solo12.urdf", True),
    ("anymal_b_simple_description/robots/anymal.urdf", True),
    ("anymal_b_simple_description/robots/anymal.urdf", False),
]


def compiled(relative: str, floating: bool, tips=None):
    path = str(robot_file(relative))
    outputs = (symkin.center_of_mass(symkin.load(path)), symkin.Velocities())
    return path, compile_file(path, tips, None, floating, outputs)


def arguments(module, count: int, seed: int):
    """q, v, base pose and base twist for a module (the base ones None for a fixed base)."""
    q = sample_q(module, count, seed=seed)
    generator = torch.Generator().manual_seed(seed)
    v = torch.randn(q.shape, generator=generator, dtype=torch.float64)
    if not module.floating_base:
        return q, v, None, None
    twist = torch.randn(count, 6, generator=generator, dtype=torch.float64)
    return q, v, random_base_poses(count, seed=seed), twist


@pytest.mark.parametrize(
    "relative, floating", COM_CASES, ids=[f"{c[0].split('/')[-1]}:{c[1]}" for c in COM_CASES]
)
def test_center_of_mass_matches_pinocchio(relative, floating):
    path, module = compiled(relative, floating)
    oracle = PinocchioOracle(path, free_flyer=floating)
    q, _, base, _ = arguments(module, 5, seed=3)
    call = (q, base) if floating else (q,)
    com, jacobian = module.center_of_mass(*call), module.center_of_mass_jacobian(*call)
    torch.testing.assert_close(module.center_of_mass_and_jacobian(*call), (com, jacobian))
    assert com.shape == (5, 3) and jacobian.shape == (5, 3, (6 if floating else 0) + q.shape[-1])
    for i in range(5):
        pose = base[i].numpy() if floating else None
        expected_com, expected_jacobian = oracle.center_of_mass(
            module.joint_names, q[i].numpy(), pose
        )
        np.testing.assert_allclose(com[i].numpy(), expected_com, rtol=0, atol=1e-9)
        np.testing.assert_allclose(jacobian[i].numpy(), expected_jacobian, rtol=0, atol=1e-9)
    model = symkin.load(path)
    total = sum(inertial.mass for _, inertial in model.inertials)
    assert module.mass == pytest.approx(total, rel=1e-12)


@pytest.mark.parametrize(
    "relative, base",
    [
        ("talos_data/robots/talos_full_v2.urdf", "torso_2_link"),
        ("panda_description/urdf/panda.urdf", "panda_link4"),
    ],
)
def test_center_of_mass_relative_to_any_link(relative, base):
    """Every link counts, those above the base too: the CoM in the base link's frame,
    c_b = R_world_baseᵀ (c - p_base), and its Jacobian as for a tip at c."""
    path = str(robot_file(relative))
    model = symkin.load(path)
    module = compile_file(path, None, base, False, (symkin.center_of_mass(model),))
    oracle = PinocchioOracle(path)
    pin = oracle.pin
    q, _, _, _ = arguments(module, 3, seed=4)
    com, jacobian = module.center_of_mass(q), module.center_of_mass_jacobian(q)
    for i in range(3):
        com_world, J_com = oracle.center_of_mass(module.joint_names, q[i].numpy())
        frame = oracle.model.getFrameId(base)
        X_world_base = oracle.data.oMf[frame]
        J_world_base = oracle.columns(
            module.joint_names,
            pin.getFrameJacobian(
                oracle.model, oracle.data, frame, pin.ReferenceFrame.LOCAL_WORLD_ALIGNED
            ),
        )
        lever = com_world - X_world_base.translation
        linear = J_com - J_world_base[:3] + np.cross(lever, J_world_base[3:], axis=0)
        R = X_world_base.rotation
        np.testing.assert_allclose(com[i].numpy(), R.T @ lever, rtol=0, atol=1e-9)
        np.testing.assert_allclose(jacobian[i].numpy(), R.T @ linear, rtol=0, atol=1e-9)


VELOCITY_CASES = [
    ("panda_description/urdf/panda.urdf", False, ("panda_hand_tcp", "panda_leftfinger")),
    ("tiago_description/robots/tiago_no_hand.urdf", False, ("arm_tool_link", "head_2_link")),
    ("talos_data/robots/talos_full_v2.urdf", False, None),
    ("g1_description/urdf/g1_29dof_rev_1_0.urdf", True, None),
    ("solo_description/robots/solo12.urdf", True, None),
]


@pytest.mark.parametrize(
    "relative, floating, tips",
    VELOCITY_CASES,
    ids=[f"{c[0].split('/')[-1]}:{c[1]}" for c in VELOCITY_CASES],
)
def test_tip_velocities_and_jacobian_rates_match_pinocchio(relative, floating, tips):
    path, module = compiled(relative, floating, tips)
    oracle = PinocchioOracle(path, free_flyer=floating)
    q, v, base, twist = arguments(module, 4, seed=7)
    call = (q, v, base, twist) if floating else (q, v)
    tips_count = len(module.tip_names)
    velocity, bias = module.tip_velocity(*call), module.acceleration_bias(*call)
    torch.testing.assert_close(module.tip_velocity_and_bias(*call), (velocity, bias))
    rates = module.jacobian_derivative(*call)
    if tips_count == 1:
        velocity, bias, rates = velocity[:, None], bias[:, None], rates[:, None]
    assert rates.shape[-2:] == module.jacobian(*((q, base) if floating else (q,))).shape[-2:]
    for i in range(4):
        base_pose = base[i].numpy() if floating else None
        base_twist = twist[i].numpy() if floating else None
        expected = oracle.motion(
            module.joint_names, module.tip_names, q[i].numpy(), v[i].numpy(), base_pose, base_twist
        )
        for got, want in zip((velocity[i], bias[i], rates[i]), expected, strict=True):
            np.testing.assert_allclose(got.numpy(), want, rtol=0, atol=1e-9)


def test_jacobian_rate_is_the_time_derivative_of_pinocchios_jacobian():
    """dJ/dt by central differences in time of the oracle's Jacobian along q̇ = v, to 1e-6."""
    path, module = compiled("g1_description/urdf/g1_29dof_rev_1_0.urdf", False, None)
    oracle = PinocchioOracle(path)
    q, v, _, _ = arguments(module, 2, seed=11)
    rates = module.jacobian_derivative(q, v).numpy()
    step = 1e-6
    for i in range(2):

        def jacobian(t, i=i):
            x = (q[i] + t * v[i]).numpy()
            return oracle(module.joint_names, module.tip_names, module.base_name, x)[1]

        numeric = (jacobian(step) - jacobian(-step)) / (2 * step)
        np.testing.assert_allclose(rates[i], numeric, rtol=0, atol=1e-6)


# --- MuJoCo -----------------------------------------------------------------------------------

MUJOCO_FILES = ["ant", "half_cheetah", "hopper", "humanoid", "walker2d", "reacher", "pusher"]


def mujoco_state(path: Path):
    model = mujoco.MjModel.from_xml_path(str(path))
    return model, mujoco.MjData(model)


@pytest.mark.parametrize("name", MUJOCO_FILES)
def test_center_of_mass_matches_mujocos_subtree_com(name):
    path = GYMNASIUM / f"{name}.xml"
    robot = symkin.load_mjcf(path, notes=lambda message: None)
    module = compile_model(robot, None, None, None, (symkin.center_of_mass(robot),))
    m, d = mujoco_state(path)
    free = [j for j in range(m.njnt) if m.jnt_type[j] == 0]
    root = int(m.jnt_bodyid[free[0]]) if free else 0
    q, _, base, _ = arguments(module, 4, seed=5)
    call = (q, base) if free else (q,)
    com, jacobian = module.center_of_mass(*call), module.center_of_mass_jacobian(*call)
    for i in range(4):
        _set_state(m, d, module, q[i].numpy(), base[i].numpy() if free else None)
        expected = np.zeros((3, m.nv))
        mujoco.mj_jacSubtreeCom(m, d, expected, root)
        np.testing.assert_allclose(com[i].numpy(), d.subtree_com[root], rtol=0, atol=1e-9)
        got = jacobian[i].numpy()
        if free:  # MuJoCo's free joint moves linearly in world axes, symkin's base in base axes
            R = d.xmat[root].reshape(3, 3)
            np.testing.assert_allclose(got[:, :3], expected[:, :3] @ R, rtol=0, atol=1e-9)
            np.testing.assert_allclose(got[:, 3:6], expected[:, 3:6], rtol=0, atol=1e-9)
        np.testing.assert_allclose(
            got[:, -len(module.joint_names) :], _joint_columns(m, module, expected), atol=1e-9
        )
    assert module.mass == pytest.approx(float(m.body_subtreemass[root]), rel=1e-12)


@pytest.mark.parametrize("name", ["reacher", "pusher", "humanoid", "ant"])
def test_jacobian_rate_matches_mujocos_jac_dot(name):
    """mj_jacDot of the tips' bodies; for a free robot the joints' columns and the base's angular
    ones (MuJoCo's free joint moves linearly in world axes: those columns are not symkin's)."""
    path = GYMNASIUM / f"{name}.xml"
    robot = symkin.load_mjcf(path, notes=lambda message: None)
    module = compile_model(robot, None, None, None, (symkin.Velocities(),))
    m, d = mujoco_state(path)
    free = [j for j in range(m.njnt) if m.jnt_type[j] == 0]
    q, v, base, twist = arguments(module, 3, seed=9)
    call = (q, v, base, twist) if free else (q, v)
    rates = module.jacobian_derivative(*call)
    if len(module.tip_names) == 1:
        rates = rates[:, None]
    for i in range(3):
        _set_state(m, d, module, q[i].numpy(), base[i].numpy() if free else None)
        qvel = np.zeros(m.nv)
        for k, joint in enumerate(module.joint_names):
            qvel[m.jnt_dofadr[mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_JOINT, joint)]] = v[i, k]
        if free:
            R = d.xmat[m.jnt_bodyid[free[0]]].reshape(3, 3)
            qvel[:3] = R @ twist[i, :3].numpy()  # world-axis linear velocity of the free body
            qvel[3:6] = twist[i, 3:].numpy()
        d.qvel[:] = qvel
        mujoco.mj_forward(m, d)
        for t, tip in enumerate(module.tip_names):
            body = MujocoOracle(path)._id(mujoco.mjtObj.mjOBJ_BODY, tip, "body")
            position, rotation = np.zeros((3, m.nv)), np.zeros((3, m.nv))
            mujoco.mj_jacDot(m, d, position, rotation, d.xpos[body], body)
            expected = np.vstack([position, rotation])
            got = rates[i, t].numpy()
            np.testing.assert_allclose(
                got[:, -len(module.joint_names) :], _joint_columns(m, module, expected), atol=1e-9
            )
            if free:
                np.testing.assert_allclose(got[:, 3:6], expected[:, 3:6], atol=1e-9)


def _set_state(m, d, module, q: np.ndarray, base: np.ndarray | None) -> None:
    d.qpos[:] = m.qpos0
    for value, joint in zip(q, module.joint_names, strict=True):
        d.qpos[m.jnt_qposadr[mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_JOINT, joint)]] = value
    free = [j for j in range(m.njnt) if m.jnt_type[j] == 0]
    if free:
        d.qpos[m.jnt_qposadr[free[0]] : m.jnt_qposadr[free[0]] + 7] = base
    d.qvel[:] = 0
    mujoco.mj_forward(m, d)


def _joint_columns(m, module, jacobian: np.ndarray) -> np.ndarray:
    """MuJoCo's columns of the module's joints, in q order."""
    columns = [
        m.jnt_dofadr[mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_JOINT, j)] for j in module.joint_names
    ]
    return jacobian[:, columns]
