"""The README's centre-of-mass, velocity and dynamics examples run as printed, against the modules
in generated/ their compile commands make, and their losses reach q."""

from __future__ import annotations

import re
import sys

import pytest
import torch
from helpers import REPO


def python_blocks_after(heading: str) -> list[str]:
    """The ```python blocks of the README section that starts with ``heading``."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = text.index(heading)
    end = text.find("\n#", start + len(heading))
    return re.findall(r"```python\n(.*?)```", text[start:end], re.DOTALL)


def test_center_of_mass_example_runs(monkeypatch):
    (block,) = python_blocks_after("### Centre of mass and velocities: the quantities")
    monkeypatch.syspath_prepend(str(REPO / "generated"))
    monkeypatch.delitem(sys.modules, "solo12_com_velocity", raising=False)
    namespace: dict = {}
    torch.manual_seed(0)
    exec(compile(block, "README.md", "exec"), namespace)
    assert namespace["com"].shape == (64, 3) and namespace["J_dot"].shape == (64, 4, 6, 18)
    assert namespace["fk"].mass == pytest.approx(2.5, abs=1e-5)
    assert namespace["q"].grad is not None and torch.isfinite(namespace["q"].grad).all()
    outside = namespace["outside"]
    square = torch.tensor([[1.0, 1, 0], [-1, 1, 0], [-1, -1, 0], [1, -1, 0]], dtype=torch.float64)
    assert outside(torch.tensor([0.2, -0.3, 5.0], dtype=torch.float64), square) == 0
    assert outside(torch.tensor([1.5, 0.0, 0.0], dtype=torch.float64), square) == pytest.approx(0.5)


def test_dynamics_example_runs(monkeypatch):
    (block,) = python_blocks_after("### Dynamics: inverse and forward dynamics")
    monkeypatch.syspath_prepend(str(REPO / "generated"))
    monkeypatch.delitem(sys.modules, "panda_dynamics", raising=False)
    namespace: dict = {}
    torch.manual_seed(0)
    exec(compile(block, "README.md", "exec"), namespace)
    torch.testing.assert_close(namespace["a_again"], namespace["a"], rtol=1e-9, atol=1e-9)
    assert namespace["M"].shape == (256, 8, 8) and torch.equal(namespace["M"], namespace["M"].mT)
    assert namespace["q"].grad is not None and namespace["q"].grad.abs().sum() > 0


def test_collision_example_runs(monkeypatch):
    (block,) = python_blocks_after("### Collision: spheres on links")
    monkeypatch.syspath_prepend(str(REPO / "generated"))
    monkeypatch.delitem(sys.modules, "panda_collision", raising=False)
    namespace: dict = {}
    torch.manual_seed(0)
    exec(compile(block, "README.md", "exec"), namespace)
    assert namespace["spheres"].shape == (256, 82, 4) and namespace["d_self"].shape == (256, 20)
    assert namespace["d_obstacles"].shape == (256, 82, 500)
    assert namespace["table"].shape == (256, 82, 1) and namespace["floor"].shape == (256, 82)
    assert namespace["q"].grad is not None and torch.isfinite(namespace["q"].grad).all()
