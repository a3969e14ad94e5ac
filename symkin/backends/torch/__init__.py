"""The PyTorch backend: a ``torch.nn.Module`` that imports only ``torch`` (``templates/torch/``)."""

from symkin.backends.torch.printer import TorchPrinter
from symkin.compiler.emit import Backend

BACKEND = Backend(
    name="torch",
    printer=TorchPrinter(),
    library="torch",
    templates=("torch",),
    runtime=(
        "symkin.backends.torch.runtime",
        "symkin.backends.torch.floating",
        "symkin.backends.torch.gradients",
        "symkin.backends.torch.velocities",
        "symkin.backends.torch.dynamics",
        "symkin.backends.torch.collision",
    ),
    closed_form_gradients=True,
    tree_form=True,
    reserved=("torch",),
    module_class=True,
)
