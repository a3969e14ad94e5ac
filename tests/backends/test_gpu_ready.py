"""Ready for the GPU, checked on any machine: every public method of every torch module in
generated/ and the loss helpers.

- No host synchronisation: on a GPU, an operation whose result the host must read (``.item()``,
  ``bool()`` of a tensor, ``nonzero``, a data-dependent Python branch) stalls the stream on every
  call. Counted on CPU with a dispatch mode, forward and backward.
- torch.autocast leaves the kinematics in q's dtype: the same values, bit for bit, as without it.
- With CUDA, a CUDA graph captures a module's call and replays it (skipped without CUDA).
"""

from __future__ import annotations

import copy
import importlib.util

import pytest
import torch
from helpers import REPO, input_names, random_base_poses
from torch.utils._python_dispatch import TorchDispatchMode

import symkin

SYNCING = {
    torch.ops.aten._local_scalar_dense,  # .item(), bool(), int(), float() of a tensor
    torch.ops.aten.nonzero,  # a result whose size the host must know
    torch.ops.aten.masked_select,
    torch.ops.aten.equal,
    torch.ops.aten._unique2,
    torch.ops.aten.unique_consecutive,
    torch.ops.aten.unique_dim,
}


class HostSyncs(TorchDispatchMode):
    """Records the operations dispatched under it that make the host wait for the device."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func.overloadpacket in SYNCING:
            self.found.append(str(func))
        return func(*args, **(kwargs or {}))


def _torch_modules() -> list[torch.nn.Module]:
    modules = []
    for path in sorted((REPO / "generated").glob("*.py")):
        spec = importlib.util.spec_from_file_location(f"sync_{path.stem}", path)
        loaded = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(loaded)
        if not hasattr(loaded, "forward_and_jacobian"):  # JAX and NumPy: module-level functions
            modules.append(symkin.module_class(loaded)().double())
    return modules


MODULES = _torch_modules()


def _public_methods(module: torch.nn.Module) -> list[str]:
    own = vars(type(module))
    return sorted(
        name for name, value in own.items() if callable(value) and not name.startswith("_")
    )


def _argument(module: torch.nn.Module, name: str, batch: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(len(name))
    normal = lambda *shape: torch.randn(shape, generator=generator, dtype=torch.float64)  # noqa: E731
    columns = module.nv + (6 if module.floating_base else 0)
    values = {
        "q": lambda: normal(batch, module.nq),
        "v": lambda: normal(batch, module.nv),
        "a": lambda: normal(batch, module.nv),
        "tau": lambda: normal(batch, columns),
        "base": lambda: random_base_poses(batch, 3),
        "base_velocity": lambda: normal(batch, 6),
        "base_acceleration": lambda: normal(batch, 6),
        "obstacles": lambda: torch.tensor([[0.4, 0.1, 0.5, 0.1], [0.0, -0.3, 0.2, 0.05]]).double(),
    }
    return values[name]()


CALLS = [(module, method) for module in MODULES for method in _public_methods(module)]


def test_the_counter_sees_a_synchronisation():
    """The check can fail: .item(), bool() of a tensor and nonzero are each seen."""
    x = torch.ones(3)
    with HostSyncs() as counter:
        x.sum().item()
        bool(x.any())
        x.nonzero()
    assert len(counter.found) == 3


@pytest.mark.parametrize(
    "module, method", CALLS, ids=[f"{type(m).__name__}.{name}" for m, name in CALLS]
)
@pytest.mark.parametrize("batch", [1, 5])
def test_generated_methods_never_wait_for_the_device(module, method, batch):
    function = getattr(module, method)
    names = input_names(function)
    arguments = [_argument(module, name, batch) for name in names]
    for x in arguments:
        if x.is_floating_point() and x.shape[-1] != 4:  # obstacles are data, not variables
            x.requires_grad_()
    with HostSyncs() as counter:
        result = function(*arguments)
        outputs = result if isinstance(result, tuple) else (result,)
        sum(output.sum() for output in outputs).backward()
    assert counter.found == [], f"{method} synchronises: {counter.found}"


def test_the_loss_helpers_never_wait_for_the_device():
    generator = torch.Generator().manual_seed(0)
    X = symkin.quaternion_to_matrix(torch.randn(4, 4, generator=generator, dtype=torch.float64))
    poses = torch.eye(4, dtype=torch.float64).repeat(4, 1, 1)
    poses[:, :3, :3] = X
    target = poses.flip(0)
    points = torch.randn(4, 7, 4, generator=generator, dtype=torch.float64).requires_grad_()
    with HostSyncs() as counter:
        losses = [
            symkin.pose_error(poses.requires_grad_(), target),
            symkin.position_error(poses, target),
            symkin.rotation_error(poses[:, :3, :3], target[:, :3, :3]),
            symkin.matrix_to_quaternion(poses[:, :3, :3]),
            symkin.rotation_6d_to_matrix(symkin.matrix_to_rotation_6d(poses[:, :3, :3])),
            symkin.rotation_vector(poses[:, :3, :3]),
            symkin.collision_penalty(points[..., 0]),
            symkin.plane_distances(points, torch.tensor([0.0, 0, 1], dtype=torch.float64)),
            symkin.box_distances(
                points,
                torch.eye(4, dtype=torch.float64)[None],
                torch.tensor([[0.1, 0.2, 0.3]]).double(),
            ),
        ]
        sum(loss.sum() for loss in losses).backward()
    assert counter.found == []


@pytest.mark.parametrize(
    "module, method", CALLS, ids=[f"{type(m).__name__}.{name}" for m, name in CALLS]
)
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_autocast_leaves_the_kinematics_in_q_dtype(module, method, dtype):
    """The decision: a module under autocast computes in q's dtype (in bfloat16 a matrix product of
    the frame program errs by millimetres), so its results are those without autocast."""
    function = getattr(copy.deepcopy(module).float(), method)
    names = input_names(function)
    arguments = [_argument(module, name, 3).float() for name in names]
    expected = function(*arguments)
    with torch.autocast("cpu", dtype=dtype):
        got = function(*arguments)
    for got_part, expected_part in zip(
        got if isinstance(got, tuple) else (got,),
        expected if isinstance(expected, tuple) else (expected,),
        strict=True,
    ):
        assert got_part.dtype == torch.float32
        torch.testing.assert_close(got_part, expected_part, rtol=0, atol=0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_a_cuda_graph_captures_and_replays_a_module():
    module = next(m for m in MODULES if type(m).__name__ == "PandaKinematics").cuda().float()
    q = torch.rand(4096, module.nq, device="cuda")
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):  # warm up outside the graph, as CUDA graphs require
        module.forward_and_jacobian(q)
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        poses, jacobians = module.forward_and_jacobian(q)
    q.copy_(torch.rand_like(q))
    graph.replay()
    expected_poses, expected_jacobians = module.forward_and_jacobian(q)
    torch.testing.assert_close(poses, expected_poses)
    torch.testing.assert_close(jacobians, expected_jacobians)
