"""Whole-body kinematics: floating bases, frames between any two links, planar joints."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from helpers import (
    PinocchioOracle,
    as_tips,
    compile_file,
    compile_model,
    random_base_poses,
    robot_file,
    sample_q,
)
from reference import JointSpec, finite_difference_jacobian, joint_values, pose, urdf_text

import symkin

# --- floating bases -----------------------------------------------------------------------------

FLOATING = [
    ("g1_description/urdf/g1_29dof_rev_1_0.urdf", None),  # humanoid, every leaf
    ("talos_data/robots/talos_full_v2.urdf", None),  # humanoid with 12 mimic joints
    ("solo_description/robots/solo12.urdf", None),  # quadruped
]


@pytest.mark.parametrize("relative, tips", FLOATING, ids=[c[0].split("/")[-1] for c in FLOATING])
def test_floating_base_matches_pinocchio_free_flyer(relative, tips):
    path = str(robot_file(relative))
    module = compile_file(path, tips, None, True)
    assert module.floating_base and module.base_name == symkin.load(path).root
    oracle = PinocchioOracle(path, free_flyer=True)
    q, base = sample_q(module, 6, seed=4), random_base_poses(6, seed=4)
    poses, jacobians = module.forward_and_jacobian(q, base)
    n, tips_count = len(module.joint_names), len(module.tip_names)
    assert jacobians.shape == (6, *(() if tips_count == 1 else (tips_count,)), 6, 6 + n)
    poses, jacobians = as_tips(poses, tips_count).numpy(), as_tips(jacobians, tips_count).numpy()
    for i in range(6):
        expected_pose, expected_jacobian = oracle(
            module.joint_names, module.tip_names, module.base_name, q[i].numpy(), base[i].numpy()
        )
        np.testing.assert_allclose(poses[i], expected_pose, rtol=0, atol=1e-9)
        np.testing.assert_allclose(jacobians[i], expected_jacobian, rtol=0, atol=1e-9)


@pytest.fixture(scope="module")
def solo():
    return compile_file(str(robot_file("solo_description/robots/solo12.urdf")), None, None, True)


def test_base_as_a_transform_or_a_quaternion(solo):
    q, base = sample_q(solo, 5), random_base_poses(5)
    rotation = symkin.quaternion_to_matrix(base[:, 3:])
    transform = torch.eye(4, dtype=torch.float64).repeat(5, 1, 1)
    transform[:, :3, :3], transform[:, :3, 3] = rotation, base[:, :3]
    for name in ("forward", "jacobian"):
        torch.testing.assert_close(
            getattr(solo, name)(q, transform), getattr(solo, name)(q, base), rtol=0, atol=1e-14
        )


def test_batch_shapes_of_q_and_base_broadcast(solo):
    q = sample_q(solo, 6).reshape(3, 2, -1)
    one_base = random_base_poses(1)[0]
    poses, jacobians = solo.forward_and_jacobian(q, one_base)
    assert poses.shape == (3, 2, 4, 4, 4) and jacobians.shape == (3, 2, 4, 6, 18)
    many_bases = random_base_poses(2)
    one_q = q[0, 0]
    assert solo(one_q, many_bases).shape == (2, 4, 4, 4)
    # One configuration may take the tree form and two the frame program: equal to rounding.
    torch.testing.assert_close(
        solo(one_q, many_bases)[1], solo(one_q, many_bases[1]), rtol=0, atol=1e-14
    )


def test_gradients_reach_q_and_both_forms_of_base(solo):
    q = sample_q(solo, 2).requires_grad_()
    base = random_base_poses(2).requires_grad_()
    assert torch.autograd.gradcheck(lambda x, b: solo(x, b), (q, base))
    assert torch.autograd.gradcheck(lambda x, b: solo.jacobian(x, b), (q, base))
    # A rigid transform, the exponential of a twist: the (..., 4, 4) form's gradient assumes one.
    twist = torch.randn(2, 4, 4, dtype=torch.float64) * torch.tensor([1.0, 1.0, 1.0, 0.0])[:, None]
    twist[:, :3, :3] = twist[:, :3, :3] - twist[:, :3, :3].mT
    transform = torch.linalg.matrix_exp(twist).requires_grad_()
    assert torch.autograd.gradcheck(lambda x, b: solo(x, b), (q, transform))
    assert torch.autograd.gradgradcheck(lambda x, b: solo(x, b), (q, base))


def test_base_quaternion_is_normalised_and_a_zero_one_is_the_identity(solo):
    q, base = sample_q(solo, 3), random_base_poses(3)
    scaled = base.clone()
    scaled[:, 3:] *= torch.tensor(
        [[0.1], [3.0], [-2.0]], dtype=torch.float64
    )  # -q is the same rotation as q
    torch.testing.assert_close(solo(q, scaled), solo(q, base), rtol=0, atol=1e-14)
    # As MuJoCo's mju_normalize4: a quaternion of zero norm is the identity, for that row only.
    zero = base.clone()
    zero[1, 3:] = 0
    identity = base.clone()
    identity[1, 3:] = torch.tensor([1.0, 0.0, 0.0, 0.0], dtype=torch.float64)
    torch.testing.assert_close(solo(q, zero), solo(q, identity), rtol=0, atol=0)
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 7\) or \(\.\.\., 4, 4\)"):
        solo(q, base[:, :6])
    with pytest.raises(ValueError, match="do not broadcast"):
        solo(q, random_base_poses(2))


def test_floating_module_compiles_with_fullgraph(solo):
    q, base = sample_q(solo, 4), random_base_poses(4)
    compiled = torch.compile(solo, fullgraph=True, backend="aot_eager")
    torch.testing.assert_close(compiled(q, base), solo(q, base), rtol=0, atol=1e-14)
    both = torch.compile(solo.forward_and_jacobian, fullgraph=True, backend="aot_eager")
    torch.testing.assert_close(
        both(q, base), solo.forward_and_jacobian(q, base), rtol=0, atol=1e-14
    )


ROOT_FLOATING = """<robot name="drone_arm">
  <link name="world"/><link name="body"/><link name="arm"/><link name="hand"/>
  <joint name="free" type="floating"><parent link="world"/><child link="body"/></joint>
  <joint name="shoulder" type="revolute"><parent link="body"/><child link="arm"/>
    <origin xyz="0.1 0 -0.05" rpy="0 0.3 0"/><axis xyz="0 1 0"/>
    <limit lower="-2" upper="2" effort="1" velocity="1"/></joint>
  <joint name="wrist" type="continuous"><parent link="arm"/><child link="hand"/>
    <origin xyz="0 0 -0.3"/><axis xyz="1 0 0"/></joint>
</robot>"""


def test_a_root_floating_joint_makes_a_floating_robot():
    model = symkin.parse_urdf(ROOT_FLOATING)
    assert model.floating and model.root == "body" and "world" not in model.links
    module = compile_model(model)
    assert (
        module.floating_base
        and module.joint_names == ("shoulder", "wrist")
        and module.tip_names == ("hand",)
    )
    without_world = ROOT_FLOATING.replace('<link name="world"/>', "").replace(
        '<joint name="free" type="floating"><parent link="world"/><child link="body"/></joint>', ""
    )
    oracle = PinocchioOracle(xml=without_world, free_flyer=True)
    q, base = sample_q(module, 4), random_base_poses(4)
    poses, jacobians = module.forward_and_jacobian(q, base)
    for i in range(4):
        expected_pose, expected_jacobian = oracle(
            module.joint_names, module.tip_names, "body", q[i].numpy(), base[i].numpy()
        )
        np.testing.assert_allclose(poses[i].numpy(), expected_pose[0], atol=1e-12)
        np.testing.assert_allclose(jacobians[i].numpy(), expected_jacobian[0], atol=1e-12)
    # Written back as URDF, the free body hangs from a world link by a floating joint again.
    assert symkin.parse_urdf(symkin.to_urdf(model)).floating


# --- frames between any two links ---------------------------------------------------------------

RELATIVE = [
    (
        "g1_description/urdf/g1_29dof_rev_1_0.urdf",
        ("right_rubber_hand", "head_link"),
        "left_ankle_roll_link",
    ),
    ("allegro_hand_description/urdf/allegro_right_hand.urdf", ("link_15.0_tip",), "link_3.0_tip"),
    (
        "talos_data/robots/talos_full_v2.urdf",
        ("gripper_left_fingertip_1_link",),
        "gripper_right_fingertip_1_link",
    ),
]


@pytest.mark.parametrize(
    "relative, tips, base", RELATIVE, ids=[c[0].split("/")[-1] for c in RELATIVE]
)
def test_frames_between_any_two_links_match_pinocchio(relative, tips, base):
    path = str(robot_file(relative))
    module = compile_file(path, tips, base)
    oracle = PinocchioOracle(path)
    q = sample_q(module, 5, seed=2)
    poses, jacobians = module.forward_and_jacobian(q)
    poses, jacobians = as_tips(poses, len(tips)).numpy(), as_tips(jacobians, len(tips)).numpy()
    for i in range(5):
        expected_pose, expected_jacobian = oracle(
            module.joint_names, module.tip_names, base, q[i].numpy()
        )
        np.testing.assert_allclose(poses[i], expected_pose, rtol=0, atol=1e-9)
        np.testing.assert_allclose(jacobians[i], expected_jacobian, rtol=0, atol=1e-9)
        for t in range(len(tips)):
            numeric = finite_difference_jacobian(
                lambda x, t=t: as_tips(module(torch.from_numpy(x)), len(tips))[t].numpy(),
                q[i].numpy(),
            )
            np.testing.assert_allclose(jacobians[i, t], numeric, atol=1e-7)


def test_joints_on_the_way_up_enter_inverted():
    """A tree where the path from the base climbs through a prismatic joint and a mimic joint."""
    links = ["root", "a", "b", "c", "d", "e"]
    joints = [
        JointSpec(
            "j1", "revolute", "root", "a", xyz=(0.1, 0, 0.2), rpy=(0.2, 0, 0.5), axis=(0, 0, 1)
        ),
        JointSpec(
            "j2", "prismatic", "a", "b", xyz=(0, 0.1, 0), axis=(0.6, 0.8, 0), lower=-0.2, upper=0.2
        ),
        JointSpec(
            "j3",
            "revolute",
            "b",
            "c",
            xyz=(0.3, 0, 0),
            rpy=(math.pi / 2, 0, 0),
            axis=(0, 1, 0),
            mimic=("j1", -0.7, 0.1),
        ),
        JointSpec("j4", "revolute", "root", "d", xyz=(-0.2, 0, 0.1), axis=(1, 0, 0)),
        JointSpec("j5", "continuous", "d", "e", xyz=(0, 0.2, 0), rpy=(0, 0.4, 0), axis=(0, 0, 1)),
    ]
    model = symkin.parse_urdf(urdf_text("climb", links, joints))
    module = compile_model(model, tips=["e", "a"], base="c")
    # In the order met walking from c: up through j3 (which mimics j1, so j1 enters q there) and j2,
    # then down.
    assert module.joint_names == ("j1", "j2", "j4", "j5")
    q = sample_q(module, 4, seed=7)
    poses, jacobians = module.forward_and_jacobian(q)
    for i in range(4):
        for t, tip in enumerate(("e", "a")):

            def reference(x, tip=tip):
                return pose(joints, "c", tip, joint_values(joints, module.joint_names, x))

            np.testing.assert_allclose(poses[i, t].numpy(), reference(q[i].numpy()), atol=1e-12)
            np.testing.assert_allclose(
                jacobians[i, t].numpy(),
                finite_difference_jacobian(reference, q[i].numpy()),
                atol=1e-7,
            )
        expected_pose, expected_jacobian = PinocchioOracle(xml=urdf_text("climb", links, joints))(
            module.joint_names, ("e", "a"), "c", q[i].numpy()
        )
        np.testing.assert_allclose(jacobians[i].numpy(), expected_jacobian, atol=1e-9)


# --- planar joints ------------------------------------------------------------------------------


def planar_robot(normal) -> tuple[list[str], list[JointSpec]]:
    links = ["ground", "cart", "pole"]
    joints = [
        JointSpec(
            "plane",
            "planar",
            "ground",
            "cart",
            xyz=(0.1, -0.2, 0.05),
            rpy=(0.1, 0.2, 0.3),
            axis=normal,
        ),
        JointSpec("hinge", "revolute", "cart", "pole", xyz=(0, 0, 0.2), axis=(0, 1, 0)),
    ]
    return links, joints


@pytest.mark.parametrize("normal", [(0, 0, 1), (1, 1, 0), (0.9, 0.1, 0.2), (1, 0, 0)])
def test_planar_joints_match_the_numeric_reference(normal):
    links, joints = planar_robot(normal)
    module = compile_model(symkin.parse_urdf(urdf_text("planar", links, joints)))
    assert module.joint_names == ("plane:x", "plane:y", "plane:theta", "hinge")
    assert module.lower[:3].isinf().all() and module.lower[3] == -3.0
    q = sample_q(module, 4, seed=1) * torch.tensor([3.0, 3.0, 1.0, 1.0], dtype=torch.float64)
    poses, jacobians = module.forward_and_jacobian(q)
    for i in range(4):

        def reference(x):
            return pose(joints, "ground", "pole", joint_values(joints, module.joint_names, x))

        np.testing.assert_allclose(poses[i].numpy(), reference(q[i].numpy()), atol=1e-12)
        np.testing.assert_allclose(
            jacobians[i].numpy(), finite_difference_jacobian(reference, q[i].numpy()), atol=1e-7
        )


def test_planar_joint_matches_pinocchio():
    """Pinocchio's planar joint is the xy plane of its frame: x, y and the angle about z, as
    symkin's for normal z."""
    import pinocchio as pin

    links, joints = planar_robot((0, 0, 1))
    text = urdf_text("planar", links, joints)
    module = compile_model(symkin.parse_urdf(text))
    model = pin.buildModelFromXML(text)
    data = model.createData()
    assert model.joints[model.getJointId("plane")].shortname() == "JointModelPlanar"
    q = sample_q(module, 5, seed=3) * torch.tensor([3.0, 3.0, 1.0, 1.0], dtype=torch.float64)
    for i in range(5):
        x, y, theta, hinge = q[i].tolist()
        pin.framesForwardKinematics(
            model, data, np.array([x, y, math.cos(theta), math.sin(theta), hinge])
        )
        np.testing.assert_allclose(
            module(q[i]).numpy(), data.oMf[model.getFrameId("pole")].homogeneous, atol=1e-12
        )


def test_planar_and_floating_in_info_and_convert():
    links, joints = planar_robot((0, 0, 1))
    model = symkin.parse_urdf(urdf_text("planar", links, joints))
    assert "plane:theta" in symkin.describe(model)
    text = symkin.to_urdf(model)
    assert (
        text.count('type="planar"') == 1 and "plane:x" not in text
    )  # written back as the one planar joint
    again = symkin.parse_urdf(text)
    q = sample_q(compile_model(model), 3)
    torch.testing.assert_close(compile_model(again)(q), compile_model(model)(q), rtol=0, atol=1e-12)


def test_show_and_report_of_a_floating_robot_say_the_base_is_free(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    from symkin.cli import main

    path = tmp_path / "drone_arm.urdf"
    path.write_text(ROOT_FLOATING)
    assert main(["show", str(path), "--what", "position"]) == 0
    out = capsys.readouterr().out
    assert (
        "position of hand in body (a free body: in the world, X_world_tip = X_world_base · "
        "X_base_tip)" in out
    )
    assert main(["report", str(path), "-o", str(tmp_path / "report"), "-q"]) == 0
    markdown = (tmp_path / "report" / "report.md").read_text()
    assert "Base link `body` (a free body" in markdown and "skeleton_random.png" in markdown
