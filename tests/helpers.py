"""Shared test helpers: compiling robots into live modules, an independent Pinocchio oracle, sampling."""

from __future__ import annotations

import functools
import math
import sysconfig
from pathlib import Path

import numpy as np
import torch

import symkin

ROBOTS = Path(sysconfig.get_paths()["purelib"]) / "cmeel.prefix/share/example-robot-data/robots"
REPO = Path(__file__).resolve().parent.parent


def robot_file(relative: str) -> Path:
    path = ROBOTS / relative
    assert path.is_file(), f"example-robot-data is not installed or lacks {relative}"
    return path


def compile_model(model: symkin.RobotModel, tips=None, base=None) -> torch.nn.Module:
    """An instance of the module symkin generates for ``model``, in float64 (the oracles' precision)."""
    source = symkin.generate(symkin.derive(model, tuple(tips) if tips else None, base))
    return symkin.module_class(symkin.load_module(source))().double()


@functools.lru_cache(maxsize=None)
def compile_file(path: str, tips: tuple[str, ...] | None = None, base: str | None = None) -> torch.nn.Module:
    return compile_model(symkin.load(path), tips, base)


def sample_q(module: torch.nn.Module, batch: int, seed: int = 0, dtype=torch.float64) -> torch.Tensor:
    """Joint values uniformly within limits (within ±π where a joint is unbounded)."""
    generator = torch.Generator().manual_seed(seed)
    lower = module.lower.clamp(min=-math.pi).to(dtype)
    upper = module.upper.clamp(max=math.pi).to(dtype)
    return lower + (upper - lower) * torch.rand(batch, len(module.joint_names), generator=generator, dtype=dtype)


class PinocchioOracle:
    """Poses and LOCAL_WORLD_ALIGNED Jacobians from Pinocchio, mapped to symkin's q.

    Pinocchio parses the URDF itself (``mimic=True``, so mimic joints follow
    their source with the file's multiplier and offset) and writes a
    continuous joint as (cos θ, sin θ). Joints symkin does not list are held at 0.
    Poses and Jacobians are re-expressed relative to ``base``.
    """

    def __init__(self, urdf: str | Path | None = None, xml: str | None = None) -> None:
        import pinocchio as pin

        self.pin = pin
        text = xml if xml is not None else Path(urdf).read_text()
        self.mimics: dict[str, tuple[str, float, float]] = {}
        try:
            self.model = pin.buildModelFromXML(text, mimic=True)
        except ValueError:
            # Pinocchio's mimic support needs the source joint above the mimic joint (Talos' grippers are not):
            # load mimic joints as free joints and drive them from the file's <mimic> tags here instead.
            self.model = pin.buildModelFromXML(text)
            self.mimics = _mimic_tags(text)
        self.data = self.model.createData()

    def _source(self, name: str) -> tuple[str, float, float]:
        """(actuated joint, multiplier, offset) driving ``name``, following mimic chains."""
        multiplier, offset = 1.0, 0.0
        while name in self.mimics:
            source, m, o = self.mimics[name]
            # value = multiplier*(m*source + o) + offset
            multiplier, offset = multiplier * m, offset + multiplier * o
            name = source
        return name, multiplier, offset

    def _pin_q(self, joint_names: tuple[str, ...], q: np.ndarray) -> np.ndarray:
        model = self.model
        q_pin = self.pin.neutral(model)
        value = dict(zip(joint_names, q))
        for joint_id in range(1, model.njoints):
            name, start, size = model.names[joint_id], model.idx_qs[joint_id], model.nqs[joint_id]
            if size == 0:
                continue
            source, multiplier, offset = self._source(name)
            angle = multiplier * value.get(source, 0.0) + offset
            if size == 1:
                q_pin[start] = angle
            else:  # continuous: (cos θ, sin θ)
                q_pin[start : start + 2] = (math.cos(angle), math.sin(angle))
        return q_pin

    def __call__(self, joint_names, tips, base, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(T, 4, 4) poses and (T, 6, n) Jacobians of ``tips`` relative to ``base`` at one q."""
        pin, model, data = self.pin, self.model, self.data
        q_pin = self._pin_q(joint_names, q)
        pin.computeJointJacobians(model, data, q_pin)
        pin.updateFramePlacements(model, data)
        base_frame = model.getFrameId(base)
        X_world_base = data.oMf[base_frame]
        above_base = set(model.supports[model.frames[base_frame].parentJoint])
        column_of = {name: i for i, name in enumerate(joint_names)}
        poses, jacobians = [], []
        for tip in tips:
            tip_frame = model.getFrameId(tip)
            assert tip_frame < model.nframes, f"no frame {tip!r} in Pinocchio's model"
            poses.append((X_world_base.actInv(data.oMf[tip_frame])).homogeneous)
            J_world = pin.getFrameJacobian(model, data, tip_frame, pin.ReferenceFrame.LOCAL_WORLD_ALIGNED).reshape(6, model.nv)
            R = X_world_base.rotation.T
            J_base = np.vstack([R @ J_world[:3], R @ J_world[3:]])
            jacobian = np.zeros((6, len(joint_names)))
            for joint_id in range(1, model.njoints):
                if joint_id in above_base or model.nvs[joint_id] == 0 or not J_base[:, model.idx_vs[joint_id]].any():
                    continue
                source, multiplier, _ = self._source(model.names[joint_id])
                jacobian[:, column_of[source]] += multiplier * J_base[:, model.idx_vs[joint_id]]
            jacobians.append(jacobian)
        return np.stack(poses), np.stack(jacobians)


def _mimic_tags(urdf_text: str) -> dict[str, tuple[str, float, float]]:
    """{joint: (source, multiplier, offset)} from the URDF's <mimic> tags, read with the standard library."""
    import xml.etree.ElementTree as ElementTree

    tags = {}
    for joint in ElementTree.fromstring(urdf_text).findall("joint"):
        mimic = joint.find("mimic")
        if mimic is not None and joint.get("type") != "fixed":
            tags[joint.get("name")] = (mimic.get("joint"), float(mimic.get("multiplier", 1)), float(mimic.get("offset", 0)))
    return tags


def as_tips(array: torch.Tensor, tips: int) -> torch.Tensor:
    """Insert the tip axis a single-tip module leaves out: (..., 4, 4) -> (..., 1, 4, 4)."""
    return array.unsqueeze(-3) if tips == 1 else array
