"""The generated-module contract (symkin.KinematicsModule), over every module in generated/: torch,
JAX and NumPy alike."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import REPO
from reference import finite_difference_jacobian

import symkin
from symkin import backends
from symkin.tools.coordinates import tangents, with_unit_quaternions

GENERATED = sorted((REPO / "generated").glob("*.py"))


class Adapter:
    """One generated module, called with numpy arrays whatever its backend."""

    def __init__(self, path: Path) -> None:
        spec = importlib.util.spec_from_file_location(f"golden_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        self.path = path
        if hasattr(module, "forward_and_jacobian"):  # module-level functions over xp's arrays
            self.backend = "jax" if module.xp.__name__ == "jax.numpy" else "numpy"
            self.module = module
            if self.backend == "jax":
                import jax

                jax.config.update("jax_enable_x64", True)
        else:
            self.backend = "torch"
            self.module = symkin.module_class(module)().double()

    def array(self, q: np.ndarray):
        if self.backend == "jax":
            import jax.numpy as jnp

            return jnp.asarray(q)
        if self.backend == "numpy":
            return q
        return torch.from_numpy(q)

    BASE = np.array([0.3, -0.2, 0.5, 0.9, 0.1, -0.3, 0.2])
    """The base pose floating-base modules are called with: one for every configuration (it
    broadcasts)."""

    def call(self, name: str, q: np.ndarray):
        arguments = (self.array(q),)
        if self.module.floating_base:
            arguments += (self.array(self.BASE.astype(q.dtype)),)
        result = getattr(self.module, name)(*arguments)
        return (
            tuple(np.asarray(r) for r in result)
            if isinstance(result, tuple)
            else np.asarray(result)
        )

    @property
    def base_columns(self) -> int:
        """Columns of the base's twist ahead of q's in the Jacobian."""
        return 6 if self.module.floating_base else 0

    def limits(self) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(self.module.lower, dtype=float), np.asarray(
            self.module.upper, dtype=float
        )

    def sample(self, batch: tuple[int, ...], seed: int = 0) -> np.ndarray:
        lower, upper = self.limits()
        lower, upper = np.maximum(lower, -np.pi), np.minimum(upper, np.pi)
        rng = np.random.default_rng(seed)
        return lower + (upper - lower) * rng.random((*batch, len(self.module.joint_names)))


@pytest.fixture(scope="module", params=GENERATED, ids=[p.name for p in GENERATED])
def generated(request) -> Adapter:
    return Adapter(request.param)


def test_every_backend_and_a_floating_base_are_checked_in():
    adapters = [Adapter(path) for path in GENERATED]
    assert {a.backend for a in adapters} == set(backends.NAMES)
    assert any(a.module.floating_base for a in adapters)


def test_is_a_kinematics_module(generated):
    module = generated.module
    assert isinstance(module, symkin.KinematicsModule)
    assert isinstance(module.robot_name, str) and isinstance(module.base_name, str)
    assert all(isinstance(name, str) for name in (*module.tip_names, *module.joint_names))
    assert isinstance(module.floating_base, bool)
    assert (module.nq, module.nv) == (len(module.joint_names), len(module.velocity_names))
    assert module.nq - module.nv == len(module.ball_joints)
    for name, q_index, v_index in module.ball_joints:
        assert module.joint_names[q_index : q_index + 4] == tuple(f"{name}:q{c}" for c in "wxyz")
        assert module.velocity_names[v_index : v_index + 3] == tuple(f"{name}:w{c}" for c in "xyz")
    lower, upper = generated.limits()
    assert lower.shape == upper.shape == (len(module.joint_names),) and (lower <= upper).all()


@pytest.mark.parametrize("batch", [(), (3,), (2, 3)])
def test_shapes_and_agreement_between_functions(generated, batch):
    module = generated.module
    tips, n = len(module.tip_names), module.nv
    q = generated.sample(batch)
    pose, jacobian = generated.call("forward_and_jacobian", q)
    tip_axis = (tips,) if tips > 1 else ()
    assert pose.shape == (*batch, *tip_axis, 4, 4) and jacobian.shape == (
        *batch,
        *tip_axis,
        6,
        generated.base_columns + n,
    )
    assert pose.dtype == jacobian.dtype == np.float64
    np.testing.assert_array_equal(generated.call("forward", q), pose)
    np.testing.assert_array_equal(generated.call("jacobian", q), jacobian)
    # The compact Jacobians: each tip's kept columns, side by side (unbatched q included).
    compact = generated.call("compact_jacobian", q)
    kept = module.jacobian_columns
    assert compact.shape == (*batch, 6, sum(map(len, kept)))
    by_tip = jacobian.reshape(*batch, tips, 6, -1)
    for t, columns in enumerate(kept):
        start = module.jacobian_column_starts[t]
        block = compact[..., start : start + len(columns)]
        np.testing.assert_array_equal(block, by_tip[..., t, :, :][..., list(columns)])


def test_poses_are_rigid_and_jacobians_are_their_derivatives(generated):
    module = generated.module
    tips = len(module.tip_names)
    q = with_unit_quaternions(module, torch.from_numpy(generated.sample((4,), seed=1)))
    directions = tangents(module, q).numpy()  # the identity, but for ball joints
    q = q.numpy()
    pose = generated.call("forward", q).reshape(4, tips, 4, 4)
    jacobian = generated.call("jacobian", q).reshape(4, tips, 6, -1)[..., generated.base_columns :]
    R = pose[..., :3, :3]
    np.testing.assert_allclose(
        R @ np.swapaxes(R, -1, -2), np.broadcast_to(np.eye(3), R.shape), atol=1e-12
    )
    np.testing.assert_allclose(np.linalg.det(R), 1.0, atol=1e-12)
    np.testing.assert_array_equal(
        pose[..., 3, :], np.broadcast_to([0.0, 0.0, 0.0, 1.0], pose[..., 3, :].shape)
    )
    for i in range(4):
        for t in range(tips):
            numeric = finite_difference_jacobian(
                lambda x, t=t: generated.call("forward", x).reshape(tips, 4, 4)[t],
                q[i],
                directions=directions[i],
            )
            np.testing.assert_allclose(jacobian[i, t], numeric, atol=1e-7)


def test_float32_in_float32_out(generated):
    q = generated.sample((5,)).astype(np.float32)
    pose, jacobian = generated.call("forward_and_jacobian", q)
    assert pose.dtype == jacobian.dtype == np.float32
    reference = generated.call("forward", q.astype(np.float64))
    assert np.abs(pose - reference).max() < 1e-5


def test_bad_q_is_a_value_error(generated):
    n = len(generated.module.joint_names)
    for bad in (np.zeros((2, n + 1)), np.zeros(n, dtype=np.int64)):
        with pytest.raises(ValueError, match=rf"shape \(\.\.\., {n}\)"):
            generated.call("forward", bad)


@pytest.mark.parametrize("other", ["panda_jax", "panda_numpy"])
def test_every_backend_computes_the_same_for_one_robot(other):
    torch_module, module = (
        Adapter(REPO / "generated/panda.py"),
        Adapter(REPO / f"generated/{other}.py"),
    )
    assert torch_module.module.joint_names == module.module.joint_names
    q = torch_module.sample((20,))
    for name in ("forward", "jacobian"):
        np.testing.assert_allclose(
            torch_module.call(name, q), module.call(name, q), atol=1e-14, rtol=0
        )


LIBRARY = {"torch": "torch", "jax": "jax.numpy", "numpy": "numpy"}


def test_imports_only_its_library_and_has_no_side_effects(generated, tmp_path):
    """Importing a generated module loads its library (and what that loads) and nothing else,
    prints nothing and writes nothing. ``__future__`` (named by the module's first statement)
    is loaded before the count: whether the library loads it too differs between releases."""
    library = LIBRARY[generated.backend]
    script = (
        f"import sys, __future__; import {library}; before = set(sys.modules); sys.path.insert(0, "
        "sys.argv[1]); "
        f"import {generated.path.stem}; print(sorted(set(sys.modules) - before))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(generated.path.parent)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == repr([generated.path.stem]) and result.stderr == ""
    assert list(tmp_path.iterdir()) == []
