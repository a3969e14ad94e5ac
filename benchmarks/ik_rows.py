"""The IK rows of ``benchmarks/bench.py``: symkin.solve_ik against pytorch_kinematics' IK on the
Panda, and whole-body IK on G1 with a floating base (see bench.py, which prints them unless
--no-ik)."""

from __future__ import annotations

import contextlib
import io
import statistics
import time

import torch
from bench import ROBOTS, compile_symkin

import symkin
from symkin.readers.load import resolve_robot_path


def ik_comparison(repeats: int = 3) -> list[str]:
    """Success at 1 mm / 1° and median time on 1,000 reachable Panda targets, float32, CPU."""
    import math

    import pytorch_kinematics as pk

    robot = ROBOTS[0]
    module, _ = compile_symkin(robot)
    module = module.float()
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        chain = pk.build_serial_chain_from_urdf(
            resolve_robot_path(robot.path).read_bytes(), robot.tips[0], robot.base
        )
    chain = chain.to(dtype=torch.float32)
    generator = torch.Generator().manual_seed(0)
    q = module.lower + (module.upper - module.lower) * torch.rand(1000, 7, generator=generator)
    targets = module(q)
    limits = torch.stack([module.lower, module.upper], dim=-1)

    def run_pk(retries: int, iterations: int, lr: float):
        solver = pk.PseudoInverseIK(
            chain, max_iterations=iterations, num_retries=retries, joint_limits=limits, lr=lr,
            early_stopping_any_converged=True, pos_tolerance=1e-3, rot_tolerance=math.radians(1.0),
        )  # fmt: skip
        return solver.solve(pk.Transform3d(matrix=targets)).converged_any.float().mean().item()

    def run_symkin(restarts: int, iterations: int):
        result = symkin.solve_ik(
            module,
            targets,
            restarts=restarts,
            max_iterations=iterations,
            generator=torch.Generator().manual_seed(1),
        )
        return result.success.float().mean().item()

    settings = [
        (
            "pytorch_kinematics PseudoInverseIK",
            "10 retries, 50 iterations, lr 1 (its defaults)",
            lambda: run_pk(10, 50, 1.0),
        ),
        (
            "pytorch_kinematics PseudoInverseIK",
            "20 retries, 60 iterations, lr 0.2",
            lambda: run_pk(20, 60, 0.2),
        ),
        ("symkin solve_ik", "8 restarts, 60 iterations", lambda: run_symkin(8, 60)),
        ("symkin solve_ik", "16 restarts, 60 iterations (defaults)", lambda: run_symkin(16, 60)),
        ("symkin solve_ik", "32 restarts, 60 iterations", lambda: run_symkin(32, 60)),
    ]
    lines = [
        "",
        "| IK solver | setting | success at 1 mm / 1° | seconds for 1,000 targets |",
        "|---|---|---|---|",
    ]
    print("\n".join(lines), flush=True)
    for solver, setting, run in settings:
        times, rates = [], []
        for _ in range(repeats):
            started = time.perf_counter()
            rates.append(run())
            times.append(time.perf_counter() - started)
        lines.append(
            f"| {solver} | {setting} | {statistics.mean(rates) * 100:.1f}% | "
            f"{statistics.median(times):.2f} |"
        )
        print(lines[-1], flush=True)
    return lines


def whole_body_ik(repeats: int = 1) -> list[str]:
    """symkin.solve_ik on G1 with a floating base: both feet (full poses) and both hands, 1,000
    targets made from random configurations and random base poses (positions within ±1 m, any
    orientation), float32."""
    tips = (
        "left_ankle_roll_link",
        "right_ankle_roll_link",
        "left_rubber_hand",
        "right_rubber_hand",
    )
    kinematics = symkin.derive(symkin.load(ROBOTS[2].path), tips, floating_base=True)
    module = symkin.module_class(symkin.load_module(symkin.generate(kinematics)))().float()
    generator = torch.Generator().manual_seed(0)
    q = module.lower + (module.upper - module.lower) * torch.rand(
        1000, len(module.joint_names), generator=generator
    )
    base = torch.cat(
        [
            torch.rand(1000, 3, generator=generator) * 2 - 1,
            torch.randn(1000, 4, generator=generator),
        ],
        -1,
    )
    targets = module(q, base)
    hands_free = {"left_rubber_hand": 0.0, "right_rubber_hand": 0.0}
    settings = [
        ("feet and hands, full poses", {}),
        ("feet full poses, hands positions", {"rotation_weight": hands_free}),
    ]
    lines = [
        "",
        "| whole-body IK, G1, floating base | success at 1 mm / 1° | seconds for 1,000 targets |",
        "|---|---|---|",
    ]
    print("\n".join(lines), flush=True)
    for label, options in settings:
        times, rates = [], []
        for _ in range(repeats):
            started = time.perf_counter()
            result = symkin.solve_ik(
                module, targets, tip=tips, generator=torch.Generator().manual_seed(1), **options
            )
            times.append(time.perf_counter() - started)
            rates.append(result.success.float().mean().item())
        lines.append(
            f"| {label} | {statistics.mean(rates) * 100:.1f}% | {statistics.median(times):.2f} |"
        )
        print(lines[-1], flush=True)
    return lines
