"""What a training loop does to a generated function, as checks shared by the output tests:
torch.compile(fullgraph=True) and torch.func.vmap against eager (values and gradients),
torch.export with a dynamic batch, and a JAX function under jit, vmap and grad."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch


def check_compiled_and_vmapped(function: Callable, arguments: Sequence[torch.Tensor]) -> None:
    expected = function(*arguments)
    torch.compiler.reset()  # each method is a new function to Dynamo, not a recompilation
    compiled = torch.compile(function, fullgraph=True, backend="aot_eager")
    torch.testing.assert_close(compiled(*arguments), expected, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(
        torch.func.vmap(function)(*arguments), expected, rtol=1e-10, atol=1e-12
    )
    leaves = [x.clone().requires_grad_() for x in arguments]
    compiled(*leaves).square().sum().backward()
    eager = [x.clone().requires_grad_() for x in arguments]
    function(*eager).square().sum().backward()
    for got, want in zip(leaves, eager, strict=True):
        torch.testing.assert_close(got.grad, want.grad, rtol=1e-9, atol=1e-10)


class Method(torch.nn.Module):
    """One method of a kinematics module as a module's ``forward``: what torch.export exports."""

    def __init__(self, kinematics_module: torch.nn.Module, method: str) -> None:
        super().__init__()
        self.kinematics = kinematics_module
        self.method = method

    def forward(self, *arguments: torch.Tensor) -> torch.Tensor:
        return getattr(self.kinematics, self.method)(*arguments)


def check_exported(
    kinematics_module: torch.nn.Module,
    method: str,
    inputs: Callable[[int], tuple[torch.Tensor, ...]],
    sizes: Sequence[int] = (1, 9, 1000),
) -> None:
    """Exported with a batch of 4 and a dynamic batch dimension, the method agrees with eager on
    ``inputs(size)`` for each size."""
    program = Method(kinematics_module, method)
    example = inputs(4)
    batch = torch.export.Dim("batch")
    exported = torch.export.export(
        program, example, dynamic_shapes=(tuple({0: batch} for _ in example),)
    ).module()
    for size in sizes:
        arguments = inputs(size)
        got, expected = exported(*arguments), program(*arguments)
        assert got.shape == expected.shape and got.shape[0] == size
        torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-12)


def check_numpy(function: Callable, reference: Callable, arguments: Sequence[torch.Tensor]) -> None:
    """The NumPy ``function`` agrees with the torch ``reference`` on ``arguments``."""
    got = function(*(x.numpy() for x in arguments))
    expected = reference(*arguments).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def check_jax(function: Callable, reference: Callable, arguments: Sequence[torch.Tensor]) -> None:
    """The JAX ``function`` under jit and vmap agrees with the torch ``reference``, and so does the
    gradient of its squares' sum with respect to the first argument under jit(grad)."""
    import jax

    values = [jax.numpy.asarray(x.numpy()) for x in arguments]
    expected = reference(*arguments).detach().numpy()
    np.testing.assert_allclose(jax.jit(function)(*values), expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(jax.vmap(function)(*values), expected, rtol=1e-10, atol=1e-12)

    def loss(q, *rest):
        return (function(q, *rest) ** 2).sum()

    leaves = [x.clone().requires_grad_() for x in arguments]
    reference(*leaves).square().sum().backward()
    gradient = jax.jit(jax.grad(loss))(*values)
    np.testing.assert_allclose(gradient, leaves[0].grad.numpy(), rtol=1e-9, atol=1e-10)
