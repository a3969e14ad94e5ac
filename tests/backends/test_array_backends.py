"""The JAX and NumPy backends: the same robots as the torch backend against Pinocchio, each
library's own transformations, dtypes, and modules that import only their library."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
from helpers import PINOCCHIO_CASES as CASES
from helpers import PinocchioOracle, as_tips, compile_file, robot_file, sample_q

import symkin

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402

BACKENDS = ("jax", "numpy")


@functools.cache
def array_module(backend: str, path: str, tips: tuple[str, ...] | None = None, base=None):
    kinematics = symkin.derive(symkin.load(path), tips, base, notes=lambda message: None)
    return symkin.load_module(symkin.generate(kinematics, backend=backend))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "relative, tips, base", CASES, ids=[f"{c[0].split('/')[-1]}:{c[1] or 'leaves'}" for c in CASES]
)
def test_matches_pinocchio_and_the_torch_module(backend, relative, tips, base):
    path = str(robot_file(relative))
    module = array_module(backend, path, tips, base)
    reference = compile_file(path, tips, base)
    assert module.joint_names == reference.joint_names and module.tip_names == reference.tip_names
    q = sample_q(reference, batch=8, seed=2)
    poses, jacobians = module.forward_and_jacobian(q.numpy())
    torch_poses, torch_jacobians = reference.forward_and_jacobian(q)
    np.testing.assert_allclose(np.asarray(poses), torch_poses.numpy(), atol=1e-12, rtol=0)
    np.testing.assert_allclose(np.asarray(jacobians), torch_jacobians.numpy(), atol=1e-12, rtol=0)
    oracle = PinocchioOracle(path)
    poses = as_tips(torch_poses.new_tensor(np.asarray(poses)), len(module.tip_names)).numpy()
    jacobians = torch_jacobians.new_tensor(np.asarray(jacobians))
    jacobians = as_tips(jacobians, len(module.tip_names)).numpy()
    for i in range(0, 8, 3):
        expected_pose, expected_jacobian = oracle(
            module.joint_names, module.tip_names, module.base_name, q[i].numpy()
        )
        np.testing.assert_allclose(poses[i], expected_pose, rtol=0, atol=1e-9)
        np.testing.assert_allclose(jacobians[i], expected_jacobian, rtol=0, atol=1e-9)


@pytest.fixture(scope="module")
def hand():
    """Two fingertips of the Allegro hand: a small tree, so that JAX's compilations stay quick."""
    path = str(robot_file("allegro_hand_description/urdf/allegro_right_hand.urdf"))
    return array_module("jax", path, ("link_3.0_tip", "link_15.0_tip"))


def test_jit_vmap_grad_and_jacfwd(hand):
    n = len(hand.joint_names)
    q = jnp.asarray(np.random.default_rng(0).uniform(-0.3, 0.3, (5, n)))
    eager_pose, eager_jacobian = hand.forward_and_jacobian(q)
    jitted_pose, jitted_jacobian = jax.jit(hand.forward_and_jacobian)(q)
    np.testing.assert_allclose(jitted_pose, eager_pose, atol=1e-14)
    np.testing.assert_allclose(jitted_jacobian, eager_jacobian, atol=1e-14)
    np.testing.assert_allclose(jax.vmap(hand.forward)(q), eager_pose, atol=1e-14)
    # The first three Jacobian rows of each tip are d(position)/dq, forward and reverse mode alike.
    positions = lambda x: hand.forward(x)[:, :3, 3]  # noqa: E731
    np.testing.assert_allclose(jax.jacfwd(positions)(q[0]), eager_jacobian[0, :, :3], atol=1e-12)
    np.testing.assert_allclose(jax.jacrev(positions)(q[0]), eager_jacobian[0, :, :3], atol=1e-12)
    gradient = jax.grad(lambda x: hand.forward(x)[..., :3, 3].sum())(q)
    np.testing.assert_allclose(gradient, eager_jacobian[:, :, :3].sum((1, 2)), atol=1e-12)


def test_float64_only_when_x64_is_on(hand):
    q = np.zeros(len(hand.joint_names))
    assert hand.forward(jnp.asarray(q)).dtype == jnp.float64
    assert hand.forward(jnp.asarray(q, dtype=jnp.float32)).dtype == jnp.float32
    assert hand.lower.dtype == jnp.float64 and hand.lower.shape == (len(hand.joint_names),)


def test_numpy_follows_q_dtype_and_any_batch_shape():
    path = str(robot_file("talos_data/robots/talos_full_v2.urdf"))  # mimic joints, 16 leaves
    module = array_module("numpy", path)
    n, tips = len(module.joint_names), len(module.tip_names)
    q = np.random.default_rng(1).uniform(-0.5, 0.5, (2, 3, n))
    for dtype in (np.float64, np.float32):
        pose, jacobian = module.forward_and_jacobian(q.astype(dtype))
        assert pose.dtype == jacobian.dtype == dtype
        assert pose.shape == (2, 3, tips, 4, 4) and jacobian.shape == (2, 3, tips, 6, n)
    assert module.forward(q[0, 0]).shape == (tips, 4, 4)
    assert module.lower.dtype == np.float64
    with pytest.raises(ValueError, match=rf"shape \(\.\.\., {n}\)"):
        module.forward(q[..., :-1])


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_mjcf_module_carries_mujocos_addresses(backend):
    gymnasium = pytest.importorskip("gymnasium")
    path = Path(gymnasium.__file__).parent / "envs/mujoco/assets/ant.xml"
    module = array_module(backend, str(path))
    reference = compile_file(str(path))
    assert module.joint_names == reference.joint_names
    assert module.qpos_indices == reference.qpos_indices == tuple(range(7, 15))
    assert module.qvel_indices == reference.qvel_indices == tuple(range(6, 14))
    assert module.body_ids == reference.body_ids and len(module.body_ids) == 4  # the four feet
