"""The PyTorch backend: a ``torch.nn.Module`` that imports only ``torch`` (``templates/torch/``)."""

from symkin.compiler.emit import Backend

from .printer import TorchPrinter

BACKEND = Backend(
    name="torch",
    template="torch/module.py.jinja",
    printer=TorchPrinter(),
    library="torch",
    # q to joint rows, the angle table, sin, cos and their concatenation, the constants' unbind and
    # the outputs' concatenation.
    fixed_operations=7,
)
