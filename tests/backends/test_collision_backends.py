"""The collision outputs under what a training loop does to them: gradcheck in float64 (through q,
the base pose and the obstacles), torch.compile(fullgraph=True), torch.export with a dynamic batch,
torch.func.vmap; the JAX module under jit, vmap and grad; the NumPy module. Values are compared
with the eager torch module, itself checked against coal and MuJoCo in
tests/oracles/test_collision.py."""

from __future__ import annotations

import functools

import pytest
import torch
from helpers import random_base_poses, robot_file, sample_q
from transforms import check_compiled_and_vmapped, check_exported, check_jax, check_numpy

import symkin

PANDA = "panda_description/urdf/panda_collision.urdf"
A1 = "a1_description/urdf/a1.urdf"
ROBOTS = [(PANDA, False), (A1, True)]
IDS = ["panda_collision", "a1-floating"]
METHODS = {
    "collision_spheres": (("q",), ("q", "base")),
    "self_collision_distances": (("q",), ("q",)),
    "obstacle_distances": (("q", "obstacles"), ("q", "base", "obstacles")),
}


@functools.cache
def kinematics(relative: str, floating: bool) -> symkin.Kinematics:
    model = symkin.load(str(robot_file(relative)))
    # A coarse covering: the transformations do not depend on how many spheres there are, and
    # compiling a module with hundreds (A1's trunk alone takes 121 at 2 cm) takes minutes.
    output, _ = symkin.collision_output(model, tolerance=0.06, samples=100)
    return symkin.derive(model, None, None, floating, (output,))


@functools.cache
def module(relative: str, floating: bool, backend: str = "torch"):
    loaded = symkin.load_module(symkin.generate(kinematics(relative, floating), backend=backend))
    return symkin.module_class(loaded)().double() if backend == "torch" else loaded


def inputs(kinematics_module, method: str, batch: int, seed: int, dtype=torch.float64):
    generator = torch.Generator().manual_seed(seed)
    values = {
        "q": sample_q(kinematics_module, batch, seed, dtype),
        "base": random_base_poses(batch, seed, dtype),
        "obstacles": torch.rand(batch, 3, 4, generator=generator, dtype=dtype),
    }
    return tuple(values[name] for name in METHODS[method][kinematics_module.floating_base])


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("relative, floating", ROBOTS, ids=IDS)
def test_gradcheck(relative, floating, method):
    kinematics_module = module(relative, floating)
    arguments = [x.requires_grad_() for x in inputs(kinematics_module, method, 1, seed=1)]
    assert torch.autograd.gradcheck(getattr(kinematics_module, method), arguments)


@pytest.mark.parametrize("relative, floating", ROBOTS, ids=IDS)
def test_shapes_and_names(relative, floating):
    kinematics_module = module(relative, floating)
    q = sample_q(kinematics_module, 6, seed=2).reshape(2, 3, -1)
    S, P = len(kinematics_module.sphere_links), len(kinematics_module.collision_pairs)
    assert kinematics_module.self_collision_distances(q).shape == (2, 3, P)
    assert set(kinematics_module.sphere_links) >= {
        link for pair in kinematics_module.collision_pairs for link in pair
    }
    single = kinematics_module.self_collision_distances(q[0, 0])
    assert single.shape == (P,) and P > 0
    torch.testing.assert_close(single, kinematics_module.self_collision_distances(q)[0, 0])
    spheres = kinematics_module.collision_spheres(
        *inputs(kinematics_module, "collision_spheres", 4, 3)
    )
    assert spheres.shape == (4, S, 4) and (spheres[..., 3] > 0).all()
    assert kinematics_module.float().self_collision_distances(q.float()).dtype == torch.float32


def least_sphere_distances(kinematics_module, q: torch.Tensor) -> torch.Tensor:
    """Per checked pair of links, the least over every pair of their spheres, (B, P): from
    collision_spheres, all pairs at once."""
    spheres = kinematics_module.collision_spheres(q)
    links = kinematics_module.sphere_links
    least = []
    for first, second in kinematics_module.collision_pairs:
        a = spheres[:, [k for k, link in enumerate(links) if link == first]]
        b = spheres[:, [k for k, link in enumerate(links) if link == second]]
        distances = torch.cdist(a[..., :3], b[..., :3]) - a[..., :, None, 3] - b[..., None, :, 3]
        least.append(distances.flatten(1).amin(1))
    return torch.stack(least, 1)


@pytest.mark.parametrize("batch", [1, 700])
def test_distances_are_the_least_over_every_sphere_pair(batch):
    # The rows of sphere pairs are grouped by length and padded. 700 configurations: the eager
    # module measures them a few configurations at a time (several steps, the last shorter). The
    # gradient, in closed form, against autograd through every sphere pair.
    kinematics_module = module(PANDA, False)
    q = sample_q(kinematics_module, batch, seed=7).requires_grad_()
    distances = kinematics_module.self_collision_distances(q)
    expected = least_sphere_distances(kinematics_module, q)
    torch.testing.assert_close(distances, expected, rtol=0, atol=1e-12)
    weights = torch.rand_like(distances)
    (gradient,) = torch.autograd.grad((distances * weights).sum(), q)
    (expected_gradient,) = torch.autograd.grad((expected * weights).sum(), q)
    torch.testing.assert_close(gradient, expected_gradient, rtol=0, atol=1e-10)


@pytest.mark.slow
@pytest.mark.parametrize("method", METHODS)
def test_compiles_with_fullgraph_and_vmaps(method):
    kinematics_module = module(A1, True)
    arguments = inputs(kinematics_module, method, 4, seed=2)
    check_compiled_and_vmapped(getattr(kinematics_module, method), arguments)


@pytest.mark.parametrize("method", METHODS)
def test_torch_export_keeps_the_batch_dynamic(method):
    kinematics_module = module(A1, True)
    check_exported(
        kinematics_module,
        method,
        lambda size: inputs(kinematics_module, method, size, seed=size),
        sizes=(1, 9, 300),
    )


@pytest.mark.parametrize("relative, floating", ROBOTS, ids=IDS)
def test_numpy_module_agrees(relative, floating):
    reference, numpy_module = module(relative, floating), module(relative, floating, "numpy")
    assert numpy_module.collision_pairs == reference.collision_pairs
    for method in METHODS:
        arguments = inputs(reference, method, 3, seed=5)
        check_numpy(getattr(numpy_module, method), getattr(reference, method), arguments)


@pytest.mark.slow
def test_jax_module_under_jit_vmap_and_grad():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    reference, jax_module = module(A1, True), module(A1, True, "jax")
    for method in METHODS:
        arguments = inputs(reference, method, 3, seed=6)
        check_jax(getattr(jax_module, method), getattr(reference, method), arguments)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("relative, floating", ROBOTS, ids=IDS)
def test_closed_form_gradient_is_autograds(relative, floating, method):
    """The closed-form backwards (the spheres' centres over a few configurations, the distances
    between pairs of links; taken where q requires grad) against autograd through the frame
    program (torch.func.grad, which takes the plain path), and their double backward by
    gradgradcheck."""
    kinematics_module = module(relative, floating)
    function = getattr(kinematics_module, method)
    q, *rest = inputs(kinematics_module, method, 7, seed=3)
    weights = torch.randn_like(function(q, *rest))

    def loss(x):
        return (function(x, *rest) * weights).sum()

    x = q.clone().requires_grad_()
    (closed_form,) = torch.autograd.grad(loss(x), x)
    torch.testing.assert_close(closed_form, torch.func.grad(loss)(q), rtol=0, atol=1e-12)
    one = [value[:1].clone().requires_grad_() for value in (q, *rest)]
    assert torch.autograd.gradgradcheck(function, one)
