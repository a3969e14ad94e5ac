"""generated/ holds reference modules; each must regenerate byte for byte from the command in its
header.

After an intended change to the generator, refresh them with
``SYMKIN_UPDATE_GOLDEN=1 pytest tests/test_generated_golden.py``.
"""

from __future__ import annotations

import itertools
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO

from symkin.cli import main

GOLDEN = sorted((REPO / "generated").glob("*.py"))
COMMAND_PREFIX = "# Command: "
CONTINUATION = "#   "


def recorded_command(path: Path) -> list[str]:
    """The command in the header: the ``# Command:`` line and its ``#   `` continuation lines."""
    lines = path.read_text(encoding="utf-8").splitlines()
    for k, line in enumerate(lines):
        if line.startswith(COMMAND_PREFIX):
            rest = itertools.takewhile(lambda more: more.startswith(CONTINUATION), lines[k + 1 :])
            words = [line[len(COMMAND_PREFIX) :], *(more[len(CONTINUATION) :] for more in rest)]
            return shlex.split(" ".join(words))
    raise AssertionError(f"{path.name} has no '{COMMAND_PREFIX}' header line")


def regenerate(path: Path, workdir: Path) -> bytes:
    """Run the recorded command in ``workdir`` (with the repository's examples/) and return what it
    wrote."""
    argv = recorded_command(path)
    assert argv[:2] == ["symkin", "compile"]
    output = Path(argv[argv.index("-o") + 1])
    (workdir / "examples").symlink_to(REPO / "examples")
    cwd = os.getcwd()
    os.chdir(workdir)
    try:
        assert main(argv[1:]) == 0
    finally:
        os.chdir(cwd)
    return (workdir / output).read_bytes()


def test_reference_robots_are_checked_in():
    assert {p.name for p in GOLDEN} >= {"panda.py", "ur5.py"}


@pytest.mark.parametrize("path", GOLDEN, ids=[p.name for p in GOLDEN])
def test_regenerates_byte_identically(path, tmp_path):
    produced = regenerate(path, tmp_path)
    if os.environ.get("SYMKIN_UPDATE_GOLDEN"):
        path.write_bytes(produced)
    assert produced == path.read_bytes(), (
        f"{path.name} is stale: regenerate with SYMKIN_UPDATE_GOLDEN=1"
    )


def test_output_does_not_depend_on_hash_seed(tmp_path):
    outputs = []
    for seed in ("1", "2"):
        workdir = tmp_path / seed
        workdir.mkdir()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "symkin",
                "compile",
                "example-robot-data:ur_description/urdf/ur5_robot.urdf",
                "-o",
                "ur5.py",
                "-q",
            ],
            env={**os.environ, "PYTHONHASHSEED": seed},
            cwd=workdir,
            check=True,
        )
        outputs.append((workdir / "ur5.py").read_bytes())
    assert outputs[0] == outputs[1]
