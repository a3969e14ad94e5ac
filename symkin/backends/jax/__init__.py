"""The JAX backend: pure functions that import only ``jax`` (``templates/jax/``), printed
and run by what it shares with NumPy (:mod:`symkin.backends.array_api`)."""

from symkin.backends.array_api.printer import ArrayPrinter
from symkin.compiler.emit import Backend

BACKEND = Backend(
    name="jax",
    printer=ArrayPrinter(),
    library="jax",
    templates=("jax", "functional"),
    runtime=("symkin.backends.array_api.runtime", "symkin.backends.array_api.dynamics"),
    namespace="import jax\nimport jax.numpy as xp",
    file_suffix="_jax",
)
