"""Poses and Jacobians of example-robot-data robots against Pinocchio, float64, to 1e-9."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import PINOCCHIO_CASES as CASES
from helpers import (
    PinocchioOracle,
    as_tips,
    compile_file,
    random_base_poses,
    robot_file,
    sample_q,
)

import symkin


@pytest.mark.parametrize(
    "relative, tips, base", CASES, ids=[f"{c[0].split('/')[-1]}:{c[1] or 'leaves'}" for c in CASES]
)
def test_matches_pinocchio(relative, tips, base):
    path = str(robot_file(relative))
    module = compile_file(path, tips, base)
    oracle = PinocchioOracle(path)
    q = sample_q(module, batch=8, seed=1)
    poses, jacobians = module.forward_and_jacobian(q)
    poses = as_tips(poses, len(module.tip_names)).numpy()
    jacobians = as_tips(jacobians, len(module.tip_names)).numpy()
    for i in range(q.shape[0]):
        expected_pose, expected_jacobian = oracle(
            module.joint_names, module.tip_names, module.base_name, q[i].numpy()
        )
        np.testing.assert_allclose(poses[i], expected_pose, rtol=0, atol=1e-9)
        np.testing.assert_allclose(jacobians[i], expected_jacobian, rtol=0, atol=1e-9)


@pytest.mark.parametrize("floating", [False, True])
def test_points_on_links_match_pinocchio_frames(floating):
    """Points (position-only outputs) on a humanoid's links, at offsets, with their Jacobians."""
    path = str(robot_file("talos_data/robots/talos_full_v2.urdf"))
    places = [
        ("gripper_left_fingertip_1_link", (0.01, 0.02, -0.03)),
        ("leg_right_6_link", (0.0, 0.0, -0.1)),
        ("head_2_link", (0.05, 0.0, 0.1)),
        ("torso_2_link", (0.0, 0.0, 0.0)),
    ]
    points = tuple(symkin.Point(link, xyz, f"marker{k}") for k, (link, xyz) in enumerate(places))
    module = compile_file(path, ("arm_left_7_link",), None, floating, points)
    oracle = PinocchioOracle(path, free_flyer=floating)
    for k, (link, xyz) in enumerate(places):
        oracle.add_frame(f"marker{k}", link, xyz)
    q = sample_q(module, 4, seed=5)
    bases = random_base_poses(4, seed=6)
    arguments = (q, bases) if floating else (q,)
    positions, jacobians = module.points(*arguments), module.points_jacobian(*arguments)
    assert positions.shape == (4, 4, 3) and jacobians.shape == (
        4,
        4,
        3,
        module.jacobian(*arguments).shape[-1],
    )
    for i in range(4):
        expected_pose, expected_jacobian = oracle(
            module.joint_names,
            module.point_names,
            module.base_name,
            q[i].numpy(),
            bases[i].numpy() if floating else None,
        )
        np.testing.assert_allclose(positions[i].numpy(), expected_pose[:, :3, 3], atol=1e-9)
        np.testing.assert_allclose(jacobians[i].numpy(), expected_jacobian[:, :3], atol=1e-9)


def test_every_example_robot_data_urdf_parses():
    from helpers import ROBOTS

    import symkin

    failures = {}
    for path in sorted(ROBOTS.glob("*/*/*.urdf")):
        try:
            symkin.load_urdf(path)
        except symkin.SymkinError as error:
            failures[path.name] = error.message
    # ur3.urdf is an empty <robot> in the package itself; every other file must load.
    assert failures == {"ur3.urdf": "robot 'robot' has no links"}
    assert len(list(ROBOTS.glob("*/*/*.urdf"))) > 60
