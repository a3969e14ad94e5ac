"""Deploying a generated module: torch.export with a dynamic batch, ONNX in onnxruntime,
AOTInductor.

Each exported program is run at batch sizes it was not traced with and compared with the eager
module in float32. A module exports its ``forward``; the other methods export through a one-line
wrapper, the one the README shows.
"""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest
import torch
from helpers import REPO, random_base_poses, sample_q

import symkin

BATCHES = (1, 9, 1000)


class Method(torch.nn.Module):
    """A module whose ``forward`` is one method of a generated module: what torch.export exports."""

    def __init__(self, kinematics: torch.nn.Module, method: str) -> None:
        super().__init__()
        self.kinematics = kinematics
        self.method = method

    def forward(self, q: torch.Tensor, base: torch.Tensor | None = None):
        method = getattr(self.kinematics, self.method)
        return method(q) if base is None else method(q, base)


def generated(name: str) -> torch.nn.Module:
    source = (REPO / "generated" / f"{name}.py").read_text()
    return symkin.module_class(symkin.load_module(source, f"deployed_{name}"))().float()


def inputs(kinematics: torch.nn.Module, batch: int, seed: int) -> tuple[torch.Tensor, ...]:
    q = sample_q(kinematics, batch, seed, torch.float32)
    floating = kinematics.floating_base
    return (q, random_base_poses(batch, seed, torch.float32)) if floating else (q,)


def outputs(result) -> list[torch.Tensor]:
    return list(result) if isinstance(result, (tuple, list)) else [result]


def export(program: torch.nn.Module, kinematics: torch.nn.Module) -> torch.export.ExportedProgram:
    batch = torch.export.Dim("batch")
    example = inputs(kinematics, 4, seed=0)
    return torch.export.export(program, example, dynamic_shapes=tuple({0: batch} for _ in example))


CASES = [
    ("panda", "forward"),
    ("panda", "jacobian"),
    ("panda", "forward_and_jacobian"),
    ("solo12_floating", "forward_and_jacobian"),
]


@pytest.mark.parametrize("name, method", CASES)
def test_torch_export_keeps_the_batch_dynamic(name, method, tmp_path):
    kinematics = generated(name)
    program = kinematics if method == "forward" else Method(kinematics, method)
    exported = export(program, kinematics)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # e.g. "No complete tensor found in the group"
        torch.export.save(exported, tmp_path / "kinematics.pt2")
    loaded = torch.export.load(tmp_path / "kinematics.pt2").module()
    for batch in BATCHES:
        example = inputs(kinematics, batch, seed=batch)
        for got, expected in zip(
            outputs(loaded(*example)), outputs(program(*example)), strict=True
        ):
            assert got.shape == expected.shape and got.shape[0] == batch
            torch.testing.assert_close(got, expected, atol=1e-6, rtol=0)


OUTPUT_NAMES = {
    "forward": ["pose"],
    "jacobian": ["jacobian"],
    "forward_and_jacobian": ["pose", "jacobian"],
}


@pytest.mark.parametrize("name, method", CASES)
def test_onnx_runs_in_onnxruntime_at_any_batch(name, method, tmp_path):
    onnxruntime = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    kinematics = generated(name)
    program = (kinematics if method == "forward" else Method(kinematics, method)).eval()
    batch = torch.export.Dim("batch")
    example = inputs(kinematics, 4, seed=0)
    input_names = ["q", "base"][: len(example)]
    output_names = OUTPUT_NAMES[method]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's own notes (torchvision missing, ...)
        onnx_program = torch.onnx.export(
            program,
            example,
            input_names=input_names,
            output_names=output_names,
            dynamic_shapes=tuple({0: batch} for _ in example),
            dynamo=True,
            verbose=False,
        )
    onnx_program.save(str(tmp_path / "kinematics.onnx"))
    session = onnxruntime.InferenceSession(
        str(tmp_path / "kinematics.onnx"), providers=["CPUExecutionProvider"]
    )
    assert [i.name for i in session.get_inputs()] == input_names
    assert [o.name for o in session.get_outputs()] == output_names
    for size in BATCHES:
        example = inputs(kinematics, size, seed=size)
        feed = {i.name: x.numpy() for i, x in zip(session.get_inputs(), example, strict=True)}
        got = session.run(None, feed)
        for array, expected in zip(got, outputs(program(*example)), strict=True):
            assert array.shape == tuple(expected.shape) and array.dtype == np.float32
            np.testing.assert_allclose(array, expected.numpy(), atol=1e-6, rtol=0)


@pytest.mark.slow
def test_aot_inductor_package_runs_at_any_batch(tmp_path):
    """A floating-base robot's pose and Jacobian compiled ahead of time into a shared library."""
    if shutil.which("g++") is None and shutil.which("c++") is None:
        pytest.skip("AOTInductor needs a C++ compiler")
    kinematics = generated("solo12_floating")
    program = Method(kinematics, "forward_and_jacobian")
    package = torch._inductor.aoti_compile_and_package(
        export(program, kinematics), package_path=str(tmp_path / "solo12.pt2")
    )
    runner = torch._inductor.aoti_load_package(package)
    for batch in BATCHES:
        example = inputs(kinematics, batch, seed=batch)
        for got, expected in zip(runner(*example), program(*example), strict=True):
            torch.testing.assert_close(got, expected, atol=1e-6, rtol=0)
