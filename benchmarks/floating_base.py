"""What a floating base costs: the same robot compiled with a fixed and with a floating base, the
same configurations, timed round-robin in one process.

    python benchmarks/floating_base.py [--quick] [--threads N]

Robots: G1 (29 joints, every leaf a tip: 11) and Solo12 (12 joints, 4 feet), float32. Workloads:
the poses (``forward``), the poses backward to q (and to the base, for the floating one), and
the poses with their Jacobians (``forward_and_jacobian``; the floating Jacobian has 6 more
columns, the base's twist). The base is a (B, 7) pose of random, not normalised, quaternions.
Prints the median time per call and floating / fixed. One torch thread unless --threads; about
40 s on a 2-core CPU, --quick about 10 s.
"""

from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from bench import median_times  # noqa: E402

import symkin  # noqa: E402

ROBOTS = {
    "G1": "example-robot-data:g1_description/urdf/g1_29dof_rev_1_0.urdf",
    "Solo12": "example-robot-data:solo_description/robots/solo12.urdf",
}


def compiled(path: str, floating: bool) -> torch.nn.Module:
    model = symkin.load(path)
    kinematics = symkin.derive(model, symkin.ALL_LEAVES, None, floating, notes=lambda note: None)
    return symkin.module_class(symkin.load_module(symkin.generate(kinematics)))()


def workloads(fixed, floating, q: torch.Tensor, base: torch.Tensor):
    """(name, fixed-base call, floating-base call)."""

    def backward(pose, *inputs):
        def run():
            leaves = [x.detach().requires_grad_() for x in inputs]
            pose(*leaves).sum().backward()

        return run

    return [
        ("forward", lambda: fixed(q), lambda: floating(q, base)),
        ("forward + backward", backward(fixed, q), backward(floating, q, base)),
        (
            "forward_and_jacobian",
            lambda: fixed.forward_and_jacobian(q),
            lambda: floating.forward_and_jacobian(q, base),
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter timing budget")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    arguments = parser.parse_args()
    torch.set_num_threads(arguments.threads)
    budget = 0.3 if arguments.quick else 2.0
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), "
        f"{platform.processor() or platform.machine()}; median µs per call, floating / fixed"
    )
    print("| robot | workload | B | fixed µs | floating µs | floating / fixed |")
    print("|---|---|---|---|---|---|")
    for label, path in ROBOTS.items():
        fixed, floating = compiled(path, False), compiled(path, True)
        generator = torch.Generator().manual_seed(0)
        for batch in (1, 1000, 4096):
            q = fixed.lower.clamp(min=-1) + torch.rand(
                batch, len(fixed.joint_names), generator=generator
            ) * (fixed.upper.clamp(max=1) - fixed.lower.clamp(min=-1))
            base = torch.randn(batch, 7, generator=generator)
            for name, on_fixed, on_floating in workloads(fixed, floating, q, base):
                a, b = median_times([on_fixed, on_floating], budget)
                print(
                    f"| {label} | {name} | {batch:,} | {a * 1e6:,.0f} | {b * 1e6:,.0f} "
                    f"| {b / a:.2f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
