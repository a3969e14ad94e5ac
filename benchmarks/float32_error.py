"""Worst float32 error against float64 on real robots, at 2,000 random configurations within limits.

    python benchmarks/float32_error.py

Position error in metres (largest over tips and samples), rotation error as the
largest geodesic angle, Jacobian error as the largest absolute entry difference.
"""

from __future__ import annotations

import math

import torch

import symkin

ROBOTS = [
    ("Panda", "example-robot-data:panda_description/urdf/panda.urdf", None),
    ("UR5", "example-robot-data:ur_description/urdf/ur5_robot.urdf", None),
    ("Kinova (continuous)", "example-robot-data:kinova_description/robots/kinova.urdf", None),
    ("Talos (mimic)", "example-robot-data:talos_data/robots/talos_full_v2.urdf", None),
    ("G1 humanoid", "example-robot-data:g1_description/urdf/g1_29dof_rev_1_0.urdf", None),
    ("Tiago dual, 101 DOF", "example-robot-data:tiago_description/robots/tiago_dual.urdf", None),
]


def worst_errors(path: str, samples: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    module = symkin.module_class(
        symkin.load_module(symkin.generate(symkin.derive(symkin.load(path))))
    )()
    generator = torch.Generator().manual_seed(seed)
    lower, upper = module.lower.clamp(min=-math.pi), module.upper.clamp(max=math.pi)
    q = lower + (upper - lower) * torch.rand(
        samples, len(module.joint_names), generator=generator, dtype=torch.float64
    )
    pose64, jacobian64 = module.forward_and_jacobian(q)
    pose32, jacobian32 = module.forward_and_jacobian(q.float())
    position = symkin.position_error(pose32.double(), pose64).max().item()
    rotation = symkin.rotation_error(pose32.double(), pose64).max().item()
    jacobian = (jacobian32.double() - jacobian64).abs().max().item()
    return position, rotation, jacobian


def main() -> None:
    print("| robot | worst position error | worst rotation error | worst Jacobian entry error |")
    print("|---|---|---|---|")
    for label, path, _ in ROBOTS:
        position, rotation, jacobian = worst_errors(path)
        print(
            f"| {label} | {position * 1e6:.2f} µm | {math.degrees(rotation) * 3600:.2f} arcsec "
            f"({rotation:.1e} rad) | {jacobian:.1e} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
