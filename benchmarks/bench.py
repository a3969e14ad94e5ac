"""symkin against pytorch_kinematics, side by side in one process, interleaved, on the same inputs.

    pip install ".[bench]" && python benchmarks/bench.py [--quick] [--markdown results.md]

Prints, per robot, dtype and batch size, the median time of each workload for
both libraries and the ratio (theirs / ours: above 1 means symkin is faster);
then codegen time, generated-module import time and operation counts; then
batched IK on the same 1,000 reachable Panda targets (symkin.solve_ik against
pytorch_kinematics' PseudoInverseIK): success rate at 1 mm / 1° and time.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import platform
import statistics
import time
from collections.abc import Callable

import torch

import symkin
from symkin._compile import resolve_robot_path

ROBOTS = {
    "Panda": ("example-robot-data:panda_description/urdf/panda.urdf", "panda_link0", "panda_hand_tcp"),
    "UR5": ("example-robot-data:ur_description/urdf/ur5_robot.urdf", "base_link", "tool0"),
}


def pk_chain(path: str, base: str, tip: str):
    import pytorch_kinematics as pk

    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        return pk.build_serial_chain_from_urdf(resolve_robot_path(path).read_bytes(), tip, base)


def compile_symkin(path: str, base: str, tip: str) -> tuple[torch.nn.Module, dict]:
    started = time.perf_counter()
    kinematics = symkin.derive(symkin.load(path), (tip,), base)
    source = symkin.generate(kinematics)
    codegen = time.perf_counter() - started
    started = time.perf_counter()
    module = symkin.module_class(symkin.load_module(source))()
    imported = time.perf_counter() - started
    facts = {
        "codegen_s": codegen,
        "import_s": imported,
        "pose_ops": symkin.simplify(kinematics, jacobian=False).ops,
        "full_ops": symkin.simplify(kinematics).ops,
        "pose_ops_unsimplified": symkin.unsimplified_ops(kinematics, jacobian=False),
        "full_ops_unsimplified": symkin.unsimplified_ops(kinematics),
    }
    return module, facts


def median_times(functions: list[Callable[[], object]], budget_s: float, min_rounds: int = 5) -> list[float]:
    """Median seconds per call of each function, timed round-robin so drift hits all alike."""
    for f in functions:  # warm-up
        f()
        f()
    samples: list[list[float]] = [[] for _ in functions]
    started = time.perf_counter()
    while len(samples[0]) < min_rounds or time.perf_counter() - started < budget_s:
        for f, times in zip(functions, samples):
            t0 = time.perf_counter()
            f()
            times.append(time.perf_counter() - t0)
        if len(samples[0]) >= 2000:
            break
    return [statistics.median(times) for times in samples]


def workloads(ours: torch.nn.Module, chain, q: torch.Tensor, compiled: bool) -> dict[str, tuple[Callable, Callable]]:
    def forward_backward(f):
        def run():
            x = q.detach().requires_grad_()
            f(x).sum().backward()

        return run

    ours_pose = ours
    theirs_pose = lambda x: chain.forward_kinematics(x).get_matrix()  # noqa: E731
    result = {
        "forward": (lambda: ours(q), lambda: theirs_pose(q)),
        "forward + backward": (forward_backward(ours_pose), forward_backward(theirs_pose)),
        "jacobian": (lambda: ours.jacobian(q), lambda: chain.jacobian(q)),
    }
    if compiled:
        ours_compiled = torch.compile(ours, fullgraph=True, dynamic=False)
        theirs_compiled = torch.compile(chain.forward_kinematics_tensor, dynamic=False)
        result["compiled forward"] = (lambda: ours_compiled(q), lambda: theirs_compiled(q))
    return result


def check_agreement(ours, chain, q: torch.Tensor) -> None:
    pose_error = (ours(q) - chain.forward_kinematics(q).get_matrix()).abs().max().item()
    jacobian_error = (ours.jacobian(q) - chain.jacobian(q)).abs().max().item()
    # pytorch_kinematics parses a URDF into float32 tensors; .to(float64) keeps those rounded constants (~1e-7 m).
    tolerance = 1e-6 if q.dtype == torch.float64 else 1e-4
    assert pose_error < tolerance and jacobian_error < tolerance, (pose_error, jacobian_error)


def ik_comparison(repeats: int = 3) -> list[str]:
    """Success at 1 mm / 1° and median time on 1,000 reachable Panda targets, float32, CPU."""
    import math

    import pytorch_kinematics as pk

    path, base, tip = ROBOTS["Panda"]
    module, _ = compile_symkin(path, base, tip)
    module = module.float()
    chain = pk_chain(path, base, tip).to(dtype=torch.float32)
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
        result = symkin.solve_ik(module, targets, restarts=restarts, max_iterations=iterations, generator=torch.Generator().manual_seed(1))
        return result.success.float().mean().item()

    settings = [
        ("pytorch_kinematics PseudoInverseIK", "10 retries, 50 iterations, lr 1 (its defaults)", lambda: run_pk(10, 50, 1.0)),
        ("pytorch_kinematics PseudoInverseIK", "20 retries, 60 iterations, lr 0.2", lambda: run_pk(20, 60, 0.2)),
        ("symkin solve_ik", "8 restarts, 60 iterations", lambda: run_symkin(8, 60)),
        ("symkin solve_ik", "16 restarts, 60 iterations (defaults)", lambda: run_symkin(16, 60)),
        ("symkin solve_ik", "32 restarts, 60 iterations", lambda: run_symkin(32, 60)),
    ]
    lines = ["", "| IK solver | setting | success at 1 mm / 1° | seconds for 1,000 targets |", "|---|---|---|---|"]
    for solver, setting, run in settings:
        times, rates = [], []
        for _ in range(repeats):
            started = time.perf_counter()
            rates.append(run())
            times.append(time.perf_counter() - started)
        lines.append(f"| {solver} | {setting} | {statistics.mean(rates) * 100:.1f}% | {statistics.median(times):.2f} |")
        print(lines[-1], flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer settings, shorter timing budget")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 1000, 100000])
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"])
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile workload")
    parser.add_argument("--budget", type=float, default=1.0, help="seconds of timing per setting")
    parser.add_argument("--markdown", help="also write the tables to this file")
    parser.add_argument("--no-ik", action="store_true", help="skip the IK comparison")
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.batches, arguments.dtypes, arguments.budget = [1, 1000], ["float32"], 0.3

    import pytorch_kinematics

    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    lines = [
        f"symkin {symkin.__version__} vs pytorch_kinematics {pytorch_kinematics.__version__ if hasattr(pytorch_kinematics, '__version__') else '0.10'}, "
        f"torch {torch.__version__}, {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
        f"{time.strftime('%Y-%m-%d')}",
        "",
        "Median microseconds per call; ratio = pytorch_kinematics / symkin (higher: symkin faster).",
        "",
        "| robot | device | dtype | workload | batch | symkin µs | pk µs | ratio |",
        "|---|---|---|---|---|---|---|---|",
    ]
    print("\n".join(lines), flush=True)
    facts_by_robot = {}
    for robot, (path, base, tip) in ROBOTS.items():
        module, facts = compile_symkin(path, base, tip)
        facts_by_robot[robot] = facts
        chain = pk_chain(path, base, tip)
        assert tuple(chain.get_joint_parameter_names()) == module.joint_names
        for device in devices:
            for dtype_name in arguments.dtypes:
                dtype = getattr(torch, dtype_name)
                ours = module.to(device=device, dtype=dtype)
                theirs = chain.to(device=device, dtype=dtype)
                for batch in arguments.batches:
                    q = (torch.rand(batch, len(module.joint_names), dtype=dtype, device=device) * 2 - 1)
                    check_agreement(ours, theirs, q)
                    compiled = not arguments.no_compile and dtype == torch.float32
                    for workload, (f_ours, f_theirs) in workloads(ours, theirs, q, compiled).items():
                        budget = arguments.budget * (3 if batch >= 100000 else 1)
                        ours_s, theirs_s = median_times([f_ours, f_theirs], budget, min_rounds=3 if batch >= 100000 else 5)
                        line = (
                            f"| {robot} | {device} | {dtype_name} | {workload} | {batch:,} | "
                            f"{ours_s * 1e6:,.0f} | {theirs_s * 1e6:,.0f} | {theirs_s / ours_s:.1f}× |"
                        )
                        lines.append(line)
                        print(line, flush=True)
    lines += [
        "",
        "| robot | codegen s | import s | ops, pose (before → after CSE) | ops, pose + Jacobian (before → after CSE) |",
        "|---|---|---|---|---|",
    ]
    for robot, f in facts_by_robot.items():
        lines.append(
            f"| {robot} | {f['codegen_s']:.2f} | {f['import_s'] * 1e3:.0f} ms | "
            f"{f['pose_ops_unsimplified'].arithmetic:,} → {f['pose_ops'].arithmetic} ({f['pose_ops']}) | "
            f"{f['full_ops_unsimplified'].arithmetic:,} → {f['full_ops'].arithmetic} ({f['full_ops']}) |"
        )
    print("\n".join(lines[-2 - len(facts_by_robot) :]))
    if not arguments.no_ik:
        print("\n| IK solver | setting | success at 1 mm / 1° | seconds for 1,000 targets |\n|---|---|---|---|", flush=True)
        lines += ik_comparison()
    if arguments.markdown:
        with open(arguments.markdown, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
