"""Code generators. A backend is a folder here with its printer and config (``BACKEND``), and its
templates in ``templates/<name>/``; every backend prints the same :class:`~symkin.compiler.program.Program`."""

from __future__ import annotations

import importlib

from symkin.compiler.emit import Backend
from symkin.errors import SymkinError

NAMES = ("torch", "jax")


def backend(name: str) -> Backend:
    """The backend called ``name``; importing it does not import its tensor library."""
    if name not in NAMES:
        raise SymkinError(f"unknown backend {name!r} (expected one of {', '.join(NAMES)})")
    return importlib.import_module(f".{name}", __name__).BACKEND
