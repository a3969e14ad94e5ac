"""Sphere coverings, by hand and by sampling: every point of a shape inside the union of its
spheres, no sphere point further than the tolerance outside it, the same bytes every time; pair
rules; the loss helpers; the CLI's collision flags and errors."""

from __future__ import annotations

import math
import textwrap

import numpy as np
import pytest
import torch

import symkin
from symkin.cli import main
from symkin.collision.fit import fit_spheres
from symkin.collision.solids import Union, convex_hull, solid
from symkin.model.geometry import Box, Capsule, ConvexMesh, Cylinder, Ellipsoid

TOLERANCE = 0.01
SHAPES = {
    "box": Box((0.1, 0.05, 0.02)),
    "cylinder": Cylinder(0.04, 0.2),
    "capsule": Capsule(0.03, 0.15),
    "ellipsoid": Ellipsoid((0.06, 0.04, 0.03)),
    "tetrahedron": ConvexMesh(
        ((0.0, 0.0, 0.0), (0.1, 0.0, 0.0), (0.0, 0.08, 0.0), (0.0, 0.0, 0.06))
    ),
}


def placed(shape, turn: float = 0.0) -> Union:
    c, s = math.cos(turn), math.sin(turn)
    rotation = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])
    return Union(((solid(shape), rotation, np.array([0.1, -0.2, 0.3])),))


def inside_points(body: Union, count: int = 40000) -> np.ndarray:
    low, high = body.bounds()
    points = np.random.default_rng(0).uniform(low, high, (count, 3))
    return points[body.signed_distance(points) <= 0]


@pytest.mark.parametrize("name", SHAPES)
def test_covering_is_conservative_tight_and_deterministic(name):
    body = placed(SHAPES[name], turn=0.3)
    centres, radii = fit_spheres(body, TOLERANCE)
    points = inside_points(body)
    assert len(points) > 100
    gaps = np.linalg.norm(points[:, None] - centres[None], axis=2) - radii
    assert (gaps.min(1) <= 0).all()
    # Points on the spheres: within the tolerance of the shape (exact distances; an ellipsoid's
    # is measured to points on it 2 mm apart, a bound above by up to that).
    unit = np.random.default_rng(1).normal(size=(200, 3))
    unit /= np.linalg.norm(unit, axis=1, keepdims=True)
    on_spheres = (centres[:, None] + radii[:, None, None] * unit).reshape(-1, 3)
    slack = 2e-3 if name == "ellipsoid" else 1e-9
    assert body.outside_distance(on_spheres).max() <= TOLERANCE + slack
    again = fit_spheres(placed(SHAPES[name], turn=0.3), TOLERANCE)
    assert centres.tobytes() == again[0].tobytes() and radii.tobytes() == again[1].tobytes()


def test_a_capsule_takes_few_spheres_and_a_sphere_is_itself():
    _, radii = fit_spheres(placed(Capsule(0.04, 0.2)), 0.01)
    assert len(radii) <= 10
    model = symkin.parse_urdf(
        '<robot name="r"><link name="a"><collision><origin xyz="1 2 3"/><geometry>'
        '<sphere radius="0.25"/></geometry></collision></link></robot>'
    )
    output, report = symkin.collision_output(model)
    assert output.spheres == (("a", (1.0, 2.0, 3.0), 0.25),)
    assert report.coverings[0].protrusion == 0


def test_mesh_distance_is_a_lower_bound_with_the_right_sign():
    vertices, triangles = convex_hull(np.random.default_rng(2).normal(size=(40, 3)) * 0.05)
    mesh = solid(ConvexMesh(tuple(map(tuple, vertices))))
    points = np.random.default_rng(3).normal(size=(500, 3)) * 0.08
    from scipy.spatial import Delaunay

    inside = Delaunay(vertices).find_simplex(points) >= 0
    distance = mesh.signed_distance(points)
    # Within 2 mm of the surface the bound is 0, either side; elsewhere the sign is the side.
    told = distance != 0
    assert told.mean() > 0.9 and ((distance < 0) == inside)[told].all()
    from symkin.collision.solids import exact_mesh_distance

    exact = exact_mesh_distance(points, vertices, triangles)
    assert (np.abs(distance) <= exact + 1e-12).all() and (
        exact - np.abs(distance) <= 2e-3 + 1e-9
    ).all()


def test_a_meshs_samples_lie_on_it_and_leave_no_point_of_it_farther_than_the_spacing():
    from scipy.spatial import cKDTree

    from symkin.collision.solids import _triangle_samples, exact_mesh_distance

    # Points on a sphere: every one a corner, about 1,200 triangles (made 1,024 at a time).
    directions = np.random.default_rng(6).normal(size=(600, 3))
    vertices, triangles = convex_hull(
        directions / np.linalg.norm(directions, axis=1)[:, None] * 0.05
    )
    assert len(triangles) > 1024
    degenerate = np.array([[0, 0, 1], [2, 2, 3]])  # a repeated corner: edges only
    triangles = np.concatenate([triangles, degenerate])
    spacing = 0.004
    samples = _triangle_samples(vertices, triangles, spacing)
    assert exact_mesh_distance(samples[::7], vertices, triangles).max() < 1e-12
    weights = np.random.default_rng(7).dirichlet(np.ones(3), size=(len(triangles), 50))
    points = np.einsum("tkc,tcd->tkd", weights, vertices[triangles]).reshape(-1, 3)
    assert cKDTree(samples).query(points)[0].max() <= spacing


def test_rays_tell_inside_from_outside_over_many_points():
    # 20,000 points: the rays' crossings are counted tile by tile (about 80 tiles per axis,
    # each with the triangles whose projection reaches into it), against Delaunay's inside.
    from scipy.spatial import Delaunay

    from symkin.collision.solids import _mesh_nearest_and_inside

    vertices, triangles = convex_hull(np.random.default_rng(4).normal(size=(300, 3)) * 0.05)
    points = np.random.default_rng(5).normal(size=(20000, 3)) * 0.1
    points[:300] = vertices * 0.999  # just inside, at every corner
    _, inside = _mesh_nearest_and_inside(points, vertices, triangles)
    expected = Delaunay(vertices).find_simplex(points) >= 0
    assert 0.2 < expected.mean() < 0.8 and (inside == expected).all()


@pytest.mark.parametrize("name", ["tetrahedron", "ellipsoid", "box"])
def test_protrusion_measures_exactly_what_every_point_would(name):
    """The report's protrusion measures exactly only the points whose bounds let them be the
    largest; it is the largest exact outside distance of all points, and the bounds hold."""
    from symkin.collision.fit import protrusion

    body = placed(SHAPES[name], 0.3)
    centres = body.surface(0.02, 0.0)[::7]
    radii = np.random.default_rng(4).uniform(0.005, 0.03, len(centres))
    k = np.arange(256) + 0.5
    polar, azimuth = np.arccos(1 - 2 * k / 256), math.pi * (1 + math.sqrt(5)) * k
    unit = np.stack(
        [np.sin(polar) * np.cos(azimuth), np.sin(polar) * np.sin(azimuth), np.cos(polar)], -1
    )
    points = (centres[:, None] + radii[:, None, None] * unit[None]).reshape(-1, 3)
    exact = body.outside_distance(points)
    lower, upper = body.outside_bounds(points)
    assert (lower <= exact + 1e-12).all() and (exact <= upper + 1e-12).all()
    assert protrusion(body, centres, radii) == exact.max()


ARM = """
<robot name="arm">
  <link name="base"><collision><geometry><box size="0.2 0.2 0.1"/></geometry></collision></link>
  <link name="upper"><collision><origin xyz="0 0 0.25"/>
    <geometry><cylinder radius="0.04" length="0.5"/></geometry></collision></link>
  <link name="fore"><collision><origin xyz="0 0 0.2"/>
    <geometry><capsule radius="0.03" length="0.4"/></geometry></collision></link>
  <link name="hand"><collision><geometry>{hand}</geometry></collision></link>
  <joint name="j1" type="revolute"><parent link="base"/><child link="upper"/>
    <origin xyz="0 0 0.05"/><axis xyz="0 1 0"/><limit lower="-1.5" upper="1.5"/></joint>
  <joint name="j2" type="revolute"><parent link="upper"/><child link="fore"/>
    <origin xyz="0 0 0.5"/><axis xyz="0 1 0"/><limit lower="-2.8" upper="2.8"/></joint>
  <joint name="j3" type="fixed"><parent link="fore"/><child link="hand"/>
    <origin xyz="0 0 0.4"/></joint>
</robot>
"""


def write_arm(tmp_path, hand='<sphere radius="0.05"/>', srdf: str | None = None):
    (tmp_path / "arm.urdf").write_text(textwrap.dedent(ARM.format(hand=hand)))
    if srdf is not None:
        (tmp_path / "arm.srdf").write_text(srdf)
    return tmp_path / "arm.urdf"


def test_pair_rules_name_their_reasons(tmp_path):
    model = symkin.load(write_arm(tmp_path))
    output, report = symkin.collision_output(model, srdf=None)
    excluded = {(a, b): reason for a, b, reason in report.rules.excluded}
    # One moving joint apart, or only fixed joints between: adjacent.
    assert excluded[("base", "upper")] == excluded[("fore", "hand")] == "adjacent"
    assert excluded[("upper", "hand")] == "adjacent"  # j2, then a fixed joint
    assert set(output.pairs) == {("base", "fore"), ("base", "hand")}
    srdf = write_arm(
        tmp_path,
        srdf='<robot name="arm">'
        '<disable_collisions link1="hand" link2="base" reason="Never"/></robot>',
    )
    output, report = symkin.collision_output(model, srdf=srdf.with_suffix(".srdf"))
    assert (
        output.pairs == (("base", "fore"),) and ("base", "hand", "Never") in report.rules.excluded
    )


def test_collision_penalty_and_helpers():
    d = torch.tensor([-0.01, 0.0, 0.01, 0.05], dtype=torch.float64, requires_grad=True)
    penalty = symkin.collision_penalty(d, margin=0.02)
    torch.testing.assert_close(
        penalty, torch.tensor([4.5e-4, 2e-4, 5e-5, 0.0], dtype=torch.float64)
    )
    penalty.sum().backward()
    torch.testing.assert_close(
        d.grad, torch.tensor([-0.03, -0.02, -0.01, 0.0], dtype=torch.float64)
    )
    spheres = torch.tensor([[0.0, 0.0, 0.5, 0.1], [2.0, 0.0, 0.05, 0.1]], dtype=torch.float64)
    floor = symkin.plane_distances(spheres, torch.tensor([0.0, 0.0, 2.0], dtype=torch.float64))
    torch.testing.assert_close(floor, torch.tensor([0.4, -0.05], dtype=torch.float64))
    box = torch.eye(4, dtype=torch.float64)[None]
    box[0, :3, 3] = torch.tensor([2.0, 0.0, 0.0])
    half = torch.tensor([[0.5, 0.5, 0.5]], dtype=torch.float64)
    torch.testing.assert_close(
        symkin.box_distances(spheres, box, half),
        torch.tensor([[math.hypot(1.5, 0.0) - 0.1], [-0.45 - 0.1]], dtype=torch.float64),
    )


def run(argv, capsys):
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_cli_info_lists_spheres_and_pairs(tmp_path, capsys):
    status, out, _ = run(
        ["info", str(write_arm(tmp_path)), "--collision", "--collision-samples", "50"], capsys
    )
    assert status == 0
    assert "hand: sphere(radius=0.05): 1 sphere, worst protrusion 0.0 mm" in out
    assert "base – upper: adjacent" in out and "base – fore" in out


def test_cli_errors_are_one_line(tmp_path, capsys):
    path = write_arm(tmp_path, hand='<mesh filename="package://arm/missing.stl"/>')
    status, out, err = run(
        ["compile", str(path), "--collision", "-q", "-o", str(tmp_path / "x.py")], capsys
    )
    assert status == 2 and out == "" and not (tmp_path / "x.py").exists()
    assert (
        err.count("\n") == 1 and "error:" in err and "link 'hand'" in err and "missing.stl" in err
    )
    status, _, err = run(["compile", str(path), "--srdf", "x.srdf"], capsys)
    assert status == 2 and "--srdf: for --collision" in err
    bad = write_arm(tmp_path, hand='<box size="0.1 -0.1 0.1"/>')
    status, _, err = run(["info", str(bad), "--collision"], capsys)
    assert status == 2 and "link 'hand'" in err and err.count("\n") == 1
    status, _, err = run(["info", str(bad), "--collision", "--sphere-tolerance", "0"], capsys)
    assert status == 2 and "tolerance" in err


def arm_with_collision(folder, floating_base: bool = False):
    """The two-joint arm of write_arm, to its hand, compiled with --collision, float64."""
    model = symkin.load(write_arm(folder))
    output, _ = symkin.collision_output(model, samples=50)
    kinematics = symkin.derive(model, "hand", floating_base=floating_base, outputs=(output,))
    return symkin.module_class(symkin.load_module(symkin.generate(kinematics)))().double()


def unit_base_poses(count: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    base = torch.randn(count, 7, generator=generator, dtype=torch.float64)
    return torch.cat([base[:, :3] * 0.3, base[:, 3:] / base[:, 3:].norm(dim=-1, keepdim=True)], -1)


def test_a_base_moves_along_its_tangents():
    from symkin.tools.coordinates import base_tangents, moved_base

    base = unit_base_poses(5, seed=1)
    twist = torch.zeros(6, dtype=torch.float64)
    per_twist = torch.func.vmap(lambda b: torch.func.jacfwd(lambda t: moved_base(b, t))(twist))
    torch.testing.assert_close(base_tangents(base), per_twist(base).mT, rtol=0, atol=1e-15)


@pytest.mark.parametrize("floating", [False, True], ids=["fixed", "floating"])
def test_collision_rows_jacobian_is_the_derivative_of_the_distances(tmp_path, floating):
    # The rows' Jacobian comes from one vmapped forward-mode pass over every direction; against
    # central differences of the distances (self pairs, then spheres × obstacles), along each
    # joint and, for a floating base, each entry of the base's twist (which moves it as IK does).
    from symkin.tools.collision_rows import CollisionRows
    from symkin.tools.coordinates import moved_base

    module = arm_with_collision(tmp_path, floating)
    obstacles = torch.tensor([[0.3, 0.2, 0.1, 0.05], [-0.2, 0.4, 0.0, 0.0]], dtype=torch.float64)
    rows = CollisionRows.make(module, 1.0, obstacles, margin=10.0)  # every row pulls
    assert rows is not None
    q = torch.tensor([[0.3, 1.1], [-0.7, 2.0], [1.4, -0.5]], dtype=torch.float64)
    base = unit_base_poses(3, seed=2) if floating else None
    width = 6 * floating + 2
    error, jacobian = rows.rows(q, base, width)
    torch.testing.assert_close(error, -(10.0 - rows.distances(q, base)), rtol=0, atol=1e-12)
    step = 1e-6
    for k in range(width):
        shift = torch.zeros(width, dtype=torch.float64)
        shift[k] = step
        if floating:
            ahead, behind = (
                rows.distances(q + sign * shift[6:], moved_base(base, sign * shift[:6]))
                for sign in (1, -1)
            )
        else:
            ahead, behind = rows.distances(q + shift), rows.distances(q - shift)
        torch.testing.assert_close(
            jacobian[..., k], -(ahead - behind) / (2 * step), atol=1e-7, rtol=0
        )
    if floating:  # the self distances do not move with the base; the obstacles' do
        pairs = len(module.collision_pairs)
        assert not jacobian[:, :pairs, :6].any() and jacobian[:, pairs:, :6].abs().amax() > 0.1


def test_collision_aware_ik_keeps_a_floating_arm_off_obstacles(tmp_path):
    # With the base free the hand's position is reached many ways: put an obstacle where the
    # plain answers' upper arm is, and the answers with the term go around it.
    module = arm_with_collision(tmp_path, floating_base=True)
    q = torch.tensor([[0.3, 1.2], [-0.4, -1.0], [1.0, 0.5], [-1.2, 2.0]], dtype=torch.float64)
    targets = module(q, unit_base_poses(4, seed=3))
    options = dict(rotation_weight=0.0, restarts=8)
    plain = symkin.solve_ik(module, targets, generator=torch.Generator().manual_seed(0), **options)
    spheres = module.collision_spheres(plain.q, plain.base)
    upper = [k for k, link in enumerate(module.sphere_links) if link == "upper"]
    obstacles = spheres[0, upper[len(upper) // 2]].clone()
    obstacles[3] = 0.05
    obstacles = obstacles.unsqueeze(0)
    assert (module.obstacle_distances(plain.q, plain.base, obstacles)[0] < 0).any()
    kept = symkin.solve_ik(
        module,
        targets,
        collision_weight=10.0,
        obstacles=obstacles,
        generator=torch.Generator().manual_seed(0),
        **options,
    )
    assert kept.colliding is not None and kept.base is not None and kept.success.all()
    assert not kept.colliding.any()
    distances = module.obstacle_distances(kept.q, kept.base, obstacles)
    assert (distances >= 0).all()


def test_collision_aware_ik_keeps_answers_out_of_self_collision(tmp_path):
    module = arm_with_collision(tmp_path)
    # Hand positions reachable with the forearm folded back onto the base.
    q = torch.tensor([[0.3, 2.6], [-0.4, -2.7], [1.0, 2.5], [-1.2, -2.4]], dtype=torch.float64)
    targets = module(q)
    plain = symkin.solve_ik(
        module, targets, rotation_weight=0.0, generator=torch.Generator().manual_seed(0)
    )
    kept = symkin.solve_ik(
        module,
        targets,
        rotation_weight=0.0,
        collision_weight=10.0,
        generator=torch.Generator().manual_seed(0),
    )
    assert plain.colliding is not None and kept.colliding is not None
    assert not kept.colliding[kept.success].any()
    assert kept.colliding.sum() <= plain.colliding.sum()
    model = symkin.load(write_arm(tmp_path))
    with pytest.raises(ValueError, match="--collision"):
        symkin.solve_ik(
            symkin.module_class(
                symkin.load_module(symkin.generate(symkin.derive(model, "hand")))
            )(),
            targets,
            collision_weight=1.0,
        )
