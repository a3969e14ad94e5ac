"""Every method of every torch module under torch.func: vmap, jacrev, jacfwd and functional_call.

The modules are those in generated/ and three more that take the runtime's other paths: chains
packed into lanes with a fixed base (Solo12), mimic joints (TALOS's arm and gripper) and a packed
floating-base MJCF model (gymnasium's ant). Each transform is compared with the plain call: vmap
with the batched call, jacrev and jacfwd with torch.autograd.functional.jacobian (ordinary
autograd, itself checked by gradcheck and finite differences elsewhere).
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import sys
from pathlib import Path

import gymnasium
import pytest
import torch
from helpers import REPO, compile_file, input_names, random_base_poses, robot_file, sample_q

import symkin

GENERATED = [
    path
    for path in sorted((REPO / "generated").glob("*.py"))
    if "\nimport torch\n" in path.read_text(encoding="utf-8")
]
COMPILED = {
    "solo12-packed": ("solo_description/robots/solo12.urdf", False),
    "talos-arm-mimic": ("talos_data/robots/talos_left_arm.urdf", False),
    "ant-floating": ("ant.xml", True),
}
GYMNASIUM = Path(gymnasium.__file__).parent / "envs/mujoco/assets"


@functools.cache
def module(name: str) -> torch.nn.Module:
    if name in COMPILED:
        relative, floating = COMPILED[name]
        path = GYMNASIUM / relative if relative.endswith(".xml") else robot_file(relative)
        return compile_file(str(path), floating_base=floating or None)
    path = REPO / "generated" / name
    spec = importlib.util.spec_from_file_location(f"functorch_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = loaded
    spec.loader.exec_module(loaded)
    return symkin.module_class(loaded)().double()


def methods(kinematics_module: torch.nn.Module) -> list[str]:
    """The public methods the generated class defines (forward, jacobian, ...)."""
    return [
        name
        for name, value in vars(type(kinematics_module)).items()
        if inspect.isfunction(value) and not name.startswith("_")
    ]


def arguments(kinematics_module, method: str, batch: tuple[int, ...], seed: int):
    """Random arguments for ``method``, by the names of its parameters."""
    count = 1 if not batch else batch[0]
    q = sample_q(kinematics_module, count, seed).reshape(*batch, -1)
    generator = torch.Generator().manual_seed(seed)
    nv = kinematics_module.nv
    columns = nv + (6 if kinematics_module.floating_base else 0)

    def normal(width: int) -> torch.Tensor:
        return torch.randn(*batch, width, generator=generator, dtype=torch.float64)

    values = {
        "q": lambda: q,
        "v": lambda: normal(nv),
        "a": lambda: normal(nv),
        "tau": lambda: normal(columns),
        "base": lambda: random_base_poses(count, seed).reshape(*batch, 7),
        "base_velocity": lambda: normal(6),
        "base_acceleration": lambda: normal(6),
        "obstacles": lambda: torch.rand(*batch, 3, 4, generator=generator, dtype=torch.float64),
    }
    return tuple(values[name]() for name in input_names(getattr(kinematics_module, method)))


def assert_close(got: torch.Tensor, want: torch.Tensor, what: str) -> None:
    """Equal to round-off: 1e-10 of the largest entry (a linear solve's derivative loses digits
    in the small entries)."""
    scale = max(1.0, want.abs().max().item()) if want.numel() else 1.0
    torch.testing.assert_close(
        got, want, rtol=1e-10, atol=1e-10 * scale, msg=lambda detail: f"{what}: {detail}"
    )


def first(result):
    """The first tensor of a result (the pose of forward_and_jacobian, ...)."""
    return result if isinstance(result, torch.Tensor) else result[0]


CASES = [path.name for path in GENERATED] + list(COMPILED)


def test_cases_cover_packed_floating_and_mimic_modules():
    assert {"solo12_floating.py", "panda.py", "arm6_mjcf.py"} <= set(CASES)


@pytest.mark.parametrize("name", CASES)
def test_vmap_and_functional_call_agree_with_the_batched_call(name):
    kinematics_module = module(name)
    for method in methods(kinematics_module):
        inputs = arguments(kinematics_module, method, (5,), seed=3)
        function = getattr(kinematics_module, method)
        expected, mapped = function(*inputs), torch.func.vmap(function)(*inputs)
        if isinstance(expected, torch.Tensor):
            assert_close(mapped, expected, method)
        else:
            for part, want in zip(mapped, expected, strict=True):
                assert_close(part, want, method)
    buffers = {key: value.clone() for key, value in kinematics_module.named_buffers()}
    inputs = arguments(kinematics_module, "forward", (5,), seed=3)
    called = torch.func.functional_call(kinematics_module, buffers, inputs)
    assert_close(called, kinematics_module(*inputs), "functional_call")


@pytest.mark.parametrize("name", CASES)
def test_jacrev_and_jacfwd_agree_with_autograd(name):
    kinematics_module = module(name)
    for method in methods(kinematics_module):
        inputs = arguments(kinematics_module, method, (), seed=4)
        positions = tuple(range(len(inputs)))

        def function(*values, method=method):
            return first(getattr(kinematics_module, method)(*values))

        expected = torch.autograd.functional.jacobian(function, inputs)
        for transform in (torch.func.jacrev, torch.func.jacfwd):
            got = transform(function, argnums=positions)(*inputs)
            for part, want in zip(got, expected, strict=True):
                assert_close(part, want, f"{method} under {transform.__name__}")
