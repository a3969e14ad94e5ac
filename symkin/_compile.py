"""The pipeline end to end: load a robot file, derive, lower, emit, and load the result."""

from __future__ import annotations

import hashlib
import os
import sys
import sysconfig
import types
from collections.abc import Callable
from pathlib import Path

from . import backends
from ._derive import Kinematics
from ._dh import load_dh
from ._emit import EmitOptions, emit
from ._errors import Notes, SymkinError, read_input, warn_note
from ._mjcf import is_mjcf, load_mjcf
from ._model import RobotModel
from ._lower import lower
from ._urdf import load_urdf

EXAMPLE_ROBOT_DATA = "example-robot-data:"
"""Prefix of a robot path inside the ``example-robot-data`` package, e.g.
``example-robot-data:panda_description/urdf/panda.urdf``: the same spelling works on every machine."""

Progress = Callable[[str], None]


def resolve_robot_path(spelling: str) -> Path:
    """The file a robot argument names: a path, or ``example-robot-data:RELATIVE/PATH``."""
    if not spelling.startswith(EXAMPLE_ROBOT_DATA):
        return Path(spelling)
    robots = Path(sysconfig.get_paths()["purelib"]) / "cmeel.prefix/share/example-robot-data/robots"
    if not robots.is_dir():
        raise SymkinError("the example-robot-data package is not installed (pip install example-robot-data)", spelling)
    return robots / spelling[len(EXAMPLE_ROBOT_DATA) :]


def load(path: str | os.PathLike[str], couple_joints: bool = False, notes: Notes | None = None) -> RobotModel:
    """Load a robot: a URDF file, an MJCF file (through the ``mujoco`` package), or a
    Denavit–Hartenberg table in a ``.toml`` file.

    ``path`` may also be ``example-robot-data:RELATIVE/PATH`` (see :data:`EXAMPLE_ROBOT_DATA`).
    ``couple_joints``: MJCF joint equalities that are linear become mimic joints (see
    :func:`~symkin._mjcf.load_mjcf`). ``notes`` receives what was read with a remark (an ignored
    element, a harmless defect); by default each is a :class:`SymkinNote` warning. Errors are
    :class:`SymkinError` naming the file as it was spelled.
    """
    spelling = os.fspath(path)
    resolved = resolve_robot_path(spelling)
    sink = notes or warn_note
    try:
        if resolved.suffix.lower() == ".toml":
            return load_dh(resolved)
        if is_mjcf(read_input(resolved)):
            return load_mjcf(resolved, couple_joints, sink)
        return load_urdf(resolved)
    except SymkinError as error:
        raise SymkinError(error.message, spelling) from None


def generate(
    kinematics: Kinematics, options: EmitOptions = EmitOptions(), progress: Progress | None = None, backend: str = "torch"
) -> str:
    """The source of a standalone module for ``kinematics``: :func:`~symkin._program.lower`, then
    :func:`~symkin._emit.emit` with the named backend (``"torch"`` or ``"jax"``)."""
    report = progress or (lambda message: None)
    chosen = backends.backend(backend)
    program = lower(kinematics)
    report(f"lowering: {len(program.assignments)} column assignments, {len(program.motions.pairs)} tip-joint pairs")
    source = emit(program, chosen, options)
    report(f"emitting a {chosen.library} module")
    return source


def load_module(source: str, name: str | None = None) -> types.ModuleType:
    """Execute generated ``source`` as a module, registered in ``sys.modules`` like an imported one.

    The default name, ``symkin_generated_<hash of source>``, keeps different robots apart;
    torch.compile needs the registration to find the module's functions.
    """
    name = name or f"symkin_generated_{hashlib.sha256(source.encode()).hexdigest()[:16]}"
    module = types.ModuleType(name)
    module.__file__ = f"<{name}>"
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    sys.modules[name] = module
    return module


def module_class(module: types.ModuleType) -> type:
    """The one ``torch.nn.Module`` subclass a generated module defines."""
    import torch

    classes = [
        value
        for value in vars(module).values()
        if isinstance(value, type) and issubclass(value, torch.nn.Module) and value.__module__ == module.__name__
    ]
    if len(classes) != 1:
        raise ValueError(f"expected one torch.nn.Module subclass in the generated module, found {len(classes)}")
    return classes[0]


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename.

    Missing parent folders are created. An existing file is replaced only once
    the new one is complete; on any error the temporary file is removed.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def stderr_progress(message: str) -> None:
    print(f"symkin: {message}", file=sys.stderr, flush=True)


def stderr_note(message: str) -> None:
    print(f"symkin: note: {message}", file=sys.stderr, flush=True)
