"""Ball joints (MJCF ``ball``, URDF ``spherical``): four entries of q holding a quaternion made unit
inside, three of v, the angular velocity in the child's axes. Checked against MuJoCo (poses,
Jacobians, velocities, dJ/dt, inverse dynamics, the mass matrix) and Pinocchio's spherical joint,
on the handwritten ragdoll of examples/ragdoll.xml: a ball with its anchor off the body's origin, a
hinge and a ball in one body, a ball at the end of a chain, sites as tips."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import REPO, compile_model, random_base_poses
from transforms import check_compiled_and_vmapped, check_exported, check_jax, check_numpy

import symkin
from symkin.tools.coordinates import integrated, tangents, with_unit_quaternions

mujoco = pytest.importorskip("mujoco")

FLOATING = (REPO / "examples/ragdoll.xml").read_text()
RAGDOLL = FLOATING.replace('<freejoint name="root"/>', "")  # the torso fixed in the world
TIPS = ("palm", "foot")


@pytest.fixture(scope="module", params=["fixed", "floating"])
def ragdoll(request, tmp_path_factory):
    """The compiled ragdoll (poses, velocities, dynamics) and its file."""
    path = tmp_path_factory.mktemp("ball") / f"ragdoll_{request.param}.xml"
    path.write_text(FLOATING if request.param == "floating" else RAGDOLL)
    model = symkin.load(path)
    outputs = (symkin.Velocities(), symkin.rigid_bodies(model))
    return compile_model(model, TIPS, None, None, outputs), path


class MujocoState:
    """MuJoCo (armature zero) at a random state, and the module's arguments for it: q from qpos
    with its quaternions scaled off unit (the module makes them unit, as MuJoCo does), v and a
    from qvel and qacc, and for a free body its pose, twist and twist rate in base axes."""

    def __init__(self, module, path, seed: int) -> None:
        spec = mujoco.MjSpec.from_file(str(path))
        for joint in spec.joints:
            joint.armature = 0
        self.m = m = spec.compile()
        self.d = d = mujoco.MjData(m)
        rng = np.random.default_rng(seed)
        d.qpos[:] = m.qpos0 + 0.5 * rng.standard_normal(m.nq)
        for j in range(m.njnt):
            if m.jnt_type[j] in (mujoco.mjtJoint.mjJNT_FREE, mujoco.mjtJoint.mjJNT_BALL):
                start = m.jnt_qposadr[j] + (3 if m.jnt_type[j] == mujoco.mjtJoint.mjJNT_FREE else 0)
                d.qpos[start : start + 4] /= np.linalg.norm(d.qpos[start : start + 4])
        d.qvel[:] = rng.standard_normal(m.nv)
        self.qacc = rng.standard_normal(m.nv)
        mujoco.mj_forward(m, d)
        self.q = torch.from_numpy(d.qpos[list(module.qpos_indices)])
        for _, start, _ in module.ball_joints:
            self.q[start : start + 4] *= rng.uniform(0.3, 3)
        self.v = torch.from_numpy(d.qvel[list(module.qvel_indices)].copy())
        self.a = torch.from_numpy(self.qacc[list(module.qvel_indices)])
        self.columns = list(module.qvel_indices)
        self.T = np.eye(
            m.nv
        )  # MuJoCo's free joint moves linearly in world axes, symkin's base in base axes
        self.base: tuple[torch.Tensor, ...] = ()
        if module.floating_base:
            R = d.xmat[1].reshape(3, 3)
            linear, angular = R.T @ d.qvel[:3], d.qvel[3:6]
            twist = torch.from_numpy(np.r_[linear, angular])
            rate = np.r_[R.T @ self.qacc[:3] - np.cross(angular, linear), self.qacc[3:6]]
            self.base = (torch.from_numpy(d.qpos[:7].copy()), twist, torch.from_numpy(rate))
            self.T[:3, :3] = R
            self.columns = [0, 1, 2, 3, 4, 5, *self.columns]

    def site(self, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The site's pose (4, 4), its Jacobian, dJ/dt (6, nv, base axes) and velocity (6,)."""
        m, d = self.m, self.d
        site = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_SITE, name)
        X = np.eye(4)
        X[:3, :3], X[:3, 3] = d.site_xmat[site].reshape(3, 3), d.site_xpos[site]
        position, rotation = np.zeros((3, m.nv)), np.zeros((3, m.nv))
        mujoco.mj_jacSite(m, d, position, rotation, site)
        jacobian = np.vstack([position, rotation])
        mujoco.mj_jacDot(m, d, position, rotation, d.site_xpos[site], m.site_bodyid[site])
        rate = np.vstack([position, rotation])
        return X, (jacobian @ self.T)[:, self.columns], rate[:, self.columns], jacobian @ d.qvel


def test_poses_jacobians_and_velocities_match_mujoco(ragdoll):
    module, path = ragdoll
    assert (module.nq, module.nv) == (len(module.joint_names), len(module.velocity_names))
    assert module.joint_names[:5] == (
        "shoulder:qw",
        "shoulder:qx",
        "shoulder:qy",
        "shoulder:qz",
        "elbow",
    )
    assert module.velocity_names[:4] == ("shoulder:wx", "shoulder:wy", "shoulder:wz", "elbow")
    assert [name for name, _, _ in module.ball_joints] == ["shoulder", "wrist", "hip"]
    for seed in range(3):
        state = MujocoState(module, path, seed)
        base, twist = state.base[:1], state.base[1:2]
        poses, jacobians = module.forward_and_jacobian(state.q, *base)
        velocity = module.tip_velocity(state.q, state.v, *base, *twist)
        rates = module.jacobian_derivative(state.q, state.v, *base, *twist)
        for t, tip in enumerate(TIPS):
            X, J, J_rate, V = state.site(tip)
            np.testing.assert_allclose(poses[t].numpy(), X, atol=1e-12)
            np.testing.assert_allclose(jacobians[t].numpy(), J, atol=1e-12)
            np.testing.assert_allclose(velocity[t].numpy(), V, atol=1e-12)
            # dJ/dt: MuJoCo's free-joint columns are world-axis ones; the joints' compare alike
            np.testing.assert_allclose(
                rates[t, :, -module.nv :].numpy(), J_rate[:, -module.nv :], atol=1e-12
            )


def test_inverse_dynamics_and_mass_matrix_match_mujoco(ragdoll):
    """mj_rne (M·qacc + bias) and mj_fullM, in symkin's base axes for the free body."""
    module, path = ragdoll
    for seed in range(3):
        state = MujocoState(module, path, seed)
        m, d = state.m, state.d
        d.qacc[:] = state.qacc
        torques = np.zeros(m.nv)
        mujoco.mj_rne(m, d, 1, torques)
        full = np.zeros((m.nv, m.nv))
        mujoco.mj_fullM(m, d, full)
        columns, T = state.columns, state.T
        base = state.base[:1]
        got = module.inverse_dynamics(state.q, state.v, state.a, *base, *state.base[1:])
        np.testing.assert_allclose(got.numpy(), (T.T @ torques)[columns], atol=1e-10)
        np.testing.assert_allclose(
            module.mass_matrix(state.q, *base).numpy(),
            (T.T @ full @ T)[np.ix_(columns, columns)],
            atol=1e-12,
        )
        accelerations = module.forward_dynamics(state.q, state.v, got, *base, *state.base[1:2])
        expected = torch.cat([state.base[2], state.a]) if base else state.a
        np.testing.assert_allclose(accelerations.numpy(), expected.numpy(), atol=1e-9)


SPHERICAL = """<robot name="shoulder">
  <link name="base"/><link name="upper"/><link name="lower"/><link name="hand"/>
  <joint name="turn" type="revolute">
    <parent link="base"/><child link="upper"/><origin xyz="0 0 0.3" rpy="0.1 0.2 0.3"/>
    <axis xyz="0 0 1"/><limit lower="-2" upper="2" effort="1" velocity="1"/>
  </joint>
  <joint name="shoulder" type="spherical">
    <parent link="upper"/><child link="lower"/><origin xyz="0.1 0 0.2" rpy="0.4 -0.2 0.1"/>
  </joint>
  <joint name="elbow" type="continuous">
    <parent link="lower"/><child link="hand"/><origin xyz="0.3 0.05 0" rpy="0 0 0"/>
    <axis xyz="0 1 0"/>
  </joint>
</robot>"""


def test_a_urdf_spherical_joint_matches_pinocchios_spherical_joint(tmp_path):
    """Pinocchio's URDF parser does not read ``spherical``: its model is built joint by joint from
    the same placements, with JointModelSpherical (q as x, y, z, w; v the angular velocity in the
    child frame)."""
    pin = pytest.importorskip("pinocchio")
    path = tmp_path / "shoulder.urdf"
    path.write_text(SPHERICAL)
    module = compile_model(symkin.load(path), ("hand",))
    assert module.joint_names == (
        "turn",
        "shoulder:qw",
        "shoulder:qx",
        "shoulder:qy",
        "shoulder:qz",
        "elbow",
    )
    oracle = pin.Model()
    placement = pin.SE3(pin.rpy.rpyToMatrix(0.1, 0.2, 0.3), np.array([0, 0, 0.3]))
    turn = oracle.addJoint(0, pin.JointModelRZ(), placement, "turn")
    placement = pin.SE3(pin.rpy.rpyToMatrix(0.4, -0.2, 0.1), np.array([0.1, 0, 0.2]))
    shoulder = oracle.addJoint(turn, pin.JointModelSpherical(), placement, "shoulder")
    placement = pin.SE3(np.eye(3), np.array([0.3, 0.05, 0]))
    elbow = oracle.addJoint(shoulder, pin.JointModelRY(), placement, "elbow")
    data = oracle.createData()
    generator = torch.Generator().manual_seed(4)
    q = torch.randn(5, 6, generator=generator, dtype=torch.float64)
    poses, jacobians = module.forward_and_jacobian(q)
    for i in range(5):
        quaternion = q[i, 1:5] / q[i, 1:5].norm()
        configuration = np.r_[q[i, 0], quaternion[1:], quaternion[0], q[i, 5]].astype(float)
        pin.forwardKinematics(oracle, data, configuration)
        pin.computeJointJacobians(oracle, data, configuration)
        np.testing.assert_allclose(poses[i].numpy(), data.oMi[elbow].homogeneous, atol=1e-12)
        expected = pin.getJointJacobian(oracle, data, elbow, pin.LOCAL_WORLD_ALIGNED)
        np.testing.assert_allclose(jacobians[i].numpy(), expected, atol=1e-12)


def test_a_zero_quaternion_is_the_identity_and_gradients_are_finite(ragdoll):
    module, _ = ragdoll
    base = (
        (torch.tensor([0.0, 0, 1, 1, 0, 0, 0], dtype=torch.float64),)
        if module.floating_base
        else ()
    )
    identity = torch.zeros(module.nq, dtype=torch.float64)
    for _, start, _ in module.ball_joints:
        identity[start] = 1.0
    zero = identity.clone()
    zero[module.ball_joints[0][1]] = 0.0  # the shoulder's quaternion all zero
    q = zero.clone().requires_grad_()
    poses = module(q, *base)
    torch.testing.assert_close(poses, module(identity, *base), rtol=0, atol=0)
    torch.testing.assert_close(with_unit_quaternions(module, zero), identity, rtol=0, atol=0)
    poses.sum().backward()
    assert torch.isfinite(q.grad).all()


def _arguments(module, method: str, batch: int, seed: int) -> tuple[torch.Tensor, ...]:
    """Random arguments of ``method``: q (..., nq) off unit, v and a (..., nv), the base's."""
    generator = torch.Generator().manual_seed(seed)

    def normal(*shape):
        return torch.randn(shape, generator=generator, dtype=torch.float64)

    q, v, a = normal(batch, module.nq), normal(batch, module.nv), normal(batch, module.nv)
    if not module.floating_base:
        return {"forward": (q,), "jacobian": (q,), "inverse_dynamics": (q, v, a)}[method]
    base = random_base_poses(batch, seed)
    twist, rate = normal(batch, 6), normal(batch, 6)
    arguments = {
        "forward": (q, base),
        "jacobian": (q, base),
        "inverse_dynamics": (q, v, a, base, twist, rate),
    }
    return arguments[method]


METHODS = ("forward", "jacobian", "inverse_dynamics")


@pytest.mark.parametrize("method", METHODS)
def test_gradcheck(ragdoll, method):
    module, _ = ragdoll
    arguments = [x.requires_grad_() for x in _arguments(module, method, 2, seed=2)]
    assert torch.autograd.gradcheck(getattr(module, method), arguments)


@pytest.mark.slow
@pytest.mark.parametrize("method", METHODS)
def test_compile_vmap_and_export(ragdoll, method):
    module, _ = ragdoll
    function = getattr(module, method)
    check_compiled_and_vmapped(function, _arguments(module, method, 3, seed=2))
    check_exported(module, method, lambda size: _arguments(module, method, size, seed=size))


def test_numpy_and_jax_modules_agree(ragdoll):
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    module, path = ragdoll
    model = symkin.load(path)
    kinematics = symkin.derive(
        model, TIPS, outputs=(symkin.Velocities(), symkin.rigid_bodies(model))
    )
    numpy_module, jax_module = (
        symkin.load_module(symkin.generate(kinematics, backend=backend))
        for backend in ("numpy", "jax")
    )
    assert (numpy_module.nq, numpy_module.nv) == (module.nq, module.nv)
    assert jax_module.ball_joints == module.ball_joints
    for method in METHODS:
        arguments = _arguments(module, method, 3, seed=5)
        check_numpy(getattr(numpy_module, method), getattr(module, method), arguments)
    check_jax(jax_module.jacobian, module.jacobian, _arguments(module, "jacobian", 3, seed=6))


def test_ik_turns_ball_joints_and_keeps_their_quaternions_unit(ragdoll):
    """A step in v moves q as MuJoCo integrates it (the Jacobian predicts the motion), and solve_ik
    reaches reachable targets of the palm through two ball joints and a hinge."""
    module, _ = ragdoll
    base = (random_base_poses(16, seed=1),) if module.floating_base else ()
    generator = torch.Generator().manual_seed(0)
    q = torch.randn(16, module.nq, generator=generator, dtype=torch.float64)
    q = with_unit_quaternions(module, q)
    poses, jacobians = module.forward_and_jacobian(q, *base)
    step = 1e-7 * torch.randn(16, module.nv, generator=generator, dtype=torch.float64)
    moved = module(integrated(module, q, step), *base)
    predicted = (jacobians[:, 0, :3, -module.nv :] @ step.unsqueeze(-1)).squeeze(-1)
    torch.testing.assert_close(
        moved[:, 0, :3, 3] - poses[:, 0, :3, 3], predicted, rtol=1e-5, atol=1e-13
    )
    # Each tangent is orthogonal to its unit quaternion: the module's normalisation keeps it.
    directions = tangents(module, q)
    for _, start, _ in module.ball_joints:
        assert (directions[..., start : start + 4] * q[:, None, start : start + 4]).sum(
            -1
        ).abs().max() < 1e-15
    reachable = torch.randn(32, module.nq, generator=generator, dtype=torch.float64)
    reachable = with_unit_quaternions(module, reachable)
    base = (random_base_poses(32, seed=2),) if module.floating_base else ()
    targets = module(reachable.clamp(module.lower, module.upper), *base)[:, 0]
    result = symkin.solve_ik(module, targets, tip="palm", generator=generator)
    assert result.success.all()
    for _, start, _ in module.ball_joints:
        norms = result.q[:, start : start + 4].norm(dim=-1)
        torch.testing.assert_close(norms, torch.ones_like(norms))


def test_a_ball_joint_cannot_be_mimicked_or_mimic(tmp_path):
    path = tmp_path / "mimic.urdf"
    path.write_text(
        SPHERICAL.replace(
            '<axis xyz="0 1 0"/>\n  </joint>\n</robot>',
            '<axis xyz="0 1 0"/><mimic joint="shoulder"/>\n  </joint>\n</robot>',
        )
    )
    with pytest.raises(symkin.SymkinError, match="mimics ball joint 'shoulder'"):
        symkin.derive(symkin.load(path), ("hand",))
    path.write_text(
        SPHERICAL.replace('type="spherical">', 'type="spherical"><mimic joint="turn"/>')
    )
    with pytest.raises(symkin.SymkinError, match="spherical joint cannot mimic"):
        symkin.load(path)


def test_cli_describes_compiles_and_converts_ball_joints(tmp_path, capsys):
    """info counts a ball joint's three degrees of freedom; compile writes a module with nq and nv;
    convert writes it as URDF's spherical joint, which reads back to the same kinematics."""
    from symkin.cli import main

    path = tmp_path / "ragdoll.xml"
    path.write_text(
        RAGDOLL.replace('<joint name="knee" type="slide" axis="0 0 1" range="-0.1 0.1"/>', "")
    )
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "shoulder: torso -> upper_arm/shoulder, ball, a unit quaternion in q" in out
    assert "DOF: 11 (q has 14 entries)" in out
    assert main(["show", str(path), "--tip", "foot"]) == 0
    shown = capsys.readouterr().out
    assert "q2=hip:qw" in shown and "its quaternion, made unit before these formulas" in shown
    output = tmp_path / "ragdoll_module.py"
    assert (
        main(["compile", str(path), "--tip", "palm", "--tip", "foot", "-o", str(output), "-q"]) == 0
    )
    module = symkin.module_class(symkin.load_module(output.read_text()))().double()
    assert (module.nq, module.nv) == (14, 11)
    assert main(["convert", str(path), "-o", str(tmp_path / "ragdoll.urdf")]) == 0
    converted = symkin.load(tmp_path / "ragdoll.urdf")
    assert converted.joint("shoulder").type == "ball"
    again = compile_model(converted, TIPS)
    q = torch.randn(5, 14, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    torch.testing.assert_close(
        again.forward_and_jacobian(q), module.forward_and_jacobian(q), rtol=0, atol=1e-12
    )


def test_a_base_beyond_ball_joints_crosses_them_upward(tmp_path):
    """The foot in the palm's frame: the path goes up through the wrist's and the shoulder's balls.
    The pose is the world module's X_world_palm⁻¹·X_world_foot; the Jacobian and dJ/dt agree with
    central differences along each entry of v, and in time along v, stepping q as MuJoCo does."""
    path = tmp_path / "ragdoll.xml"
    path.write_text(RAGDOLL)
    model = symkin.load(path)
    world = compile_model(model, TIPS)
    palm = compile_model(model, ("foot",), "palm", None, (symkin.Velocities(),))
    assert palm.joint_names == world.joint_names
    generator = torch.Generator().manual_seed(7)
    q = torch.randn(4, world.nq, generator=generator, dtype=torch.float64)
    q = with_unit_quaternions(world, q)
    X = world(q)
    pose, jacobian = palm.forward_and_jacobian(q)
    torch.testing.assert_close(pose, torch.linalg.inv(X[:, 0]) @ X[:, 1], rtol=0, atol=1e-12)
    step = 1e-6
    for k, direction in enumerate(torch.eye(palm.nv, dtype=torch.float64)):
        ahead, behind = (palm(integrated(palm, q, sign * step * direction)) for sign in (1, -1))
        rate = (ahead - behind) / (2 * step)
        spin = rate[:, :3, :3] @ pose[:, :3, :3].mT
        column = torch.cat(
            [rate[:, :3, 3], torch.stack([spin[:, 2, 1], spin[:, 0, 2], spin[:, 1, 0]], -1)], -1
        )
        torch.testing.assert_close(jacobian[..., k], column, rtol=0, atol=1e-8)
    v = torch.randn(4, palm.nv, generator=generator, dtype=torch.float64)
    ahead, behind = (palm.jacobian(integrated(palm, q, sign * step * v)) for sign in (1, -1))
    torch.testing.assert_close(
        palm.jacobian_derivative(q, v), (ahead - behind) / (2 * step), rtol=0, atol=1e-8
    )


def test_collision_spheres_ride_on_ball_jointed_links(tmp_path):
    """The ragdoll's capsules covered with spheres (the pairs to check sampled over uniform
    rotations of its balls): each sphere's centre is where MuJoCo puts that point of its body, and
    each pair's distance is the centres' distance less the radii."""
    model = symkin.load(REPO / "examples/ragdoll.xml")
    output, _ = symkin.collision_output(model, tolerance=0.03, samples=200)
    assert {link for link, _, _ in output.spheres} >= {"upper_arm", "forearm", "thigh", "shin"}
    module = compile_model(model, TIPS, None, None, (output,))
    state = MujocoState(module, REPO / "examples/ragdoll.xml", seed=5)
    spheres = module.collision_spheres(state.q, state.base[0])
    for (link, centre, radius), got in zip(output.spheres, spheres, strict=True):
        body = mujoco.mj_name2id(state.m, mujoco.mjtObj.mjOBJ_BODY, link)
        rotation = state.d.xmat[body].reshape(3, 3)
        expected = state.d.xpos[body] + rotation @ np.array(centre)
        np.testing.assert_allclose(got[:3].numpy(), expected, atol=1e-12)
        assert got[3].item() == pytest.approx(radius)
    distances = module.self_collision_distances(state.q)
    centres, radii = spheres[:, :3], spheres[:, 3]
    every = torch.cdist(centres, centres) - radii[:, None] - radii[None, :]
    links = [link for link, _, _ in output.spheres]
    for (first, second), distance in zip(output.pairs, distances, strict=True):
        rows = [i for i, link in enumerate(links) if link == first]
        columns = [j for j, link in enumerate(links) if link == second]
        nearest = every[rows][:, columns].min()
        assert distance.item() == pytest.approx(nearest.item(), abs=1e-12)
