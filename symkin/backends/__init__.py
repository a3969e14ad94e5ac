"""Code generators, registered here and nowhere else.

A backend is a folder here with its printer, its runtime (the fixed code every generated module
copies) and its config (``BACKEND``), and its templates in ``templates/<name>/``; every backend
prints the same :class:`~symkin.compiler.program.Program`. docs/architecture.md says how to add one.
"""

from __future__ import annotations

import importlib

from symkin.errors import SymkinError

NAMES = ("torch", "jax", "numpy")
"""Every backend, the default first."""

DEFAULT = NAMES[0]


def backend(name: str):
    """The backend called ``name`` (a :class:`~symkin.compiler.emit.Backend`); importing it does
    not import its array library."""
    if name not in NAMES:
        raise SymkinError(f"unknown backend {name!r} (expected one of {', '.join(NAMES)})")
    return importlib.import_module(f"symkin.backends.{name}").BACKEND
