"""The JAX backend: pure functions that import only ``jax`` and ``jax.numpy`` (``templates/jax/``)."""

from symkin.compiler.emit import Backend

from .printer import JaxPrinter

BACKEND = Backend(
    name="jax",
    template="jax/module.py.jinja",
    printer=JaxPrinter(),
    library="jax",
    # q to joint rows, the angle table, sin, cos, the constants and the outputs' concatenation.
    fixed_operations=6,
)
