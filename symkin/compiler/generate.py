"""From kinematics to a usable module: lower and emit its source, then load it as a module."""

from __future__ import annotations

import hashlib
import sys
import types
from collections.abc import Callable

from symkin import backends
from symkin.compiler.derive import Kinematics
from symkin.compiler.emit import EmitOptions, emit
from symkin.compiler.lower import lower

Progress = Callable[[str], None]


def generate(
    kinematics: Kinematics,
    options: EmitOptions | None = None,
    progress: Progress | None = None,
    backend: str = backends.DEFAULT,
) -> str:
    """The source of a standalone module for ``kinematics``: :func:`~symkin.compiler.lower.lower`,
    then :func:`~symkin.compiler.emit.emit` with the named backend (see :mod:`symkin.backends`)."""
    report = progress or (lambda message: None)
    chosen = backends.backend(backend)
    program = lower(kinematics)
    lanes = sum(len(a.lanes) for a in program.assignments)
    assignments = len(program.assignments)
    report(f"lowered: {lanes} columns in {assignments} assignments, {_count(program)}")
    source = emit(program, chosen, options or EmitOptions())
    report(f"emitted a {chosen.library} module")
    return source


def _count(program) -> str:
    motions = len(program.motions.joint_names)
    return f"{motions} moving joint{'' if motions == 1 else 's'}"


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
        if isinstance(value, type)
        and issubclass(value, torch.nn.Module)
        and value.__module__ == module.__name__
    ]
    if len(classes) != 1:
        raise ValueError(
            f"expected one torch.nn.Module subclass in the generated module, found {len(classes)}"
        )
    return classes[0]
