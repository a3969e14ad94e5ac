"""Bad inputs, hostile names, hardened XML, random trees against the numeric reference, numerical range."""

from __future__ import annotations

import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import compile_model, sample_q
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference import JointSpec, finite_difference_jacobian, joint_values, pose, urdf_text

import symkin
from symkin.cli import main

BAD_INPUTS = Path(__file__).parent / "bad_inputs"
CORPUS = sorted(p for p in BAD_INPUTS.iterdir() if p.suffix in (".urdf", ".toml"))


def test_the_corpus_is_large_and_every_file_says_what_it_expects():
    assert len(CORPUS) >= 30
    assert all(p.with_name(p.name + ".expect").is_file() for p in CORPUS)


@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_bad_input_is_one_line_error_and_writes_nothing(path, tmp_path, capsys):
    expected = path.with_name(path.name + ".expect").read_text().strip()
    out = tmp_path / "out.py"
    started = time.perf_counter()
    status = main(["compile", str(path), "-o", str(out), "-q"])
    captured = capsys.readouterr()
    assert time.perf_counter() - started < 10, "a bad input must fail fast"
    assert status == 2 and captured.out == ""
    assert captured.err.startswith(f"symkin: error: {path}: ") and captured.err.count("\n") == 1, (
        captured.err
    )
    assert expected in captured.err, captured.err
    assert list(tmp_path.iterdir()) == []


HOSTILE = [
    "x'); import os; os.system('touch PWNED'); ('",
    'x""" + __import__("os").system("touch PWNED") + """',
    "line\nbreak",
    "back\\slash",
    "{{ 7*7 }}",
    "{% raw %}",
    "class",
    "__init__",
    "ünïcødé",
    "has space",
    "9lives",
    "torch",
    "q",
    "self",
    "\u2028sep",
]


def _xml_attribute(text: str) -> str:
    escaped = (
        text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
    )
    return escaped.replace("\n", "&#10;").replace("\u2028", "&#8232;")


def test_hostile_names_are_kept_verbatim_and_never_executed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    links = ["base", *HOSTILE[:8]]
    joints = [
        JointSpec(
            HOSTILE[8 + i % 7] + str(i),
            "revolute" if i % 2 == 0 else "prismatic",
            links[i],
            links[i + 1],
            xyz=(0.1, 0.0, 0.05 * i),
            axis=(0, 0, 1) if i % 3 else (1, 0, 0),
        )
        for i in range(len(links) - 1)
    ]
    text = urdf_text("robot", links, joints)
    for name in {*HOSTILE, "robot"}:
        text = text.replace(f'"{name}"', f'"{_xml_attribute(name)}"')
    text = text.replace('<robot name="robot">', f'<robot name="{_xml_attribute(HOSTILE[0])}">')
    path = tmp_path / "hostile.urdf"
    path.write_text(text)
    assert main(["compile", str(path), "-o", "hostile.py", "-q"]) == 0
    source = (tmp_path / "hostile.py").read_text()
    compile(source, "hostile.py", "exec")  # valid Python
    module_type = symkin.module_class(symkin.load_module(source))
    module = module_type()
    assert not (tmp_path / "PWNED").exists()
    assert module.robot_name == HOSTILE[0]
    assert module.joint_names == tuple(j.name for j in joints)
    assert module.tip_names == (links[-1],)
    q = sample_q(module, 4)
    for i in range(4):
        expected = pose(
            joints, "base", links[-1], joint_values(joints, module.joint_names, q[i].numpy())
        )
        np.testing.assert_allclose(module(q[i]).numpy(), expected, atol=1e-12)
    # Input text reaches the source only inside string literals and comments, and never as a raw line separator.
    import io
    import tokenize

    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if any(marker in token.string for marker in ("PWNED", "7*7", "raw %", "sep")):
            assert token.type in (tokenize.STRING, tokenize.COMMENT, tokenize.NAME), (
                token
            )  # names: sanitised identifiers
    assert "\u2028" not in source


def test_entity_bomb_is_refused_fast():
    bomb = (BAD_INPUTS / "entity_bomb.urdf").read_bytes()
    started = time.perf_counter()
    with pytest.raises(symkin.SymkinError, match="DTD"):
        symkin.parse_urdf(bomb)
    assert time.perf_counter() - started < 1


def test_external_entities_are_not_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    document = f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "{secret.as_uri()}">]><robot name="&x;"><link name="a"/></robot>'
    with pytest.raises(symkin.SymkinError) as error:
        symkin.parse_urdf(document)
    assert "TOP SECRET" not in str(error.value)


# --- Random kinematic trees against the numeric reference -------------------------------------------------------

QUARTER = math.pi / 2
numbers = st.floats(-0.5, 0.5, allow_nan=False)
angles = st.one_of(
    st.floats(-math.pi, math.pi, allow_nan=False), st.integers(-2, 2).map(lambda k: k * QUARTER)
)
axes = st.one_of(
    st.sampled_from([(1, 0, 0), (0, 1, 0), (0, 0, 1), (0, 0, -1), (-1, 0, 0)]),
    st.tuples(numbers, numbers, numbers).filter(lambda v: math.hypot(*v) > 0.1),
)


@st.composite
def random_trees(draw):
    count = draw(st.integers(1, 7))
    links = ["l0"]
    joints: list[JointSpec] = []
    for i in range(1, count + 1):
        parent = draw(st.sampled_from(links))
        moving = [j.name for j in joints if j.type != "fixed"]
        kind = draw(st.sampled_from(["revolute", "continuous", "prismatic", "fixed", "mimic"]))
        mimic = None
        if kind == "mimic":
            if not moving:
                kind = "revolute"
            else:
                multiplier = draw(st.one_of(st.sampled_from([1.0, -1.0]), st.floats(-2, 2)))
                mimic = (
                    draw(st.sampled_from(moving)),
                    multiplier,
                    draw(st.one_of(st.just(0.0), st.floats(-0.5, 0.5))),
                )
                kind = draw(st.sampled_from(["revolute", "prismatic"]))
        joints.append(
            JointSpec(
                f"j{i}",
                kind,
                parent,
                f"l{i}",
                xyz=draw(st.tuples(numbers, numbers, numbers)),
                rpy=draw(st.tuples(angles, angles, angles)),
                axis=draw(axes),
                lower=-1.0,
                upper=1.0,
                mimic=mimic,
            )
        )
        links.append(f"l{i}")
    return links, joints


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_trees(), st.integers(0, 2**16))
def test_random_trees_match_the_numeric_reference(tree, seed):
    links, joints = tree
    model = symkin.parse_urdf(urdf_text("random", links, joints))
    module = compile_model(model)
    assert (
        symkin.simplify(symkin.derive(model)).ops.arithmetic >= 0
    )  # the closed form's count never crashes
    if not module.joint_names:
        q = torch.zeros(2, 0, dtype=torch.float64)
    else:
        q = sample_q(module, 2, seed=seed)
    poses, jacobians = module.forward_and_jacobian(q)
    tips = module.tip_names
    poses = poses.reshape(2, len(tips), 4, 4)
    jacobians = jacobians.reshape(2, len(tips), 6, len(module.joint_names))
    for i in range(2):
        q_i = q[i].numpy()
        for t, tip in enumerate(tips):

            def tip_pose(x, tip=tip):
                return pose(joints, "l0", tip, joint_values(joints, module.joint_names, x))

            np.testing.assert_allclose(poses[i, t].numpy(), tip_pose(q_i), atol=1e-9, rtol=0)
            if module.joint_names:
                np.testing.assert_allclose(
                    jacobians[i, t].numpy(),
                    finite_difference_jacobian(tip_pose, q_i),
                    atol=1e-6,
                    rtol=0,
                )


# --- Numerical behaviour -------------------------------------------------------------------------------------------


def test_outputs_stay_finite_for_large_joint_values():
    from helpers import compile_file, robot_file

    module = compile_file(
        str(robot_file("tiago_description/robots/tiago_no_hand.urdf")), ("arm_tool_link",)
    )
    q = (torch.rand(64, len(module.joint_names), dtype=torch.float64) * 2 - 1) * 1e3
    for dtype in (torch.float64, torch.float32):
        pose, jacobian = module.forward_and_jacobian(q.to(dtype))
        assert torch.isfinite(pose).all() and torch.isfinite(jacobian).all()
        R = pose[..., :3, :3].double()
        assert (R @ R.transpose(-1, -2) - torch.eye(3, dtype=torch.float64)).abs().max() < 1e-5


def test_extreme_but_valid_constants(tmp_path):
    joints = [
        JointSpec(
            "j1",
            "revolute",
            "a",
            "b",
            xyz=(1e4, -1e-9, 3e3),
            rpy=(1e-12, 3.0, -2.9),
            axis=(1e-6, 0, 1),
        ),
        JointSpec(
            "j2", "prismatic", "b", "c", xyz=(1e-8, 0, 0), axis=(0, 1e5, 0), lower=-1e3, upper=1e3
        ),
    ]
    module = compile_model(symkin.parse_urdf(urdf_text("extreme", ["a", "b", "c"], joints)))
    q = sample_q(module, 8)
    for i in range(8):
        expected = pose(joints, "a", "c", joint_values(joints, module.joint_names, q[i].numpy()))
        np.testing.assert_allclose(module(q[i]).numpy(), expected, rtol=1e-12, atol=1e-9)


def test_generated_module_imports_without_side_effects(tmp_path):
    from helpers import REPO

    script = "import sys, runpy; sys.path.insert(0, sys.argv[1]); import panda; print(sorted(set(sys.modules) - set(sys.builtin_module_names))[:0])"
    result = subprocess.run(
        [sys.executable, "-c", script, str(REPO / "generated")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 and result.stdout.strip() == "[]" and result.stderr == ""
    assert list(tmp_path.iterdir()) == []


# --- quirks of real files -------------------------------------------------------------------------

CLEAN = """<robot name="r">
  <link name="a"><visual><geometry><box size="1 1 1"/></geometry></visual></link>
  <link name="b"/>
  <joint name="j" type="revolute"><parent link="a"/><child link="b"/><origin xyz="0.1 0 0.2" rpy="0 0.3 0"/>
    <axis xyz="0 1 0"/><limit lower="-1" upper="1" effort="1" velocity="1"/></joint>
</robot>
"""
QUIRKS = {
    "a default XML namespace": (
        CLEAN.replace('<robot name="r">', '<robot name="r" xmlns="http://www.ros.org/wiki/urdf">'),
        "XML namespace",
    ),
    "xacro left in a visual": (
        CLEAN.replace(
            '<robot name="r">', '<robot name="r" xmlns:xacro="http://www.ros.org/wiki/xacro">'
        ).replace(
            '<geometry><box size="1 1 1"/></geometry>',
            '<xacro:box_material color="${grey}"/><origin xyz="${offset} 0 0"/>',
        ),
        "xacro left outside links and joints ignored: <xacro:box_material> (line 2), <origin> (line 2)",
    ),
    "a comment before the XML declaration": (
        '<!-- exported -->\n<?xml version="1.0" encoding="utf-8"?>\n' + CLEAN,
        "not at the start of the file (line 2)",
    ),
    "XML version 0.0": ('<?xml version="0.0"?>\n' + CLEAN, "version '0.0': read as XML 1.0"),
}


@pytest.mark.parametrize("quirk", QUIRKS)
def test_harmless_defects_of_real_files_are_read_with_a_note(quirk):
    text, expected_note = QUIRKS[quirk]
    notes: list[str] = []
    model = symkin.parse_urdf(text, notes=notes.append)
    assert any(expected_note in note for note in notes), notes
    clean = compile_model(symkin.parse_urdf(CLEAN, notes=lambda message: None))
    q = sample_q(clean, 4)
    torch.testing.assert_close(
        compile_model(model).forward_and_jacobian(q), clean.forward_and_jacobian(q), rtol=0, atol=0
    )


def test_xacro_that_touches_the_tree_is_still_refused():
    inside_a_joint = CLEAN.replace(
        '<robot name="r">', '<robot name="r" xmlns:xacro="http://www.ros.org/wiki/xacro">'
    ).replace('<axis xyz="0 1 0"/>', '<axis xyz="0 ${y} 0"/>')
    with pytest.raises(
        symkin.SymkinError, match=r"line 5: <axis xyz='0 \$\{y\} 0'> is a xacro expression"
    ):
        symkin.parse_urdf(inside_a_joint)
    macro = CLEAN.replace(
        '<robot name="r">',
        '<robot name="r" xmlns:xacro="http://www.ros.org/wiki/xacro"><xacro:arm prefix="l"/>',
    )
    with pytest.raises(symkin.SymkinError, match="<xacro:arm> found: this is a xacro file"):
        symkin.parse_urdf(macro)


def test_mimic_joints_that_cancel_their_source_compile_and_count():
    """A public gripper's two joints in a row, axes -x then +x, the second mimicking the first: the
    rotations cancel and SymPy leaves cos(q)**2 + sin(q)**2 in the closed form. It once crashed the count."""
    joints = [
        JointSpec("drive", "revolute", "palm", "knuckle", xyz=(0, 0.02, 0.05), axis=(-1, 0, 0)),
        JointSpec(
            "follow",
            "revolute",
            "knuckle",
            "finger",
            xyz=(0, 0.04, 0),
            axis=(1, 0, 0),
            mimic=("drive", 1.0, 0.0),
        ),
        JointSpec(
            "tip",
            "revolute",
            "finger",
            "fingertip",
            xyz=(0, 0.03, 0),
            axis=(1, 0, 0),
            mimic=("drive", -1.0, 0.0),
        ),
    ]
    xml = urdf_text("gripper", ["palm", "knuckle", "finger", "fingertip"], joints)
    kinematics = symkin.derive(symkin.parse_urdf(xml))
    assert (
        symkin.simplify(kinematics).ops.arithmetic > 0
        and symkin.unsimplified_ops(kinematics).arithmetic > 0
    )
    module = compile_model(symkin.parse_urdf(xml))
    q = sample_q(module, 3)
    from helpers import PinocchioOracle

    oracle = PinocchioOracle(xml=xml)
    for i in range(3):
        expected_pose, expected_jacobian = oracle(
            module.joint_names, module.tip_names, "palm", q[i].numpy()
        )
        np.testing.assert_allclose(module(q[i]).numpy(), expected_pose[0], atol=1e-12)
        np.testing.assert_allclose(module.jacobian(q[i]).numpy(), expected_jacobian[0], atol=1e-12)
