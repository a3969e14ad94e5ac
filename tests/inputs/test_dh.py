"""Denavit–Hartenberg input: published tables against Pinocchio and an independent numeric DH."""

from __future__ import annotations

import math
import tomllib

import numpy as np
import pytest
import torch
from helpers import REPO, PinocchioOracle, compile_file, robot_file, sample_q
from reference import finite_difference_jacobian, origin_matrix

import symkin
from symkin.cli import main

EXAMPLES = REPO / "examples"


def numeric_dh(table: dict, q: np.ndarray) -> np.ndarray:
    """X_base_tool by the textbook products, straight from the TOML table."""

    def Rz(t):
        return np.array(
            [
                [math.cos(t), -math.sin(t), 0, 0],
                [math.sin(t), math.cos(t), 0, 0],
                [0, 0, 1, 0],
                [0, 0, 0, 1],
            ]
        )

    def Rx(t):
        return np.array(
            [
                [1, 0, 0, 0],
                [0, math.cos(t), -math.sin(t), 0],
                [0, math.sin(t), math.cos(t), 0],
                [0, 0, 0, 1],
            ]
        )

    def T(x, y, z):
        X = np.eye(4)
        X[:3, 3] = (x, y, z)
        return X

    X = origin_matrix(table["base"]["xyz"], table["base"]["rpy"]) if "base" in table else np.eye(4)
    for row, value in zip(table["joints"], q, strict=True):
        prismatic = row.get("type") == "prismatic"
        theta = row["theta"] + (0 if prismatic else value)
        d = row["d"] + (value if prismatic else 0)
        if table["convention"] == "standard":
            X = X @ Rz(theta) @ T(0, 0, d) @ T(row["a"], 0, 0) @ Rx(row["alpha"])
        else:
            X = X @ Rx(row["alpha"]) @ T(row["a"], 0, 0) @ Rz(theta) @ T(0, 0, d)
    if "tool" in table:
        X = X @ origin_matrix(table["tool"]["xyz"], table["tool"]["rpy"])
    return X


@pytest.mark.parametrize("example", ["puma560", "ur5", "stanford", "panda"])
def test_published_tables_match_numeric_dh(example):
    path = EXAMPLES / f"{example}.toml"
    table = tomllib.loads(path.read_text())
    module = compile_file(str(path))
    assert len(module.joint_names) == len(table["joints"])
    q = sample_q(module, 10, seed=7)
    poses, jacobians = module.forward_and_jacobian(q)
    for i in range(q.shape[0]):
        q_i = q[i].numpy()
        np.testing.assert_allclose(poses[i].numpy(), numeric_dh(table, q_i), atol=1e-12, rtol=0)
        expected = finite_difference_jacobian(lambda x: numeric_dh(table, x), q_i)
        np.testing.assert_allclose(jacobians[i].numpy(), expected, atol=1e-7, rtol=0)


def test_nonzero_theta_offsets_and_prismatic_d():
    rows = [
        symkin.DHRow(a=0.1, alpha=0.3, d=0.2, theta=0.4),
        symkin.DHRow(a=0.2, alpha=-0.5, d=0.1, theta=-1.0, type="prismatic", lower=0, upper=1),
        symkin.DHRow(a=0.0, alpha=1.2, d=0.3, theta=2.0),
    ]
    for convention in ("standard", "modified"):
        table = {
            "convention": convention,
            "joints": [dict(a=r.a, alpha=r.alpha, d=r.d, theta=r.theta, type=r.type) for r in rows],
            "base": {"xyz": [0.1, 0.2, 0.3], "rpy": [0.1, -0.2, 0.3]},
            "tool": {"xyz": [0, 0.1, 0.05], "rpy": [0.5, 0, 0]},
        }
        model = symkin.dh_model(rows, convention, "offsets", base=table["base"], tool=table["tool"])
        from helpers import compile_model

        module = compile_model(model)
        assert module.tip_names == ("tool",)
        q = sample_q(module, 5)
        for i in range(5):
            np.testing.assert_allclose(
                module(q[i]).numpy(), numeric_dh(table, q[i].numpy()), atol=1e-12, rtol=0
            )


def test_panda_table_matches_pinocchio_panda_link8():
    module = compile_file(str(EXAMPLES / "panda.toml"))
    oracle = PinocchioOracle(robot_file("panda_description/urdf/panda.urdf"))
    q = sample_q(module, 10, seed=11)
    poses, jacobians = module.forward_and_jacobian(q)
    for i in range(q.shape[0]):
        expected_pose, expected_jacobian = oracle(
            module.joint_names, ("panda_link8",), "panda_link0", q[i].numpy()
        )
        np.testing.assert_allclose(poses[i].numpy(), expected_pose[0], atol=1e-9, rtol=0)
        np.testing.assert_allclose(jacobians[i].numpy(), expected_jacobian[0], atol=1e-9, rtol=0)


def test_dh_and_urdf_give_the_same_module_contract():
    dh = compile_file(str(EXAMPLES / "panda.toml"))
    urdf = compile_file(str(EXAMPLES / "panda.urdf"), ("panda_link8",))
    assert dh.joint_names == urdf.joint_names
    torch.testing.assert_close(dh.lower, urdf.lower, rtol=0, atol=0)
    q = sample_q(dh, 20)
    torch.testing.assert_close(
        dh.forward_and_jacobian(q), urdf.forward_and_jacobian(q), atol=1e-12, rtol=0
    )


def test_standard_links_and_default_names():
    model = symkin.load(EXAMPLES / "puma560.toml")
    assert model.links == ("base", "link1", "link2", "link3", "link4", "link5", "link6", "flange")
    assert [j.name for j in model.joints if j.moves] == ["j1", "j2", "j3", "j4", "j5", "j6"]
    assert model.leaves == ("flange",)


def test_compile_cli_on_a_dh_file(tmp_path, capsys):
    out = tmp_path / "puma.py"
    assert (
        main(["compile", str(EXAMPLES / "puma560.toml"), "-o", str(out), "-q", "--name", "Puma"])
        == 0
    )
    module = symkin.module_class(symkin.load_module(out.read_text()))()
    assert type(module).__name__ == "Puma" and module.tip_names == ("flange",)


GOOD_ROW = "a = 0\nalpha = 0\nd = 0.1\ntheta = 0\n"


@pytest.mark.parametrize(
    "text, message",
    [
        ('convention = "weird"\n[[joints]]\n' + GOOD_ROW, "convention 'weird' is unknown"),
        ("[[joints]]\n" + GOOD_ROW, "missing 'convention'"),
        (
            'convention = "standard"\n[[joints]]\ntype = "helical"\n' + GOOD_ROW,
            "joint 1: field 'type': unknown joint type 'helical'",
        ),
        (
            'convention = "standard"\n[[joints]]\na = 0\nalpha = 0\ntheta = 0\n',
            "joint 1: missing field 'd'",
        ),
        (
            'convention = "standard"\n[[joints]]\nname = "elbow"\n'
            'a = "x"\nalpha = 0\nd = 0\ntheta = 0\n',
            "joint 1 ('elbow'): field 'a': 'x' is not a number",
        ),
        (
            'convention = "standard"\n[[joints]]\na = nan\nalpha = 0\nd = 0\ntheta = 0\n',
            "field 'a': nan is not a finite number",
        ),
        (
            'convention = "standard"\n[[joints]]\na = inf\nalpha = 0\nd = 0\ntheta = 0\n',
            "field 'a': inf is not a finite number",
        ),
        (
            'convention = "standard"\n[[joints]]\na = true\nalpha = 0\nd = 0\ntheta = 0\n',
            "field 'a': True is not a number",
        ),
        (
            'convention = "standard"\n[[joints]]\n' + GOOD_ROW + "lower = 1\nupper = -1\n",
            "joint 1: lower limit 1.0 is above upper limit -1.0",
        ),
        (
            'convention = "standard"\n[[joints]]\nname = "j"\n'
            + GOOD_ROW
            + '[[joints]]\nname = "j"\n'
            + GOOD_ROW,
            "joint 2 ('j'): duplicate joint name",
        ),
        ('convention = "standard"\njoints = []\n', "the joint list is empty"),
        ('convention = "standard"\n', "missing [[joints]]"),
        (
            'convention = "standard"\n[[joints]]\n' + GOOD_ROW + "alfa = 1\n",
            "joint 1: unknown field 'alfa'",
        ),
        (
            'convention = "standard"\n[[joints]]\n' + GOOD_ROW + "[tool]\nxyz = [1, 2]\n",
            "[tool] xyz: expected a list of 3 numbers",
        ),
        ('convention = = "standard"\n', "not valid TOML"),
    ],
)
def test_bad_tables_are_one_line_errors(text, message, tmp_path, capsys):
    path = tmp_path / "arm.toml"
    path.write_text(text)
    out = tmp_path / "out.py"
    assert main(["compile", str(path), "-o", str(out), "-q"]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"symkin: error: {path}: ") and error.count("\n") == 1, error
    assert message in error, error
    assert not out.exists()


@pytest.mark.parametrize("example", ["puma560", "ur5", "stanford", "panda"])
def test_convert_to_urdf_round_trips(example, tmp_path, capsys):
    from helpers import compile_model

    urdf = tmp_path / f"{example}.urdf"
    assert main(["convert", str(EXAMPLES / f"{example}.toml"), "-o", str(urdf)]) == 0
    original, converted = symkin.load(EXAMPLES / f"{example}.toml"), symkin.load(urdf)
    assert converted.links == original.links and [j.name for j in converted.joints] == [
        j.name for j in original.joints
    ]
    tip = original.leaves[0]
    first, second = compile_model(original, [tip]), compile_model(converted, [tip])
    assert first.joint_names == second.joint_names
    torch.testing.assert_close(first.lower, second.lower, rtol=0, atol=0)
    q = sample_q(first, 20)
    torch.testing.assert_close(
        first.forward_and_jacobian(q), second.forward_and_jacobian(q), atol=1e-12, rtol=0
    )
    assert (
        symkin.simplify(symkin.derive(converted, (tip,))).ops
        == symkin.simplify(symkin.derive(original, (tip,))).ops
    )


def test_end_joint_names_are_reserved():
    rows = [symkin.DHRow(a=0, alpha=0, d=0.1, theta=0, name="tool_joint")]
    with pytest.raises(
        symkin.SymkinError, match="joint 1 \\('tool_joint'\\): this name is reserved"
    ):
        symkin.dh_model(rows, "standard")
