"""The compact Jacobians, centre of mass, velocity and dynamics outputs under what a training loop
does to them:
gradcheck in float64 (through every input: q, v, a, tau, the base pose, twist and acceleration),
torch.compile(fullgraph=True), torch.export with a dynamic batch, torch.func.vmap; the JAX module
under jit, vmap and grad; the NumPy module. Values are compared with the eager torch module, itself
checked against Pinocchio and MuJoCo in tests/oracles/."""

from __future__ import annotations

import functools

import pytest
import torch
from helpers import REPO, compile_file, random_base_poses, robot_file, sample_q
from transforms import check_compiled_and_vmapped, check_exported, check_jax, check_numpy

import symkin
from symkin.model.robot import ALL_LEAVES

SOLO = "solo_description/robots/solo12.urdf"
PANDA = "panda_description/urdf/panda.urdf"
# method -> the inputs it takes with a fixed base, then with a floating one.
METHODS = {
    "compact_jacobian": (("q",), ("q", "base")),
    "center_of_mass": (("q",), ("q", "base")),
    "center_of_mass_jacobian": (("q",), ("q", "base")),
    "tip_velocity": (("q", "v"), ("q", "v", "base", "base_velocity")),
    "acceleration_bias": (("q", "v"), ("q", "v", "base", "base_velocity")),
    "jacobian_derivative": (("q", "v"), ("q", "v", "base", "base_velocity")),
    "inverse_dynamics": (
        ("q", "v", "a"),
        ("q", "v", "a", "base", "base_velocity", "base_acceleration"),
    ),
    "mass_matrix": (("q",), ("q", "base")),
    "gravity_torques": (("q",), ("q", "base")),
    "nonlinear_effects": (("q", "v"), ("q", "v", "base", "base_velocity")),
    "forward_dynamics": (("q", "v", "tau"), ("q", "v", "tau", "base", "base_velocity")),
}


@functools.cache
def kinematics(relative: str, floating: bool) -> symkin.Kinematics:
    model = symkin.load(str(robot_file(relative)))
    tips = None if floating else ("panda_hand_tcp", "panda_leftfinger")
    outputs = (symkin.center_of_mass(model), symkin.Velocities(), symkin.rigid_bodies(model))
    return symkin.derive(model, tips, None, floating, outputs)


@functools.cache
def module(relative: str, floating: bool, backend: str = "torch"):
    loaded = symkin.load_module(symkin.generate(kinematics(relative, floating), backend=backend))
    return symkin.module_class(loaded)().double() if backend == "torch" else loaded


ROBOTS = [(SOLO, True), (PANDA, False)]
IDS = ["solo12-floating", "panda"]


def inputs(kinematics_module, method: str, batch: int, seed: int, dtype=torch.float64):
    """The method's arguments in order, random: q within the limits, the rest normal."""
    q = sample_q(kinematics_module, batch, seed, dtype)
    generator = torch.Generator().manual_seed(seed)
    floating = kinematics_module.floating_base
    columns = q.shape[-1] + (6 if floating else 0)

    def normal(*shape):
        return torch.randn(shape, generator=generator, dtype=dtype)

    values = {
        "q": q,
        "v": normal(*q.shape),
        "a": normal(*q.shape),
        "tau": normal(batch, columns),
        "base": random_base_poses(batch, seed, dtype),
        "base_velocity": normal(batch, 6),
        "base_acceleration": normal(batch, 6),
    }
    return tuple(values[name] for name in METHODS[method][floating])


@pytest.mark.parametrize(
    "path, tips, floating",
    [
        (str(robot_file("g1_description/urdf/g1_29dof_rev_1_0.urdf")), ALL_LEAVES, False),
        (str(robot_file("talos_data/robots/talos_full_v2.urdf")), ALL_LEAVES, True),
        (str(REPO / "examples/ragdoll.xml"), ALL_LEAVES, False),
        (str(robot_file(PANDA)), ("panda_hand_tcp",), False),
    ],
    ids=["g1-all-leaves", "talos-mimic-floating", "ragdoll-ball-joints", "panda-one-tip"],
)
def test_compact_jacobian_is_the_jacobian_without_its_structural_zeros(path, tips, floating):
    """Each tip's block of compact_jacobian is its Jacobian's columns jacobian_columns[t], and
    every other column of its Jacobian is zero (mimic joints sharing a column, ball joints' three
    columns, a floating base's six), over a batch of shape (2, 3) and an empty one."""
    fk = compile_file(path, tips, floating_base=floating)
    q6, base6 = sample_q(fk, 6, seed=4), random_base_poses(6, seed=4)
    for q, pose in ((q6.reshape(2, 3, -1), base6.reshape(2, 3, 7)), (q6[:0], base6[:0])):
        base = (pose,) if floating else ()
        shape = q.shape[:-1]
        dense = fk.jacobian(q, *base)
        dense = dense if len(fk.tip_names) > 1 else dense.unsqueeze(-3)
        compact = fk.compact_jacobian(q, *base)
        starts, columns = fk.jacobian_column_starts, fk.jacobian_columns
        assert compact.shape == shape + (6, sum(map(len, columns)))
        for t, kept in enumerate(columns):
            block = compact[..., starts[t] : starts[t] + len(kept)]
            torch.testing.assert_close(block, dense[..., t, :, list(kept)], rtol=0, atol=0)
            others = [c for c in range(dense.shape[-1]) if c not in kept]
            assert torch.count_nonzero(dense[..., t, :, others]) == 0


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("relative, floating", ROBOTS, ids=IDS)
def test_gradcheck(relative, floating, method):
    kinematics_module = module(relative, floating)
    arguments = [x.requires_grad_() for x in inputs(kinematics_module, method, 2, seed=1)]
    assert torch.autograd.gradcheck(getattr(kinematics_module, method), arguments)


@pytest.mark.slow
@pytest.mark.parametrize("method", METHODS)
def test_compiles_with_fullgraph_and_vmaps(method):
    kinematics_module = module(SOLO, True)
    arguments = inputs(kinematics_module, method, 4, seed=2)
    check_compiled_and_vmapped(getattr(kinematics_module, method), arguments)


@pytest.mark.parametrize("method", METHODS)
def test_torch_export_keeps_the_batch_dynamic(method):
    kinematics_module = module(SOLO, True)
    check_exported(
        kinematics_module,
        method,
        lambda size: inputs(kinematics_module, method, size, seed=size),
    )


@pytest.mark.parametrize("relative, floating", ROBOTS, ids=IDS)
def test_numpy_module_agrees(relative, floating):
    reference, numpy_module = module(relative, floating), module(relative, floating, "numpy")
    assert numpy_module.mass == reference.mass
    for method in METHODS:
        arguments = inputs(reference, method, 3, seed=5)
        check_numpy(getattr(numpy_module, method), getattr(reference, method), arguments)


@pytest.mark.slow
def test_jax_module_under_jit_vmap_and_grad():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    reference, jax_module = module(SOLO, True), module(SOLO, True, "jax")
    for method in METHODS:
        arguments = inputs(reference, method, 3, seed=6)
        check_jax(getattr(jax_module, method), getattr(reference, method), arguments)
