"""symkin info, show and report: readable forms, each verified numerically against the generated
code."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import sympy as sp
import torch
from helpers import REPO, robot_file

import symkin
import symkin.inspection.formulas
import symkin.inspection.readable
from symkin.cli import main

ROBOTS = {
    "panda": (str(robot_file("panda_description/urdf/panda.urdf")), "panda_hand_tcp", None),
    "ur5": (str(robot_file("ur_description/urdf/ur5_robot.urdf")), "tool0", "base_link"),
    "puma560": (str(REPO / "examples/puma560.toml"), "flange", None),
}


@pytest.fixture(scope="module", params=list(ROBOTS))
def robot(request):
    path, tip, base = ROBOTS[request.param]
    model = symkin.load(path)
    kinematics = symkin.derive(model, (tip,), base, outputs=(symkin.center_of_mass(model),))
    module = symkin.module_class(symkin.load_module(symkin.generate(kinematics)))()
    return request.param, path, tip, base, kinematics, module


def random_q(module, seed=0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    lower, upper = module.lower.clamp(min=-math.pi), module.upper.clamp(max=math.pi)
    return lower + (upper - lower) * torch.rand(
        len(module.joint_names), generator=generator, dtype=torch.float64
    )


@pytest.mark.parametrize("form", ["expanded", "frames"])
@pytest.mark.parametrize("what", symkin.inspection.readable.WHATS)
def test_readable_forms_equal_the_generated_code(robot, what, form):
    _, _, tip, _, kinematics, module = robot
    shown = symkin.formula(kinematics, tip, what, form)
    assert isinstance(shown, symkin.FramedFormula) == (form == "frames")
    evaluate = sp.lambdify(kinematics.q, shown.expanded().tolist(), "math")
    namespace: dict = {}
    exec(shown.python(), namespace)
    for seed in range(5):
        q = random_q(module, seed)
        pose, jacobian = module.forward_and_jacobian(q)
        expected = {
            "pose": pose,
            "position": pose[:3, 3:],
            "rotation": pose[:3, :3],
            "jacobian": jacobian,
            "com": module.center_of_mass(q)[:, None],
        }[what].numpy()
        np.testing.assert_allclose(
            np.array(evaluate(*q.tolist()), dtype=float), expected, atol=1e-12, rtol=0
        )
        np.testing.assert_allclose(
            np.array(namespace[what](*q.tolist()), dtype=float), expected, atol=1e-12, rtol=0
        )


def test_long_results_are_shown_through_frames_one_line_per_entry(capsys):
    """A humanoid's 7-joint arm is not past the joint count, but its position written out runs to
    thousands of characters an entry: auto takes the frames by the result's size. Every entry is on
    one line, and LaTeX says in a comment which q is which joint."""
    path = str(robot_file("g1_description/urdf/g1_29dof_rev_1_0.urdf"))
    kinematics = symkin.derive(symkin.load(path), ("left_wrist_yaw_link",), "torso_link")
    assert len(kinematics.q) <= symkin.inspection.formulas.EXPANDED_UP_TO
    shown = symkin.formula(kinematics, "left_wrist_yaw_link", "position")
    assert isinstance(shown, symkin.FramedFormula)
    status, out, _ = run(
        [
            "show",
            path,
            "--base",
            "torso_link",
            "--tip",
            "left_wrist_yaw_link",
            "--what",
            "position",
        ],
        capsys,
    )
    assert status == 0 and max(len(line) for line in out.splitlines()[2:]) < 400
    assert all(" = " in line for line in out.splitlines()[4:] if line)  # no 2-D layout
    status, out, _ = run(
        ["show", path, "--tip", "left_wrist_yaw_link", "--format", "latex"], capsys
    )
    assert status == 0 and out.startswith("% X_base_tip: pose of left_wrist_yaw_link in pelvis; ")
    assert "; q1=waist_yaw_joint, q2=waist_roll_joint, " in out.splitlines()[0]


def test_long_chains_are_shown_through_frames():
    """A humanoid's hand has ten joints above it: written out, its Jacobian runs to tens of
    thousands of characters; through the frames along the way it stays a page, and still computes
    the same."""
    model = symkin.load(str(robot_file("g1_description/urdf/g1_29dof_rev_1_0.urdf")))
    kinematics = symkin.derive(model, ("right_rubber_hand",), "pelvis")
    module = symkin.module_class(symkin.load_module(symkin.generate(kinematics)))()
    shown = symkin.formula(kinematics, "right_rubber_hand", "jacobian")
    assert (
        isinstance(shown, symkin.FramedFormula)
        and len(kinematics.q) > symkin.inspection.formulas.EXPANDED_UP_TO
    )
    text = shown.pretty()
    assert len(text) < 8000 and "v[q10] = " in text and " × (" in text
    assert (
        "\\begin{aligned}" in shown.latex()
        and "\\mathbf{p}_{\\mathrm{right\\_rubber\\_hand}}" in shown.latex()
    )
    namespace: dict = {}
    exec(shown.python(), namespace)
    q = random_q(module, 3)
    _, jacobian = module.forward_and_jacobian(q)
    np.testing.assert_allclose(
        np.array(namespace["jacobian"](*q.tolist())), jacobian.numpy(), atol=1e-12, rtol=0
    )


def test_textbook_abbreviations_and_angle_sums(robot):
    name, _, tip, _, kinematics, _ = robot
    shown = symkin.formula(kinematics, tip, "position")
    assert all(re.fullmatch(r"[cs]\d+", s.name) for s in shown.abbreviations)
    assert not shown.expression.atoms(sp.Float) or all(
        len(repr(float(f))) < 20 for f in shown.expression.atoms(sp.Float)
    )
    if name == "ur5":  # shoulder lift, elbow and wrist 1 have parallel axes
        assert {"c23", "s23", "c234", "s234"} <= {s.name for s in shown.abbreviations}
        assert "c₂₃" in shown.pretty() and "c_{234}" in shown.latex()
    if name == "puma560":
        assert {"c23", "s23"} <= {s.name for s in shown.abbreviations}


def test_exact_constants():
    exact = symkin.exact_constants
    assert exact(sp.Float(1.5707963267948966)) == sp.pi / 2
    assert exact(sp.Float(-0.7853981633974483)) == -sp.pi / 4
    assert exact(sp.Float(0.7071067811865476)) == sp.sqrt(2) / 2
    assert exact(sp.Float(0.5)) == sp.Rational(1, 2)
    assert exact(sp.Float(0.316)) == sp.Float(0.316)


def run(argv, capsys):
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_info(capsys):
    status, out, _ = run(["info", ROBOTS["panda"][0]], capsys)
    assert status == 0
    assert "panda_finger_joint2: panda_hand -> panda_rightfinger, prismatic, axis -y" in out
    assert "mimics panda_finger_joint1" in out
    assert (
        "DOF: 8" in out
        and "default tips (leaves that move relative to panda_link0): panda_hand_tcp, "
        "panda_leftfinger, panda_rightfinger"
        in out
    )
    assert "q8=panda_finger_joint1" in out
    status, out, _ = run(["info", ROBOTS["puma560"][0]], capsys)
    assert status == 0 and "DOF: 6" in out and "origin Rx(pi/2)" in out


def test_info_weighs_the_links(capsys):
    """Masses from a DH table, placed in each link's frame (Corke's PUMA 560: link 2's centre,
    -0.3638 m along x from frame 2, is 0.068 m from the joint along a = 0.4318 m)."""
    status, out, _ = run(["info", ROBOTS["puma560"][0]], capsys)
    assert status == 0
    assert "mass: 23.45 kg over 5 links; 3 links without mass" in out
    assert "link2: 17.4 kg at (0.068 0.006 0.2275)" in out
    status, out, _ = run(["info", str(REPO / "examples/stanford.toml")], capsys)
    assert status == 0 and "mass: none given (--com needs masses)" in out


def test_show_com_prints_one_formula_for_the_robot(capsys):
    path, tip, base = ROBOTS["ur5"]
    status, out, err = run(
        ["show", path, "--base", base, "--what", "com", "--format", "python"], capsys
    )
    assert status == 0 and out.count("# c_base: the centre of mass in base_link") == 1
    namespace: dict = {}
    exec(out, namespace)
    model = symkin.load(path)
    module = symkin.module_class(
        symkin.load_module(
            symkin.generate(
                symkin.derive(model, (tip,), base, outputs=(symkin.center_of_mass(model),))
            )
        )
    )()
    q = random_q(module, 1)
    np.testing.assert_allclose(
        np.array(namespace["com"](*q.tolist()))[:, 0], module.center_of_mass(q).numpy(), atol=1e-12
    )
    status, out, err = run(["show", str(REPO / "examples/stanford.toml"), "--what", "com"], capsys)
    assert status == 2 and err.startswith("symkin: error: ") and "has no mass" in err


@pytest.mark.parametrize("fmt", ["pretty", "latex", "python"])
@pytest.mark.parametrize("what", ["pose", "jacobian"])
def test_show_prints_each_format(fmt, what, capsys):
    path, tip, base = ROBOTS["ur5"]
    status, out, err = run(
        ["show", path, "--tip", tip, "--base", base, "--what", what, "--format", fmt], capsys
    )
    assert status == 0 and err == ""
    marker = {"pretty": "c₂₃", "latex": "c_{23}", "python": "c23 = math.cos(q2 + q3)"}[fmt]
    assert marker in out
    status, out, err = run(
        [
            "show",
            path,
            "--tip",
            tip,
            "--base",
            base,
            "--what",
            what,
            "--format",
            fmt,
            "--form",
            "frames",
        ],
        capsys,
    )
    assert status == 0 and err == ""
    marker = {
        "pretty": "p_tool0 = p_wrist_3_link + 0.0823⋅y_wrist_2_link",
        "latex": "\\mathbf{p}_{\\mathrm{tool0}} &=",
        "python": "p_tool0 = _sum(",
    }[fmt]
    assert marker in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["show", ROBOTS["ur5"][0], "--tip", "nowhere"],
            "tip link 'nowhere' is not in robot 'ur5'",
        ),
        (
            ["show", ROBOTS["ur5"][0], "--format", "html"],
            "argument --format: invalid choice: 'html'",
        ),
        (
            ["show", ROBOTS["ur5"][0], "--what", "velocity"],
            "argument --what: invalid choice: 'velocity'",
        ),
        (["show", ROBOTS["ur5"][0], "--form", "short"], "argument --form: invalid choice: 'short'"),
        (["info", "missing.urdf"], "missing.urdf: cannot read file"),
    ],
)
def test_bad_arguments(argv, message, capsys):
    status, out, err = run(argv, capsys)
    assert status == 2 and out == "" and err.count("\n") == 1 and err.startswith("symkin: error: ")
    assert message in err


@pytest.mark.parametrize("name", list(ROBOTS))
def test_report_has_no_broken_images(name, tmp_path, capsys):
    path, tip, base = ROBOTS[name]
    argv = ["report", path, "--tip", tip, "-o", str(tmp_path / "report"), "-q"] + (
        ["--base", base] if base else []
    )
    assert run(argv, capsys)[0] == 0
    markdown = (tmp_path / "report" / "report.md").read_text()
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown)
    assert len(images) == 2
    for image in images:
        data = (tmp_path / "report" / image).read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000
    assert "$$" in markdown and "## Joints" in markdown and "after CSE" in markdown


def test_report_pictures_label_each_spot_once_and_say_what_they_draw(tmp_path, capsys):
    """UR5's ee_link and tool0 sit at one spot: one label names both instead of overprinting."""
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from symkin.inspection.report import _plot

    path, _, base = ROBOTS["ur5"]
    model = symkin.load(path)
    links = tuple(link for link in model.links if link != base and model.is_below(link, base))
    module = symkin.module_class(
        symkin.load_module(symkin.generate(symkin.derive(model, links, base)))
    )()
    poses = module(torch.zeros(6, dtype=torch.float64)).numpy()
    figure = plt.figure()
    axes = figure.add_subplot(projection="3d")
    _plot(
        axes,
        model,
        base,
        {link: poses[i] for i, link in enumerate(links)},
        {"ee_link", "tool0", "shoulder_link"},
    )
    labels = sorted(text.get_text().strip() for text in axes.texts)
    dotted = sum(line.get_linestyle() == ":" for line in axes.get_lines())
    plt.close(figure)
    assert labels == ["base_link", "ee_link, tool0", "shoulder_link"]
    fixed_leaves = [j for j in model.joints if not j.moves and j.child in model.leaves]
    assert dotted == len([j for j in fixed_leaves if j.child in links]) >= 2  # ee_link, tool0
    assert [t.get_text() for t in axes.get_legend().get_texts()] == [
        "link (joint origin to joint origin)",
        "fixed frame on its parent",
        "joint axis",
        "base link (base_link)",
        "tip",
    ]
    status, _, _ = run(
        ["report", path, "--tip", "tool0", "--base", base, "-o", str(tmp_path), "-q"], capsys
    )
    markdown = (tmp_path / "report.md").read_text()
    assert (
        status == 0
        and "Drawn at shoulder\\_pan\\_joint = 0, shoulder\\_lift\\_joint = 0" in markdown
    )


def test_report_survives_names_that_look_like_markup(tmp_path, capsys):
    """Dollar signs are mathematics to matplotlib and brackets are links to Markdown: names stay
    text."""
    pytest.importorskip("matplotlib")
    urdf = tmp_path / "marked.urdf"
    urdf.write_text(
        """<robot name="r]($x">
  <link name="base$"/><link name="tip$\\frac{$"/><link name="a_b]"/>
  <joint name="j$1" type="revolute"><parent link="base$"/><child link="tip$\\frac{$"/>
    <axis xyz="0 0 1"/><limit lower="-1" upper="1" effort="1" velocity="1"/></joint>
  <joint name="j[2]" type="revolute"><parent link="base$"/><child link="a_b]"/>
    <origin xyz="0.1 0 0"/>
    <axis xyz="0 1 0"/><limit lower="-1" upper="1" effort="1" velocity="1"/></joint>
</robot>"""
    )
    status, _, err = run(["report", str(urdf), "-o", str(tmp_path / "report"), "-q"], capsys)
    assert status == 0 and err == ""
    markdown = (tmp_path / "report" / "report.md").read_text()
    assert "![r\\](\\$x at the zero configuration](skeleton_zero.png)" in markdown
