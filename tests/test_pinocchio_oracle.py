"""Poses and Jacobians of real robots from example-robot-data against Pinocchio, float64, to 1e-9."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import PinocchioOracle, as_tips, compile_file, robot_file, sample_q

# (file, tips, base): arms, continuous and prismatic joints, mimic joints, trees, a non-root base.
CASES = [
    ("panda_description/urdf/panda.urdf", ("panda_hand_tcp",), None),
    (
        "panda_description/urdf/panda.urdf",
        None,
        None,
    ),  # every leaf: hand and both fingers (one mimics)
    ("ur_description/urdf/ur5_robot.urdf", ("tool0",), "base_link"),
    ("kinova_description/robots/kinova.urdf", None, None),  # continuous joints
    (
        "tiago_description/robots/tiago_no_hand.urdf",
        ("arm_tool_link", "head_2_link"),
        None,
    ),  # prismatic torso
    (
        "talos_data/robots/talos_left_arm.urdf",
        None,
        None,
    ),  # gripper mimic joints, multipliers and offsets
    ("baxter_description/urdf/baxter.urdf", ("left_gripper", "right_gripper"), None),
    ("allegro_hand_description/urdf/allegro_right_hand.urdf", None, None),  # four-finger tree
    ("solo_description/robots/solo12.urdf", None, None),  # four legs
    ("xarm_description/urdf/xarm7.urdf", None, None),
    ("z1_description/urdf/z1.urdf", None, None),
    ("so_arm_description/urdf/so100.urdf", None, None),
    (
        "g1_description/urdf/g1_29dof_rev_1_0.urdf",
        ("left_ankle_roll_link", "right_wrist_yaw_link"),
        "pelvis",
    ),
    (
        "pr2_description/urdf/pr2.urdf",
        ("r_gripper_tool_frame",),
        "torso_lift_link",
    ),  # base below the root
    ("g1_description/urdf/g1_29dof_rev_1_0.urdf", None, None),  # 29-DOF humanoid, every leaf
    ("talos_data/robots/talos_full_v2.urdf", None, None),  # humanoid with 12 mimic gripper joints
    ("tiago_description/robots/tiago_dual.urdf", None, None),  # 101 joints, 31 moving leaves
]


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
