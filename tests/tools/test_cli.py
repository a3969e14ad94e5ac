"""The command line: what it writes, what it says, and how it fails."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest
import torch
from helpers import REPO, robot_file

import symkin
from symkin.cli import main

PANDA_EXAMPLE = str(REPO / "examples/panda.urdf")


def run(argv, capsys):
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_compile_writes_a_working_module_and_reports_progress(tmp_path, capsys):
    out = tmp_path / "panda.py"
    status, stdout, stderr = run(
        ["compile", PANDA_EXAMPLE, "--tip", "panda_hand_tcp", "-o", str(out)], capsys
    )
    assert status == 0 and stdout == ""
    assert all(
        stage in stderr
        for stage in ("parsing", "derived", "lowered", "emitted", f"wrote {out}: class Panda")
    )
    module = symkin.module_class(symkin.load_module(out.read_text()))()
    assert module.tip_names == ("panda_hand_tcp",)
    pose = module(torch.zeros(7, dtype=torch.float64))
    # At q = 0 the Panda's TCP is 0.088 m ahead and 0.333+0.316+0.384-0.107-0.1034 m up, pointing
    # down.
    torch.testing.assert_close(
        pose[:3, 3], torch.tensor([0.088, 0.0, 0.8226], dtype=torch.float64), atol=1e-12, rtol=0
    )
    assert pose[2, 2].item() == -1.0


def test_example_urdf_matches_the_official_panda(tmp_path):
    from helpers import compile_file, sample_q

    ours = compile_file(PANDA_EXAMPLE, ("panda_hand_tcp",))
    official = compile_file(
        str(robot_file("panda_description/urdf/panda.urdf")), ("panda_hand_tcp",)
    )
    q = sample_q(ours, 20)
    torch.testing.assert_close(
        ours.forward_and_jacobian(q), official.forward_and_jacobian(q), atol=1e-12, rtol=0
    )


def test_quiet_and_default_output_name(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, _, stderr = run(["compile", PANDA_EXAMPLE, "-q"], capsys)
    assert status == 0 and stderr == ""
    assert (tmp_path / "panda_kinematics.py").is_file()


def test_missing_output_folder_is_created(tmp_path, capsys):
    out = tmp_path / "a" / "b" / "arm.py"
    assert run(["compile", PANDA_EXAMPLE, "-q", "-o", str(out)], capsys)[0] == 0
    assert out.is_file()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["compile", "no/such/file.urdf"], "no/such/file.urdf: cannot read file"),
        (
            ["compile", PANDA_EXAMPLE, "--tip", "nowhere"],
            "tip link 'nowhere' is not in robot 'panda'",
        ),
        (
            ["compile", PANDA_EXAMPLE, "--tip", "panda_hand_tc"],
            "did you mean 'panda_hand_tcp' or 'panda_hand'? Links: panda_hand_tcp",
        ),
        (
            ["compile", PANDA_EXAMPLE, "--base", "nowhere"],
            "base link 'nowhere' is not in robot 'panda'",
        ),
        (
            ["compile", "example-robot-data:panda_description/urdf/pand.urdf"],
            "closest: example-robot-data:panda_description/urdf/panda.urdf",
        ),
        (
            ["compile", "example-robot-data:panda.urdf"],
            "closest: example-robot-data:panda_description/urdf/panda.urdf, ",
        ),
        (
            ["compile", PANDA_EXAMPLE, "--tip", "panda_link2", "--tip", "panda_link2"],
            "a tip is requested twice",
        ),
        (
            ["compile", PANDA_EXAMPLE, "--tip", "panda_link0"],
            "tip 'panda_link0' is the base: its pose in the base frame is constant",
        ),
        (
            ["compile", PANDA_EXAMPLE, "--name", "class"],
            "--name 'class' is not a usable Python class name",
        ),
        (["compile", PANDA_EXAMPLE, "--name", "a b"], "is not a usable Python class name"),
        (["compile"], "the following arguments are required: robot"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_errors_are_one_line_with_status_2_and_no_output(
    argv, message, tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    status, stdout, stderr = run(argv, capsys)
    assert status == 2 and stdout == "" and "Traceback" not in stderr
    *progress, error = stderr.splitlines()
    assert error.startswith("symkin: error: ") and message in error
    assert all(line.startswith("symkin: ") and "error" not in line for line in progress)
    assert list(tmp_path.iterdir()) == []
    if argv[:1] == ["compile"] and len(argv) > 1:
        status, _, quiet_stderr = run([*argv, "--quiet"], capsys)
        assert status == 2 and quiet_stderr == error + "\n"


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "the file is empty"),
        (b"this is not xml", "not well-formed XML"),
        (b"<robot name='r'><link name='a'/>", "not well-formed XML"),
        (b"<model name='r'/>", "the root element is <model>, not <robot>"),
    ],
)
def test_bad_files_name_the_file(content, message, tmp_path, capsys):
    bad = tmp_path / "bad.urdf"
    bad.write_bytes(content)
    out = tmp_path / "out.py"
    status, _, stderr = run(["compile", str(bad), "-o", str(out), "-q"], capsys)
    assert status == 2 and stderr.startswith(f"symkin: error: {bad}: ") and message in stderr, (
        stderr
    )
    assert not out.exists()


def test_an_existing_output_survives_a_failed_compile(tmp_path, capsys):
    out = tmp_path / "arm.py"
    out.write_text("keep me")
    assert run(["compile", PANDA_EXAMPLE, "--tip", "nowhere", "-o", str(out)], capsys)[0] == 2
    assert out.read_text() == "keep me"
    assert [p.name for p in tmp_path.iterdir()] == ["arm.py"]


def test_console_script_runs_without_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "symkin", "compile", "-q", str(tmp_path / "missing.urdf")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().startswith("symkin: error: ")


def test_output_to_stdout_a_folder_or_through_a_symlink(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, stdout, _ = run(["compile", PANDA_EXAMPLE, "-q", "-o", "-"], capsys)
    assert (
        status == 0
        and stdout.startswith("# Autogenerated by symkin")
        and list(tmp_path.iterdir()) == []
    )
    (tmp_path / "out").mkdir()
    assert run(["compile", PANDA_EXAMPLE, "-q", "-o", "out"], capsys)[0] == 0
    assert run(["compile", PANDA_EXAMPLE, "-q", "-o", "new/"], capsys)[0] == 0
    assert (tmp_path / "out/panda_kinematics.py").is_file() and (
        tmp_path / "new/panda_kinematics.py"
    ).is_file()
    target = tmp_path / "elsewhere" / "panda.py"
    target.parent.mkdir()
    target.write_text("old")
    (tmp_path / "link.py").symlink_to(target)
    assert run(["compile", PANDA_EXAMPLE, "-q", "-o", "link.py"], capsys)[0] == 0
    assert (tmp_path / "link.py").is_symlink() and target.read_text().startswith("# Autogenerated")
    assert sorted(p.name for p in target.parent.iterdir()) == ["panda.py"]  # no temporary file left


def test_an_output_that_is_not_a_regular_file_is_refused(tmp_path, capsys):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    status, _, stderr = run(["compile", PANDA_EXAMPLE, "-q", "-o", str(fifo)], capsys)
    assert (
        status == 2
        and "not a regular file (a device, FIFO or socket)" in stderr
        and stderr.count("\n") == 1
    )
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_convert_writes_to_stdout_or_a_default_name(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, stdout, _ = run(["convert", str(REPO / "examples/puma560.toml"), "-o", "-"], capsys)
    assert status == 0 and stdout.startswith("<?xml") and "<robot" in stdout
    assert run(["convert", str(REPO / "examples/puma560.toml")], capsys)[0] == 0
    assert (tmp_path / "puma560.urdf").is_file()


def test_info_lists_example_robot_data(capsys):
    status, stdout, _ = run(["info", "example-robot-data:"], capsys)
    listed = stdout.split()
    assert (
        status == 0
        and "example-robot-data:panda_description/urdf/panda.urdf" in listed
        and len(listed) > 60
    )


def test_commands_that_need_no_torch_do_not_import_it(tmp_path):
    urdf = str(REPO / "examples/panda.urdf")
    for argv in (
        ["--version"],
        ["info", urdf],
        ["show", urdf, "--tip", "panda_link3"],
        ["convert", urdf, "-o", str(tmp_path / "p.urdf")],
        ["compile", urdf, "-q", "-o", str(tmp_path / "p.py")],
    ):
        script = (
            "import sys\nfrom symkin.cli import main\ntry:\n    main(sys.argv[1:])\n"
            "except SystemExit:\n    pass\nprint('torch' in sys.modules, file=sys.stderr)"
        )
        result = subprocess.run(
            [sys.executable, "-c", script, *argv], capture_output=True, text=True
        )
        assert result.stderr.strip().endswith("False"), (argv, result.stderr)


def test_default_tips_leave_out_leaves_fixed_to_the_base(tmp_path, capsys):
    g1 = "example-robot-data:g1_description/urdf/g1_29dof_rev_1_0.urdf"
    status, _, stderr = run(["compile", g1, "-o", str(tmp_path / "g1.py")], capsys)
    assert (
        status == 0
        and "left out, fixed to 'pelvis': pelvis_contour_link, imu_in_pelvis" in stderr
        and "or for 'all-leaves'" in stderr
    )
    module = symkin.module_class(symkin.load_module((tmp_path / "g1.py").read_text()))
    assert len(module.tip_names) == 9 and "imu_in_pelvis" not in module.tip_names
    assert (
        run(["compile", g1, "--tip", "all-leaves", "-q", "-o", str(tmp_path / "all.py")], capsys)[0]
        == 0
    )
    assert (
        len(symkin.module_class(symkin.load_module((tmp_path / "all.py").read_text())).tip_names)
        == 11
    )


def test_templates_ship_inside_the_installed_package():
    from importlib import resources

    for backend in ("torch", "jax"):
        assert resources.files("symkin.templates").joinpath(backend, "module.py.jinja").is_file()


@pytest.mark.parametrize(
    "robot, expected",
    [
        ("panda", "PandaKinematics"),
        ("g1_29dof_rev_1_0", "G1_29dofRev1_0Kinematics"),
        ("b1-z1", "B1Z1Kinematics"),
        ("ur5_robot", "Ur5RobotKinematics"),
        ("2link", "Robot2linkKinematics"),
    ],
)
def test_default_class_names_keep_number_boundaries(robot, expected):
    from symkin.compiler.emit import default_class_name

    assert default_class_name(robot) == expected and expected.isidentifier()


def test_a_reader_that_stops_early_is_no_error():
    """`symkin show … | head -1`: a closed pipe ends the command quietly (status 1), without a
    traceback."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before symkin writes anything
    ur5 = "example-robot-data:ur_description/urdf/ur5_robot.urdf"
    try:
        result = subprocess.run(
            [sys.executable, "-m", "symkin", "show", ur5, "--tip", "tool0"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
        )
    finally:
        os.close(write_end)
    assert result.returncode == 1 and result.stderr == ""


@pytest.mark.parametrize("argv", [[], ["--version"]], ids=["import symkin", "symkin --version"])
def test_importing_symkin_and_asking_its_version_load_no_heavy_library(argv):
    """SymPy, Jinja2, lxml and torch load when a function needs them, not before."""
    script = (
        "import sys, symkin\nfrom symkin.cli import main\n"
        "if sys.argv[1:]:\n    try:\n        main(sys.argv[1:])\n"
        "    except SystemExit:\n        pass\n"
        "print(sorted({'sympy', 'jinja2', 'lxml', 'torch'} & set(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", script, *argv], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
