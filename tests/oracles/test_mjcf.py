"""MJCF input through MuJoCo, checked against MuJoCo itself: gymnasium's models and a file per
feature."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

mujoco = pytest.importorskip("mujoco")
gymnasium = pytest.importorskip("gymnasium")

from helpers import as_tips, compile_model, random_base_poses, sample_q  # noqa: E402
from mjcf_oracle import MujocoOracle  # noqa: E402
from reference import finite_difference_jacobian  # noqa: E402

import symkin  # noqa: E402
from symkin.cli import main  # noqa: E402

GYMNASIUM = Path(gymnasium.__file__).parent / "envs/mujoco/assets"
MUJOCO_TESTDATA = Path(mujoco.__file__).parent / "testdata"
GYMNASIUM_FILES = [
    "ant",
    "half_cheetah",
    "hopper",
    "humanoid",
    "walker2d",
    "reacher",
    "pusher",
    "swimmer",
    "inverted_double_pendulum",
]


def check_against_mujoco(path: Path, tips=None, base=None, couple_joints=False, configurations=5):
    model = symkin.load_mjcf(path, couple_joints=couple_joints, notes=lambda message: None)
    module = compile_model(model, tips, base)
    oracle = MujocoOracle(path)
    q = sample_q(module, configurations, seed=11)
    bases = random_base_poses(configurations, seed=12)
    if module.floating_base:
        poses, jacobians = module.forward_and_jacobian(q, bases)
    else:
        poses, jacobians = module.forward_and_jacobian(q)
    tips_count = len(module.tip_names)
    poses, jacobians = as_tips(poses, tips_count).numpy(), as_tips(jacobians, tips_count).numpy()
    for i in range(configurations):
        base_pose = bases[i].numpy() if module.floating_base else None
        expected_pose, expected_jacobian = oracle(
            module.joint_names, module.tip_names, q[i].numpy(), base_pose
        )
        np.testing.assert_allclose(poses[i], expected_pose, rtol=0, atol=1e-9)
        np.testing.assert_allclose(jacobians[i], expected_jacobian, rtol=0, atol=1e-9)
    return module, oracle


@pytest.mark.parametrize("name", GYMNASIUM_FILES)
def test_gymnasium_models_match_mujoco(name):
    path = GYMNASIUM / f"{name}.xml"
    module, oracle = check_against_mujoco(path)
    # With every leaf a tip, q is MuJoCo's qpos order of the hinge and slide joints: data.qpos[7:]
    # for a free robot.
    assert list(module.joint_names) == oracle.joint_names_in_qpos_order()


def test_the_example_arm_and_its_attachment_site_match_mujoco():
    from helpers import REPO

    module, _ = check_against_mujoco(REPO / "examples/arm.xml", ("attachment_site",))
    assert module.joint_names == (
        "shoulder_pan",
        "shoulder_lift",
        "elbow",
        "wrist_1",
        "wrist_2",
        "wrist_3",
    )


def test_a_free_joint_makes_a_floating_base_module_fed_from_qpos():
    path = GYMNASIUM / "humanoid.xml"
    module, _ = check_against_mujoco(path)
    assert (
        module.floating_base
        and module.base_name == "torso"
        and "world" not in symkin.load(path).links
    )


def test_q_is_in_qpos_order_whatever_the_tips_and_qpos_indices_feed_it():
    """The left foot asked for first: the walk meets the left leg first, MuJoCo's qpos has the right
    leg first. q follows qpos, and qpos[..., qpos_indices] feeds the module straight from MuJoCo's
    state (the free joint: qpos[:7], MuJoCo's position and w-first quaternion); qvel_indices picks
    the Jacobian's columns out of MuJoCo's."""
    path = GYMNASIUM / "humanoid.xml"
    tips = ("left_foot", "right_foot")
    module = compile_model(symkin.load(path), tips)
    oracle = MujocoOracle(path)
    assert list(module.joint_names) == oracle.joint_names_in_qpos_order()[:11]
    assert module.qpos_indices == tuple(range(7, 18))
    assert module.qvel_indices == tuple(range(6, 17))
    model, data = oracle.model, oracle.data
    generator = np.random.default_rng(3)
    data.qpos[:] = model.qpos0 + 0.3 * generator.standard_normal(model.nq)
    data.qpos[3:7] /= np.linalg.norm(data.qpos[3:7])
    mujoco.mj_kinematics(model, data)
    mujoco.mj_comPos(model, data)  # mj_jacBody reads the bodies' subtree centres
    qpos = torch.from_numpy(data.qpos.copy())
    poses = module(qpos[..., module.qpos_indices], qpos[..., :7])
    for t, tip in enumerate(tips):
        body = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, tip)
        np.testing.assert_allclose(poses[t, :3, 3].numpy(), data.xpos[body], atol=1e-12)
        np.testing.assert_allclose(
            poses[t, :3, :3].numpy(), data.xmat[body].reshape(3, 3), atol=1e-12
        )
        # MuJoCo's world-frame Jacobian of the body origin, restricted to the legs' joints:
        # the module's columns for q, in world axes (the base's columns aside).
        translational, rotational = np.zeros((3, model.nv)), np.zeros((3, model.nv))
        mujoco.mj_jacBody(model, data, translational, rotational, body)
        columns = module.jacobian(qpos[..., module.qpos_indices], qpos[..., :7])[t, :, 6:]
        expected = np.concatenate([translational, rotational])[:, list(module.qvel_indices)]
        np.testing.assert_allclose(columns.numpy(), expected, atol=1e-12)


def test_geoms_are_tips_and_modules_name_their_mujoco_ids():
    """Ant's feet are geoms: asked for by name, checked against MuJoCo's geom frames; the module
    maps each tip to its body, site or geom id."""
    path = GYMNASIUM / "ant.xml"
    tips = ("left_ankle_geom", "fourth_ankle_geom", "torso", "front_left_leg")
    module, oracle = check_against_mujoco(path, tips)
    model = oracle.model
    geom = mujoco.mjtObj.mjOBJ_GEOM
    body = mujoco.mjtObj.mjOBJ_BODY
    assert module.geom_ids == {
        "left_ankle_geom": mujoco.mj_name2id(model, geom, "left_ankle_geom"),
        "fourth_ankle_geom": mujoco.mj_name2id(model, geom, "fourth_ankle_geom"),
    }
    assert module.body_ids == {
        "torso": mujoco.mj_name2id(model, body, "torso"),
        "front_left_leg": mujoco.mj_name2id(model, body, "front_left_leg"),
    }
    assert module.site_ids == {}


def test_a_joint_named_as_a_tip_points_to_the_link_it_moves(capsys):
    status = main(["compile", str(GYMNASIUM / "ant.xml"), "--tip", "hip_1", "-q"])
    assert status == 2
    assert "'hip_1' is a joint; the link it moves is 'aux_1'" in capsys.readouterr().err


def test_mujocos_own_test_model_is_refused_clearly(capsys, tmp_path):
    status = main(
        ["compile", str(MUJOCO_TESTDATA / "model.xml"), "-o", str(tmp_path / "out.py"), "-q"]
    )
    err = capsys.readouterr().err
    assert status == 2 and err.splitlines()[-1].endswith(
        "several free bodies ('head', 'cylinder', 'body11', 'body12', 'tumbling'): symkin compiles "
        "one mechanism with at most one free root"
    )
    assert "Traceback" not in err and not (tmp_path / "out.py").exists()


# --- one file per feature -----------------------------------------------------------------------

FEATURES = {
    "degrees and every orientation form": """
<mujoco model="orientations">
  <compiler angle="degree" eulerseq="zyx" boundmass="1e-3" boundinertia="1e-6"/>
  <worldbody>
    <body name="a" pos="0.1 0.2 0.3" euler="30 -20 45">
      <joint name="j1" type="hinge" axis="0 0 1" range="-170 170"/>
      <body name="b" pos="0.3 0 0" axisangle="1 1 0 60">
        <joint name="j2" type="hinge" axis="0 1 0"/>
        <body name="c" pos="0 0.2 0" quat="0.9 0.1 -0.3 0.2">
          <joint name="j3" type="slide" axis="1 0 0" range="-0.2 0.2"/>
          <body name="d" pos="0 0 0.1" xyaxes="0 1 0 -1 0 0.3">
            <joint name="j4" type="hinge" axis="1 0 0"/>
            <body name="e" pos="0.05 0 0" zaxis="0.3 -0.4 1"><joint name="j5" type="hinge"/></body>
            <body name="f" pos="0 0.1 0" euler="90 0 90">
              <joint name="j6" type="hinge" axis="0 0 1"/></body>
          </body>
        </body>
      </body>
    </body>
  </worldbody>
</mujoco>""",
    "radians and an xyz Euler sequence": """
<mujoco model="radians">
  <compiler angle="radian" eulerseq="XYZ" boundmass="1e-3" boundinertia="1e-6"/>
  <worldbody>
    <body name="a" euler="0.3 1.1 -0.4"><joint name="j1" axis="0 1 0" range="-1 1"/>
      <body name="b" pos="0 0 0.4" euler="1.5707963267948966 0 0">
        <joint name="j2" axis="1 0 0"/></body>
    </body>
  </worldbody>
</mujoco>""",
    "defaults and childclass": """
<mujoco model="classes">
  <compiler angle="degree" boundmass="1e-3" boundinertia="1e-6"/>
  <default>
    <joint type="hinge" axis="0 0 1"/>
    <default class="arm"><joint axis="0 1 0" range="-90 90" limited="true"/></default>
    <default class="slider"><joint type="slide" axis="1 0 0" range="-0.1 0.3"/></default>
  </default>
  <worldbody>
    <body name="base"><joint name="yaw"/>
      <body name="arm" childclass="arm" pos="0 0 0.3"><joint name="shoulder"/>
        <body name="fore" pos="0.4 0 0"><joint name="elbow"/>
          <body name="tool" pos="0.3 0 0"><joint name="extend" class="slider"/></body>
        </body>
      </body>
    </body>
  </worldbody>
</mujoco>""",
    "frames": """
<mujoco model="frames">
  <compiler boundmass="1e-3" boundinertia="1e-6"/>
  <worldbody>
    <frame pos="0.5 0 0" euler="0 0 1.5707963267948966">
      <body name="a" pos="0.2 0 0"><joint name="j1" axis="0 0 1"/>
        <frame pos="0 0.1 0" quat="0.7071067811865476 0.7071067811865476 0 0">
          <body name="b" pos="0 0 0.3"><joint name="j2" axis="0 1 0"/></body>
        </frame>
      </body>
    </frame>
  </worldbody>
</mujoco>""",
    "several joints in one body, with anchors off its origin and reference positions": """
<mujoco model="joints">
  <compiler boundmass="1e-3" boundinertia="1e-6"/>
  <worldbody>
    <body name="torso" pos="0 0 1">
      <joint name="slide_x" type="slide" axis="1 0 0"/>
      <joint name="slide_z" type="slide" axis="0 0 1" ref="0.3"/>
      <joint name="pitch" type="hinge" axis="0 1 0" pos="0.1 0 -0.2" ref="0.4"/>
      <body name="thigh" pos="0 0 -0.4">
        <joint name="hip_x" axis="1 0 0" pos="0 0.05 0.1" range="-1 1"/>
        <joint name="hip_y" axis="0 1 0" pos="0.02 0 0.1" range="-1.5 0.5"/>
        <joint name="hip_z" axis="0 0 1" pos="0 0 0.1" ref="-0.2"/>
        <body name="shin" pos="0 0 -0.45">
          <joint name="knee" axis="0 -1 0" pos="0 0 0.02" range="-2.5 0"/></body>
      </body>
    </body>
  </worldbody>
</mujoco>""",
    "sites as tips": """
<mujoco model="sites">
  <compiler boundmass="1e-3" boundinertia="1e-6"/>
  <worldbody>
    <body name="link1"><joint name="j1" axis="0 0 1"/>
      <body name="link2" pos="0.3 0 0" euler="0 0.5 0"><joint name="j2" axis="0 1 0"/>
        <site name="attachment_site" pos="0.2 0 0.05" quat="0.5 0.5 0.5 0.5"/>
        <site name="link2" pos="0.1 0 0"/>
      </body>
    </body>
  </worldbody>
</mujoco>""",
    "a free joint": """
<mujoco model="free">
  <compiler boundmass="1e-3" boundinertia="1e-6"/>
  <worldbody>
    <geom name="floor" type="plane" size="1 1 0.1"/>
    <body name="table" pos="1 0 0"><geom type="box" size="0.2 0.2 0.2"/></body>
    <body name="body" pos="0 0 0.5" quat="0.9 0 0.3 0.1"><freejoint name="root"/>
      <body name="arm" pos="0.2 0 0"><joint name="shoulder" axis="0 1 0"/>
        <body name="hand" pos="0.3 0 0"><joint name="wrist" axis="1 0 0" pos="-0.05 0 0"/></body>
      </body>
    </body>
  </worldbody>
</mujoco>""",
    "names MuJoCo keeps apart by kind (prefixed arms, sites named as joints, unnamed bodies)": """
<mujoco model="bimanual">
  <compiler boundmass="1e-3" boundinertia="1e-6"/>
  <worldbody>
    <body name="left/base" pos="0 0.3 0">
      <body name="left/link1" pos="0 0 0.1"><joint name="left/joint1" axis="0 0 1"/>
        <site name="left/joint1" pos="0 0 0.1"/>
        <body pos="0.2 0 0"><joint axis="0 1 0"/><site name="left/joint1/placement"/></body>
      </body>
    </body>
    <body name="right/base" pos="0 -0.3 0">
      <body name="right/link1" pos="0 0 0.1"><joint name="right/joint1" axis="0 0 1"/>
        <site name="right/joint1" pos="0 0 0.1"/>
        <body pos="0.2 0 0"><joint axis="0 1 0"/></body>
      </body>
    </body>
  </worldbody>
</mujoco>""",
    "a free body alone, with sites (a drone)": """
<mujoco model="drone">
  <worldbody>
    <body name="core" pos="0 0 1"><freejoint/>
      <geom type="box" size="0.1 0.1 0.02" mass="1"/>
      <site name="imu" pos="0 0 0.01"/><site name="rotor1" pos="0.1 0.1 0.02" euler="0 0 0.3"/>
    </body>
  </worldbody>
</mujoco>""",
}


@pytest.mark.parametrize("feature", FEATURES)
def test_feature_matches_mujoco(feature, tmp_path):
    path = tmp_path / "robot.xml"
    path.write_text(FEATURES[feature])
    tips = ("attachment_site", "link2.site", "link2") if feature == "sites as tips" else None
    module, _ = check_against_mujoco(path, tips)
    q = sample_q(module, 2, seed=5)
    for i in range(2 if module.joint_names else 0):  # the Jacobian differentiates the pose

        def pose_of(x):
            arguments = (torch.from_numpy(x),) + (
                (random_base_poses(1, seed=6)[0],) if module.floating_base else ()
            )
            return as_tips(module(*arguments), len(module.tip_names))[0].numpy()

        jacobian = as_tips(
            module.jacobian(
                q[i], *((random_base_poses(1, seed=6)[0],) if module.floating_base else ())
            ),
            len(module.tip_names),
        )[0]
        shift = 6 if module.floating_base else 0
        np.testing.assert_allclose(
            jacobian[:, shift:].numpy(),
            finite_difference_jacobian(pose_of, q[i].numpy()),
            atol=1e-7,
        )


def test_a_free_body_alone_maps_its_pose_to_its_sites_or_itself(tmp_path):
    """A drone's sites are its default tips (checked against MuJoCo among the features); a free
    body without sites or joints (a one-link URDF with a floating base) is its own tip."""
    path = tmp_path / "drone.xml"
    path.write_text(FEATURES["a free body alone, with sites (a drone)"])
    drone = compile_model(symkin.load(path))
    assert drone.tip_names == ("imu", "rotor1") and drone.joint_names == ()
    urdf = tmp_path / "brick.urdf"
    urdf.write_text('<robot name="brick"><link name="brick"/></robot>')
    brick = compile_model(symkin.load(urdf), floating_base=True)
    base = random_base_poses(3, seed=1)
    poses, jacobians = brick.forward_and_jacobian(torch.zeros(3, 0, dtype=torch.float64), base)
    assert brick.tip_names == ("brick",) and jacobians.shape == (3, 6, 6)
    torch.testing.assert_close(poses[:, :3, 3], base[:, :3])
    # The base's twist in base axes, as world-axes velocities of the base itself: diag(R, R).
    R, zero = poses[:, :3, :3], torch.zeros(3, 3, 3, dtype=torch.float64)
    expected = torch.cat([torch.cat([R, zero], -1), torch.cat([zero, R], -1)], -2)
    torch.testing.assert_close(jacobians, expected)


def test_includes_are_resolved(tmp_path):
    (
        tmp_path / "arm.xml"
    ).write_text("""<mujoco><compiler boundmass="1e-3" boundinertia="1e-6"/><worldbody>
      <body name="upper" pos="0 0 0.2"><joint name="shoulder" axis="0 1 0"/>
        <body name="lower" pos="0.3 0 0"><joint name="elbow" axis="0 1 0"/></body>
      </body></worldbody></mujoco>""")
    (tmp_path / "robot.xml").write_text(
        """<mujoco model="with_include"><include file="arm.xml"/></mujoco>"""
    )
    module, _ = check_against_mujoco(tmp_path / "robot.xml")
    assert module.joint_names == ("shoulder", "elbow")


COUPLED = """
<mujoco model="gripper">
  <compiler boundmass="1e-3" boundinertia="1e-6"/>
  <worldbody>
    <body name="palm"><joint name="wrist" axis="0 0 1"/>
      <body name="left" pos="0 0.05 0.1">
        <joint name="left_finger" type="slide" axis="0 1 0" range="0 0.04"/></body>
      <body name="right" pos="0 -0.05 0.1">
        <joint name="right_finger" type="slide" axis="0 -1 0" range="0 0.04" ref="0.01"/></body>
      <body name="thumb" pos="0.05 0 0.1"><joint name="thumb" axis="1 0 0"/></body>
    </body>
  </worldbody>
  <equality>
    <joint name="mirror" joint1="right_finger" joint2="left_finger" polycoef="0.002 1.5 0 0 0"/>
    <joint name="curl" joint1="thumb" joint2="wrist" polycoef="0 1 0.5 0 0"/>
    <connect name="tie" body1="left" body2="right" anchor="0 0 0"/>
  </equality>
</mujoco>"""


def test_joint_equalities_couple_joints_only_when_asked(tmp_path):
    path = tmp_path / "gripper.xml"
    path.write_text(COUPLED)
    notes: list[str] = []
    every = symkin.load(path, notes=notes.append)
    assert (
        "right_finger" in symkin.derive(every).joint_names
    )  # by default every joint is in q, as in qpos
    assert any("connect equality 'tie'" in n for n in notes)
    assert any("coupling joints makes linear ones mimic joints" in n for n in notes)
    notes.clear()
    coupled = symkin.load_mjcf(path, couple_joints=True, notes=notes.append)
    kinematics = symkin.derive(coupled)
    assert kinematics.joint_names == (
        "wrist",
        "left_finger",
        "thumb",
    )  # the linear one is a mimic joint now
    assert any(
        "'curl' is not a linear coupling" in n for n in notes
    )  # the quadratic one stays a joint of q
    module = compile_model(coupled)
    oracle = MujocoOracle(path)
    q = sample_q(module, 4, seed=9)
    poses, jacobians = module.forward_and_jacobian(q)
    for i in range(4):
        left = q[i, 1].item()
        values = {"wrist": q[i, 0].item(), "left_finger": left, "thumb": q[i, 2].item()}
        # MuJoCo's equality holds right − ref_right = 0.002 + 1.5·(left − ref_left): set qpos to
        # satisfy it.
        values["right_finger"] = 0.01 + 0.002 + 1.5 * left
        names = tuple(values)
        expected_pose, expected_jacobian = oracle(
            names, module.tip_names, np.array(list(values.values()))
        )
        np.testing.assert_allclose(poses[i].numpy(), expected_pose, atol=1e-12)
        # The mimic joint's column adds into its source's, with the multiplier.
        combined = expected_jacobian[..., [0, 1, 2]].copy()
        combined[..., 1] += 1.5 * expected_jacobian[..., 3]
        np.testing.assert_allclose(jacobians[i].numpy(), combined, atol=1e-12)


def test_cli_reads_mjcf_and_converts_it_to_urdf(tmp_path, capsys):
    path = tmp_path / "robot.xml"
    path.write_text(
        FEATURES["several joints in one body, with anchors off its origin and reference positions"]
    )
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "thigh/hip_x" in out and "DOF: 7" in out
    assert main(["compile", str(path), "-o", str(tmp_path / "joints.py"), "-q"]) == 0
    assert (
        main(["convert", str(path), "-o", str(tmp_path / "joints.urdf")]) == 2
    )  # unbounded slides: no URDF equivalent
    assert (
        "URDF cannot express the unbounded limits of a prismatic joint" in capsys.readouterr().err
    )
    bounded = tmp_path / "bounded.xml"
    bounded.write_text(FEATURES["defaults and childclass"])
    assert main(["convert", str(bounded), "-o", str(tmp_path / "bounded.urdf")]) == 0
    original, converted = symkin.load(bounded), symkin.load(tmp_path / "bounded.urdf")
    q = sample_q(compile_model(original), 5)
    torch.testing.assert_close(
        compile_model(converted).forward_and_jacobian(q),
        compile_model(original).forward_and_jacobian(q),
        rtol=0,
        atol=1e-12,
    )


def test_missing_mujoco_is_one_line(monkeypatch, tmp_path):
    path = tmp_path / "robot.xml"
    path.write_text(FEATURES["frames"])
    monkeypatch.setitem(__import__("sys").modules, "mujoco", None)
    with pytest.raises(
        symkin.SymkinError,
        match=r"reading MJCF needs the mujoco package: pip install 'symkin\[mjcf\]'",
    ):
        symkin.load(path)


def test_a_file_mujoco_rejects_is_one_line(tmp_path, capsys):
    path = tmp_path / "broken.xml"
    path.write_text(
        """<mujoco><worldbody><body name="a"><joint name="j" type="hinge" axis="0 0
        0"/></body></worldbody></mujoco>"""
    )
    assert main(["compile", str(path), "-q", "-o", str(tmp_path / "x.py")]) == 2
    err = capsys.readouterr().err
    assert (
        err.startswith(f"symkin: error: {path}: MuJoCo rejected the file: ")
        and err.count("\n") == 1
    )
