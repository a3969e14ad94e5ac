"""The NumPy backend: pure functions that import only ``numpy`` (``templates/numpy/``), for FK
without a deep-learning framework; printed and run by what it shares with JAX
(:mod:`symkin.backends.array_api`)."""

from symkin.backends.array_api.printer import ArrayPrinter
from symkin.compiler.emit import Backend

BACKEND = Backend(
    name="numpy",
    printer=ArrayPrinter(),
    library="numpy",
    templates=("numpy", "functional"),
    runtime=("symkin.backends.array_api.runtime", "symkin.backends.array_api.dynamics"),
    namespace="import numpy as xp",
    file_suffix="_numpy",
)
