"""Rigid-body dynamics against Pinocchio and MuJoCo, float64, 1e-9 relative to the torque scale:
inverse dynamics, the mass matrix, gravity, nonlinear effects and forward dynamics, fixed and
floating bases, mimic and prismatic joints; forward and inverse dynamics invert each other."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import PinocchioOracle, compile_file, compile_model, random_base_poses, robot_file

import symkin

# (file, floating): arms with a mimic finger and prismatic joints, a humanoid with 12 mimic
# joints, humanoids and quadrupeds on a free base.
CASES = [
    ("panda_description/urdf/panda.urdf", False),
    ("ur_description/urdf/ur5_robot.urdf", False),
    ("talos_data/robots/talos_full_v2.urdf", False),
    ("talos_data/robots/talos_full_v2.urdf", True),
    ("g1_description/urdf/g1_29dof_rev_1_0.urdf", True),
    ("solo_description/robots/solo12.urdf", True),
    ("a1_description/urdf/a1.urdf", True),
    ("kinova_description/robots/kinova.urdf", False),
]
IDS = [f"{c[0].split('/')[-1]}:{'floating' if c[1] else 'fixed'}" for c in CASES]


def compiled(relative: str, floating: bool):
    path = str(robot_file(relative))
    return path, compile_file(path, None, None, floating, (symkin.rigid_bodies(symkin.load(path)),))


def state(module, count: int, seed: int):
    """q, v, a (each (count, n)) and, floating, the base pose, twist and acceleration."""
    generator = torch.Generator().manual_seed(seed)
    lower, upper = module.lower.clamp(min=-1.5), module.upper.clamp(max=1.5)
    shape = (count, len(module.joint_names))
    q = lower + (upper - lower) * torch.rand(shape, generator=generator, dtype=torch.float64)
    v, a = (torch.randn(shape, generator=generator, dtype=torch.float64) for _ in range(2))
    if not module.floating_base:
        return q, v, a, None, None, None
    twist, twist_rate = (
        torch.randn(count, 6, generator=generator, dtype=torch.float64) for _ in range(2)
    )
    return q, v, a, random_base_poses(count, seed), twist, twist_rate


def close(got: np.ndarray, expected: np.ndarray) -> None:
    scale = max(1.0, float(np.abs(expected).max()))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9 * scale)


@pytest.mark.parametrize("relative, floating", CASES, ids=IDS)
def test_matches_pinocchio(relative, floating):
    path, module = compiled(relative, floating)
    oracle = PinocchioOracle(path, free_flyer=floating)
    q, v, a, base, twist, twist_rate = state(module, 3, seed=5)
    if floating:
        tau = module.inverse_dynamics(q, v, a, base, twist, twist_rate)
        matrix, gravity = module.mass_matrix(q, base), module.gravity_torques(q, base)
        bias = module.nonlinear_effects(q, v, base, twist)
        accelerations = module.forward_dynamics(q, v, tau, base, twist)
        expected_accelerations = torch.cat([twist_rate, a], -1)
    else:
        tau, matrix = module.inverse_dynamics(q, v, a), module.mass_matrix(q)
        gravity, bias = module.gravity_torques(q), module.nonlinear_effects(q, v)
        accelerations, expected_accelerations = module.forward_dynamics(q, v, tau), a
    size = len(module.joint_names) + (6 if floating else 0)
    assert tau.shape == (3, size) and matrix.shape == (3, size, size)
    close(accelerations.numpy(), expected_accelerations.numpy())
    for i in range(3):
        extra = (base[i].numpy(), twist[i].numpy(), twist_rate[i].numpy()) if floating else ()
        expected = oracle.dynamics(
            module.joint_names, q[i].numpy(), v[i].numpy(), a[i].numpy(), *extra
        )
        for got, want in zip((tau[i], matrix[i], gravity[i], bias[i]), expected, strict=True):
            close(got.numpy(), want)
    assert torch.equal(matrix, matrix.mT)
    assert torch.linalg.eigvalsh(matrix).min() > 0


@pytest.mark.parametrize(
    "relative, floating",
    [CASES[1], CASES[4], CASES[5], CASES[6]],
    ids=["ur5:fixed", "g1:floating", "solo12:floating", "a1:floating"],
)
def test_forward_dynamics_matches_pinocchios_aba(relative, floating):
    path, module = compiled(relative, floating)
    oracle = PinocchioOracle(path, free_flyer=floating)
    q, v, _, base, twist, _ = state(module, 3, seed=6)
    generator = torch.Generator().manual_seed(7)
    tau = 10 * torch.randn(
        3,
        len(module.joint_names) + (6 if floating else 0),
        generator=generator,
        dtype=torch.float64,
    )
    got = (
        module.forward_dynamics(q, v, tau, base, twist)
        if floating
        else module.forward_dynamics(q, v, tau)
    )
    for i in range(3):
        extra = (base[i].numpy(), twist[i].numpy()) if floating else ()
        close(
            got[i].numpy(),
            oracle.forward_dynamics(
                module.joint_names, q[i].numpy(), v[i].numpy(), tau[i].numpy(), *extra
            ),
        )


def test_an_impossible_inertia_in_a_real_file_is_an_error_naming_the_link():
    """ANYmal B's URDF gives its 'base' link the inertia diag(3e-6, 0, 0): no body has one
    principal moment larger than the other two together."""
    model = symkin.load(str(robot_file("anymal_b_simple_description/robots/anymal.urdf")))
    with pytest.raises(symkin.SymkinError, match="link 'base': .*triangle inequality"):
        symkin.rigid_bodies(model)


# --- MuJoCo ---------------------------------------------------------------------------------

mujoco = pytest.importorskip("mujoco")
gymnasium = pytest.importorskip("gymnasium")
GYMNASIUM = Path(gymnasium.__file__).parent / "envs/mujoco/assets"


@pytest.mark.parametrize(
    "name", ["reacher", "pusher", "ant", "humanoid", "inverted_double_pendulum"]
)
def test_matches_mujocos_rne_and_full_mass_matrix(name):
    """mj_rne (M·qacc + bias, no passive forces) and mj_fullM, with the armature set to zero. A
    free joint's linear velocity is in world axes: ν_mujoco = T·ν with T = diag(R, 1, 1), so
    M = Tᵀ·M_mujoco·T, τ = Tᵀ·τ_mujoco, and the world-axis acceleration gains R·(ω × v)."""
    path = GYMNASIUM / f"{name}.xml"
    robot = symkin.load_mjcf(path, notes=lambda message: None)
    module = compile_model(robot, None, None, None, (symkin.rigid_bodies(robot),))
    spec = mujoco.MjSpec.from_file(str(path))
    for joint in spec.joints:  # compiled in: MuJoCo caches the armature in its mass matrix
        joint.armature = 0
    m = spec.compile()
    d = mujoco.MjData(m)
    free = [j for j in range(m.njnt) if m.jnt_type[j] == mujoco.mjtJoint.mjJNT_FREE]
    q, v, a, base, twist, twist_rate = state(module, 3, seed=8)
    joints = [mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_JOINT, j) for j in module.joint_names]
    dofs = [int(m.jnt_dofadr[j]) for j in joints]
    for i in range(3):
        d.qpos[:] = m.qpos0
        d.qvel[:] = 0
        qacc = np.zeros(m.nv)
        for k, j in enumerate(joints):
            d.qpos[m.jnt_qposadr[j]] = q[i, k]
            d.qvel[m.jnt_dofadr[j]] = v[i, k]
            qacc[m.jnt_dofadr[j]] = a[i, k]
        T = np.eye(m.nv)
        if free:
            start = m.jnt_qposadr[free[0]]
            d.qpos[start : start + 7] = base[i].numpy()
            mujoco.mj_kinematics(m, d)
            R = d.xmat[m.jnt_bodyid[free[0]]].reshape(3, 3)
            linear, angular = twist[i, :3].numpy(), twist[i, 3:].numpy()
            d.qvel[:6] = np.r_[R @ linear, angular]
            qacc[:6] = np.r_[
                R @ (twist_rate[i, :3].numpy() + np.cross(angular, linear)),
                twist_rate[i, 3:].numpy(),
            ]
            T[:3, :3] = R
        mujoco.mj_forward(m, d)
        d.qacc[:] = qacc
        result = np.zeros(m.nv)
        mujoco.mj_rne(m, d, 1, result)
        full = np.zeros((m.nv, m.nv))
        mujoco.mj_fullM(m, d, full)
        columns = ([0, 1, 2, 3, 4, 5] if free else []) + dofs
        expected_tau = (T.T @ result)[columns]
        expected_matrix = (T.T @ full @ T)[np.ix_(columns, columns)]
        if free:
            got_tau = module.inverse_dynamics(q[i], v[i], a[i], base[i], twist[i], twist_rate[i])
            got_matrix = module.mass_matrix(q[i], base[i])
        else:
            got_tau, got_matrix = (
                module.inverse_dynamics(q[i], v[i], a[i]),
                module.mass_matrix(q[i]),
            )
        close(got_tau.numpy(), expected_tau)
        close(got_matrix.numpy(), expected_matrix)
