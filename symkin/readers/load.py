"""Reading a robot: a URDF or MJCF file, or a DH table, by path or inside example-robot-data.

Light to import: neither SymPy nor torch is needed to read or describe a model.
"""

from __future__ import annotations

import difflib
import os
import sysconfig
from pathlib import Path

from symkin.errors import Notes, SymkinError, read_input, warn_note
from symkin.model.robot import RobotModel
from symkin.readers.dh import load_dh
from symkin.readers.mjcf import is_mjcf, load_mjcf
from symkin.readers.urdf import load_urdf

EXAMPLE_ROBOT_DATA = "example-robot-data:"
"""Prefix of a robot path inside the ``example-robot-data`` package, e.g.
``example-robot-data:panda_description/urdf/panda.urdf``: the same spelling works on every machine.
"""

ROBOT_SUFFIXES = (".urdf", ".xml", ".toml")


def example_robot_data_folder() -> Path:
    """Where example-robot-data keeps its robots; a SymkinError when it is not installed."""
    robots = Path(sysconfig.get_paths()["purelib"]) / "cmeel.prefix/share/example-robot-data/robots"
    if not robots.is_dir():
        raise SymkinError(
            "the example-robot-data package is not installed (pip install example-robot-data)",
            EXAMPLE_ROBOT_DATA,
        )
    return robots


def example_robot_data_files() -> list[str]:
    """Every robot file in example-robot-data, as ``example-robot-data:RELATIVE/PATH``, sorted."""
    robots = example_robot_data_folder()
    return sorted(
        EXAMPLE_ROBOT_DATA + path.relative_to(robots).as_posix()
        for path in robots.rglob("*")
        if path.suffix in (".urdf", ".toml") and path.is_file()
    )


def resolve_robot_path(spelling: str) -> Path:
    """The file a robot argument names: a path, or ``example-robot-data:RELATIVE/PATH``.

    A missing example-robot-data file is a SymkinError saying where it looked, closest names first.
    """
    if not spelling.startswith(EXAMPLE_ROBOT_DATA):
        return Path(spelling)
    robots = example_robot_data_folder()
    path = robots / spelling[len(EXAMPLE_ROBOT_DATA) :]
    if spelling == EXAMPLE_ROBOT_DATA or not path.is_file():
        known = example_robot_data_files()
        # A file named by its name alone (example-robot-data:panda.urdf) is found first.
        same_name = [k for k in known if k.rsplit("/", 1)[-1] == path.name]
        fuzzy = difflib.get_close_matches(spelling, known, n=5, cutoff=0.5)
        close = [*same_name, *(k for k in fuzzy if k not in same_name)][:5]
        hint = (
            f"; closest: {', '.join(close)}"
            if close
            else f"; it has {len(known)} robot files (symkin info {EXAMPLE_ROBOT_DATA} lists them)"
        )
        raise SymkinError(f"no such file in {robots}{hint}", spelling)
    return path


def load(path: str | os.PathLike[str], notes: Notes | None = None) -> RobotModel:
    """Load a robot: a URDF file, an MJCF file (through the ``mujoco`` package), or a
    Denavit–Hartenberg table in a ``.toml`` file, each with its reader's defaults (for options,
    call the reader: :func:`~symkin.readers.mjcf.load_mjcf` couples joints).

    ``path`` may also be ``example-robot-data:RELATIVE/PATH`` (see :data:`EXAMPLE_ROBOT_DATA`).
    ``notes`` receives what was read with a remark (an ignored element, a harmless defect); by
    default each is a :class:`SymkinNote` warning. Errors are :class:`SymkinError` naming the file
    as it was spelled.
    """
    spelling = os.fspath(path)
    sink = notes or warn_note
    try:
        resolved = resolve_robot_path(spelling)
        if resolved.suffix.lower() == ".toml":
            return load_dh(resolved)
        if is_mjcf(read_input(resolved)):
            return load_mjcf(resolved, notes=sink)
        return load_urdf(resolved, sink)
    except SymkinError as error:
        raise SymkinError(error.message, spelling) from None
