"""Collision spheres against exact distances: coal (through Pinocchio's GeometryModel) on
example-robot-data URDFs, MuJoCo's mj_geomDistance on gymnasium's MJCF files. For every checked
pair of links, at random configurations, symkin's distance between their spheres is never above the
exact distance between the original geometries (within 1e-6 m: the spheres cover them), and never
below it by more than twice the tolerance (no sphere reaches further than the tolerance outside);
when the geometries overlap, so do the spheres."""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import ROBOTS, PinocchioOracle, compile_model, robot_file, sample_q

import symkin
from symkin.collision.pairs import default_srdf

TOLERANCE = 0.02


@functools.cache
def compiled(path: str, tolerance: float = TOLERANCE):
    model = symkin.load(path)
    srdf = default_srdf(Path(path))
    output, report = symkin.collision_output(model, tolerance, srdf, Path(path).parent)
    return compile_model(model, outputs=(output,)), report


def check_bounds(got: np.ndarray, exact: np.ndarray, tolerance: float) -> None:
    overlapping = exact <= 0
    assert (got <= np.maximum(exact, 0) + 1e-6).all(), np.max(got - np.maximum(exact, 0))
    assert (got[~overlapping] >= exact[~overlapping] - 2 * tolerance - 1e-9).all()
    assert (got[overlapping] <= 1e-6).all()


def coal_distances(path: str, module, q: np.ndarray) -> np.ndarray:
    """(N, P): the least coal distance between the collision objects of each pair of links."""
    import pinocchio as pin

    oracle = PinocchioOracle(path)
    model = oracle.model
    geometry = pin.buildGeomFromUrdf(
        model, path, pin.GeometryType.COLLISION, package_dirs=[str(ROBOTS.parent.parent)]
    )
    link_of = [model.frames[g.parentFrame].name for g in geometry.geometryObjects]
    wanted = {frozenset(pair) for pair in module.collision_pairs}
    objects = range(len(link_of))
    for i in objects:
        for j in objects:
            if i < j and frozenset((link_of[i], link_of[j])) in wanted:
                geometry.addCollisionPair(pin.CollisionPair(i, j))
    data = geometry.createData()
    found = np.full((len(q), len(module.collision_pairs)), np.inf)
    index = {frozenset(pair): k for k, pair in enumerate(module.collision_pairs)}
    for n, values in enumerate(q):
        pin.computeDistances(
            model, oracle.data, geometry, data, oracle._pin_q(module.joint_names, values, None)
        )
        for pair, result in zip(geometry.collisionPairs, data.distanceResults, strict=True):
            k = index[frozenset((link_of[pair.first], link_of[pair.second]))]
            found[n, k] = min(found[n, k], result.min_distance)
    return found


PRIMITIVES = [
    "panda_description/urdf/panda_collision.urdf",
    "a1_description/urdf/a1.urdf",
    "go1_description/urdf/go1.urdf",
    "anymal_b_simple_description/robots/anymal.urdf",
]


@pytest.mark.parametrize("relative", PRIMITIVES, ids=[p.split("/")[-1] for p in PRIMITIVES])
def test_self_collision_distances_bound_coals(relative):
    path = str(robot_file(relative))
    module, _ = compiled(path)
    q = sample_q(module, 12, seed=3)
    exact = coal_distances(path, module, q.numpy())
    check_bounds(module.self_collision_distances(q).detach().numpy(), exact, TOLERANCE)


@pytest.mark.slow
def test_panda_meshes_with_its_srdf_bound_coals():
    path = str(robot_file("panda_description/urdf/panda.urdf"))
    module, report = compiled(path)
    assert any(reason == "Never" for _, _, reason in report.rules.excluded)
    q = sample_q(module, 12, seed=4)
    exact = coal_distances(path, module, q.numpy())
    check_bounds(module.self_collision_distances(q).detach().numpy(), exact, TOLERANCE)


@pytest.mark.parametrize("name", ["ant", "humanoid"])
def test_self_collision_distances_bound_mujocos(name):
    mujoco = pytest.importorskip("mujoco")
    spec = importlib.util.find_spec("gymnasium")
    if spec is None or spec.origin is None:
        pytest.skip("gymnasium is not installed")
    path = str(Path(spec.origin).parent / "envs/mujoco/assets" / f"{name}.xml")
    module, _ = compiled(path)
    model = mujoco.MjModel.from_xml_path(path)
    data = mujoco.MjData(model)
    # symkin names an unnamed body body<id>.
    body = {
        mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_BODY, b) or f"body{b}": b
        for b in range(model.nbody)
    }
    geoms = [g for g in range(model.ngeom) if model.geom_contype[g] or model.geom_conaffinity[g]]
    q = sample_q(module, 8, seed=5)
    exact = np.full((len(q), len(module.collision_pairs)), np.inf)
    fromto = np.zeros(6)
    for n, values in enumerate(q.numpy()):
        data.qpos[:] = model.qpos0
        data.qpos[list(module.qpos_indices)] = values
        mujoco.mj_kinematics(model, data)
        for k, (a, b) in enumerate(module.collision_pairs):
            for g in geoms:
                for h in geoms:
                    if model.geom_bodyid[g] == body[a] and model.geom_bodyid[h] == body[b]:
                        distance = mujoco.mj_geomDistance(model, data, g, h, 10.0, fromto)
                        exact[n, k] = min(exact[n, k], distance)
    check_bounds(module.self_collision_distances(q).detach().numpy(), exact, TOLERANCE)


def test_obstacle_distances_are_sphere_distances():
    module, _ = compiled(str(robot_file(PRIMITIVES[0])))
    q = sample_q(module, 5, seed=6)
    obstacles = torch.tensor([[0.5, 0.0, 0.4, 0.1], [0.0, 0.6, 0.2, 0.0]], dtype=torch.float64)
    spheres = module.collision_spheres(q)
    expected = (
        torch.cdist(spheres[..., :3], obstacles[:, :3].expand(5, 2, 3))
        - spheres[..., 3:]
        - obstacles[:, 3]
    )
    torch.testing.assert_close(module.obstacle_distances(q, obstacles), expected)
    # A point inside a sphere is at minus its depth.
    centre = spheres[0, 0]
    inside = module.obstacle_distances(q[:1], torch.cat([centre[:3], centre.new_zeros(1)])[None])
    assert inside[0, 0, 0] == pytest.approx(-float(centre[3]))
