"""symkin against pytorch_kinematics, side by side in one process, interleaved, on the same inputs.

    pip install ".[bench]" && python benchmarks/bench.py [--quick] [--markdown results.md]

Robots: two arms (Panda, UR5: base to tool) and three trees with every leaf link a tip (the G1
humanoid, 29 joints and 11 leaves, two of them fixed to the pelvis; the Allegro hand, 16 joints
and 4 fingertips; Talos, 32 joints, 12 mimic joints and 16 leaves). Workloads, per robot, dtype
and batch size:

- forward: the poses of every tip (pytorch_kinematics: ``forward_kinematics`` of all frames);
- forward + backward: the sum of every tip's pose, backward to q (the training workload);
- Jacobians: every tip's (pytorch_kinematics: one ``SerialChain.jacobian`` per tip, what its
  users must do for a tree); and symkin's written into a preallocated tensor (``out=``), and for
  trees symkin's compact ones (each tip's own columns, without the structural zeros);
- compiled forward (arms): ``torch.compile`` of both.

Prints the median time of each and the ratio (theirs / ours: above 1 means symkin is faster), then
codegen time, import time, the generated program's size and the closed form's operation count, then
batched IK on 1,000 reachable Panda targets (against pytorch_kinematics) and whole-body IK on G1
with a floating base. With CUDA, CUDA rows follow (forward and Jacobians at batch 1, 4,096 and
100,000, float32 and bfloat16: eager, compiled and replayed from a CUDA graph, the device
synchronised around each call); without, a line saying so. One torch thread unless --threads.
The full run takes about 4 minutes on a 2-core CPU, --quick about 20 s.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import platform
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch

import symkin
from symkin.model.robot import default_tips
from symkin.readers.load import resolve_robot_path


@dataclass(frozen=True)
class Robot:
    label: str
    path: str
    base: str | None
    tips: tuple[str, ...] | None  # None: every leaf (symkin compile --tip all-leaves)
    tree: bool


ROBOTS = [
    Robot(
        "Panda",
        "example-robot-data:panda_description/urdf/panda.urdf",
        "panda_link0",
        ("panda_hand_tcp",),
        False,
    ),
    Robot(
        "UR5",
        "example-robot-data:ur_description/urdf/ur5_robot.urdf",
        "base_link",
        ("tool0",),
        False,
    ),
    Robot("G1", "example-robot-data:g1_description/urdf/g1_29dof_rev_1_0.urdf", None, None, True),
    Robot(
        "Allegro",
        "example-robot-data:allegro_hand_description/urdf/allegro_right_hand.urdf",
        None,
        None,
        True,
    ),
    Robot("Talos", "example-robot-data:talos_data/robots/talos_full_v2.urdf", None, None, True),
]


class Peer:
    """pytorch_kinematics on the same robot; its q has our joints, plus mimic joints it treats as
    free."""

    def __init__(self, robot: Robot, ours: torch.nn.Module) -> None:
        import pytorch_kinematics as pk

        text = resolve_robot_path(robot.path).read_bytes()
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            self.chain = pk.build_chain_from_urdf(text)
            if robot.base is not None:
                self.chain = pk.SerialChain(self.chain, ours.tip_names[0], robot.base)
            self.serial = [pk.SerialChain(self.chain, tip) for tip in ours.tip_names]
        model = symkin.load(robot.path)
        names = self.chain.get_joint_parameter_names()
        # Their q column i is multiplier·(our column) + offset: mimic joints follow their source.
        sources = [model.resolve_mimic(model.joint(name)) for name in names]
        ours_index = {name: i for i, name in enumerate(ours.joint_names)}
        self.map = torch.zeros(len(ours.joint_names), len(names), dtype=torch.float64)
        self.offset = torch.zeros(len(names), dtype=torch.float64)
        for j, source in enumerate(sources):
            self.map[ours_index[source.source], j] = source.multiplier
            self.offset[j] = source.offset
        self.serial_columns = [
            [names.index(n) for n in s.get_joint_parameter_names()] for s in self.serial
        ]
        self.tips = ours.tip_names

    def to(self, dtype: torch.dtype, device: str) -> Peer:
        self.chain = self.chain.to(dtype=dtype, device=device)
        self.serial = [s.to(dtype=dtype, device=device) for s in self.serial]
        self.map, self.offset = (
            self.map.to(dtype=dtype, device=device),
            self.offset.to(dtype=dtype, device=device),
        )
        return self

    def q(self, ours_q: torch.Tensor) -> torch.Tensor:
        return ours_q @ self.map + self.offset

    def poses(self, q: torch.Tensor) -> torch.Tensor:
        frames = self.chain.forward_kinematics(q)
        if not isinstance(frames, dict):  # a serial chain gives its end frame only
            return frames.get_matrix().unsqueeze(1)
        return torch.stack([frames[tip].get_matrix() for tip in self.tips], 1)

    def jacobians(self, q: torch.Tensor) -> list[torch.Tensor]:
        return [
            s.jacobian(q[:, columns])
            for s, columns in zip(self.serial, self.serial_columns, strict=True)
        ]


def compile_symkin(robot: Robot) -> tuple[torch.nn.Module, dict]:
    started = time.perf_counter()
    model = symkin.load(robot.path)
    tips = robot.tips or sum(default_tips(model, robot.base or model.root), ())
    kinematics = symkin.derive(model, tips, robot.base)
    source = symkin.generate(kinematics)
    codegen = time.perf_counter() - started
    started = time.perf_counter()
    module = symkin.module_class(symkin.load_module(source))()
    imported = time.perf_counter() - started
    program = symkin.lower(kinematics)
    facts = {
        "codegen_s": codegen,
        "import_s": imported,
        "assignments": len(program.assignments),
        "lanes": program.lane_operations(("poses", "motions")),
        "closed_form": symkin.simplify(kinematics).ops,
    }
    return module, facts


def median_times(
    functions: list[Callable[[], object]],
    budget_s: float,
    min_rounds: int = 5,
    synchronize: Callable[[], object] = lambda: None,
) -> list[float]:
    """Median seconds per call of each function, timed round-robin so drift hits all alike;
    ``synchronize`` waits for the device (torch.cuda.synchronize on a GPU) before each clock
    reading."""
    for f in functions:  # warm-up
        f()
        f()
    samples: list[list[float]] = [[] for _ in functions]
    started = time.perf_counter()
    while len(samples[0]) < min_rounds or time.perf_counter() - started < budget_s:
        for f, times in zip(functions, samples, strict=True):
            synchronize()
            t0 = time.perf_counter()
            f()
            synchronize()
            times.append(time.perf_counter() - t0)
        if len(samples[0]) >= 2000:
            break
    return [statistics.median(times) for times in samples]


def workloads(
    ours: torch.nn.Module, peer: Peer, q: torch.Tensor, compiled: bool
) -> dict[str, tuple[Callable, Callable]]:
    q_peer = peer.q(q)
    buffer = torch.empty_like(ours.jacobian(q))

    def forward_backward(pose, x0):
        def run():
            x = x0.detach().requires_grad_()
            pose(x).sum().backward()

        return run

    result = {
        "forward": (lambda: ours(q), lambda: peer.chain.forward_kinematics(q_peer)),
        "forward + backward": (forward_backward(ours, q), forward_backward(peer.poses, q_peer)),
        "Jacobians": (lambda: ours.jacobian(q), lambda: peer.jacobians(q_peer)),
        # symkin writing into one preallocated tensor (out=); pytorch_kinematics has no such option
        "Jacobians into out=": (
            lambda: ours.jacobian(q, out=buffer),
            lambda: peer.jacobians(q_peer),
        ),
    }
    if len(ours.tip_names) > 1:
        # symkin's Jacobians without their structural zeros (each tip's own columns side by side)
        # against pytorch_kinematics' full ones: what a tree's user can ask for instead
        result["Jacobians, compact"] = (
            lambda: ours.compact_jacobian(q),
            lambda: peer.jacobians(q_peer),
        )
    if compiled:
        ours_compiled = torch.compile(ours, fullgraph=True, dynamic=False)
        theirs_compiled = torch.compile(peer.chain.forward_kinematics_tensor, dynamic=False)
        result["compiled forward"] = (lambda: ours_compiled(q), lambda: theirs_compiled(q_peer))
    return result


def check_agreement(ours: torch.nn.Module, peer: Peer, q: torch.Tensor) -> None:
    tips = len(ours.tip_names)
    pose_ours, jacobian_ours = ours.forward_and_jacobian(q)
    pose_ours = pose_ours.reshape(q.shape[0], tips, 4, 4)
    jacobian_ours = jacobian_ours.reshape(q.shape[0], tips, 6, -1)
    q_peer = peer.q(q)
    pose_error = (pose_ours - peer.poses(q_peer)).abs().max().item()
    jacobian_error = 0.0
    for t, (jacobian, columns) in enumerate(
        zip(peer.jacobians(q_peer), peer.serial_columns, strict=True)
    ):
        # Their chain's columns, summed into ours: a mimic joint's column adds to its source's.
        expected = jacobian @ peer.map[:, columns].T
        jacobian_error = max(jacobian_error, (jacobian_ours[:, t] - expected).abs().max().item())
    # pytorch_kinematics parses a URDF into float32 tensors; .to(float64) keeps those rounded
    # constants (~1e-7 m).
    tolerance = 1e-6 if q.dtype == torch.float64 else 1e-4
    assert pose_error < tolerance and jacobian_error < tolerance, (pose_error, jacobian_error)


def cuda_rows(robots: list[Robot], batches: list[int], budget_s: float) -> list[str]:
    """symkin's forward and Jacobians on CUDA: eager, torch.compile, and a CUDA graph's replay,
    float32 and bfloat16 inputs, with pytorch_kinematics' eager forward beside float32; or a line
    saying there is no GPU."""
    if not torch.cuda.is_available():
        line = (
            "CUDA: not available on this machine, so no CUDA rows (with a GPU, this benchmark "
            "times symkin's forward and Jacobians eager, compiled and replayed from a CUDA graph, "
            "float32 and bfloat16, beside pytorch_kinematics)."
        )
        print(f"\n{line}", flush=True)
        return ["", line]
    lines = [
        "",
        f"CUDA: {torch.cuda.get_device_name()}. Median µs per call, the device synchronised.",
        "",
        "| robot | dtype | workload | batch | eager µs | compiled µs | CUDA graph µs "
        "| pk eager µs |",
        "|---|---|---|---|---|---|---|---|",
    ]
    print("\n".join(lines), flush=True)
    for robot in robots:
        module, _ = compile_symkin(robot)
        peer = Peer(robot, module)
        for dtype in (torch.float32, torch.bfloat16):
            ours = module.to(device="cuda", dtype=dtype)
            theirs = peer.to(dtype, "cuda") if dtype == torch.float32 else None
            for batch in batches:
                q = torch.rand(batch, ours.nq, device="cuda", dtype=dtype) * 2 - 1
                for workload in ("forward", "Jacobians"):
                    calls = _cuda_calls(ours, theirs, workload, q)
                    times = median_times(calls, budget_s, synchronize=torch.cuda.synchronize)
                    cells = [f"{t * 1e6:,.0f}" for t in times] + ["–"] * (4 - len(times))
                    lines.append(
                        f"| {robot.label} | {str(dtype).removeprefix('torch.')} | {workload} | "
                        f"{batch:,} | {' | '.join(cells)} |"
                    )
                    print(lines[-1], flush=True)
    return lines


def _cuda_calls(
    ours: torch.nn.Module, theirs: Peer | None, workload: str, q: torch.Tensor
) -> list[Callable[[], object]]:
    """The workload eager, compiled and replayed from a CUDA graph, and pytorch_kinematics'."""
    method = ours.forward if workload == "forward" else ours.jacobian
    compiled = torch.compile(method, fullgraph=True, dynamic=False)
    calls = [lambda: method(q), lambda: compiled(q), _cuda_graph(method, q)]
    if theirs is not None:
        q_peer = theirs.q(q)
        if workload == "forward":
            calls.append(lambda: theirs.chain.forward_kinematics(q_peer))
        else:
            calls.append(lambda: theirs.jacobians(q_peer))
    return calls


def _cuda_graph(method: Callable, q: torch.Tensor) -> Callable[[], object]:
    """``method(q)`` captured in a CUDA graph (warmed up on a side stream first, as capture
    requires): its replay."""
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        method(q)
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        method(q)
    return graph.replay


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="float32, batches 1 and 1,000 (4,096 for trees), short timing",
    )
    parser.add_argument(
        "--robots", nargs="+", choices=[r.label for r in ROBOTS], default=[r.label for r in ROBOTS]
    )
    parser.add_argument("--arm-batches", type=int, nargs="+", default=[1, 1000, 100000])
    parser.add_argument("--tree-batches", type=int, nargs="+", default=[1, 1000, 4096])
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"])
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile workload")
    parser.add_argument("--budget", type=float, default=1.0, help="seconds of timing per setting")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (default 1, for fair ratios)"
    )
    parser.add_argument("--markdown", help="also write the tables to this file")
    parser.add_argument("--no-ik", action="store_true", help="skip the IK comparison")
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.arm_batches, arguments.tree_batches = [1, 1000], [1, 4096]
        arguments.dtypes, arguments.budget, arguments.no_compile, arguments.no_ik = (
            ["float32"],
            0.25,
            True,
            True,
        )
    return arguments


def robot_rows(robot: Robot, module, arguments: argparse.Namespace) -> Iterator[str]:
    """The table's rows for one robot on the CPU: every dtype, batch and workload, symkin against
    pytorch_kinematics, after checking that they agree."""
    peer = Peer(robot, module)
    device = "cpu"  # CUDA rows: cuda_rows
    for dtype_name in arguments.dtypes if not robot.tree else ["float32"]:
        dtype = getattr(torch, dtype_name)
        ours = module.to(device=device, dtype=dtype)
        theirs = peer.to(dtype, device)
        for batch in arguments.tree_batches if robot.tree else arguments.arm_batches:
            generator = torch.Generator().manual_seed(batch)
            joints = len(module.joint_names)
            q = (torch.rand(batch, joints, generator=generator, dtype=dtype) * 2 - 1).to(device)
            check_agreement(ours, theirs, q)
            compiled = not arguments.no_compile and dtype == torch.float32 and not robot.tree
            for workload, (f_ours, f_theirs) in workloads(ours, theirs, q, compiled).items():
                budget = arguments.budget * (3 if batch >= 100000 else 1)
                ours_s, theirs_s = median_times(
                    [f_ours, f_theirs], budget, min_rounds=3 if batch >= 100000 else 5
                )
                yield (
                    f"| {robot.label} | {device} | {dtype_name} | {workload} | {batch:,} | "
                    f"{ours_s * 1e6:,.0f} | {theirs_s * 1e6:,.0f} | "
                    f"{theirs_s / ours_s:.1f}× |"
                )


def facts_table(facts_by_robot: dict[str, dict]) -> list[str]:
    """What compiling each robot took and made."""
    lines = [
        "",
        "| robot | codegen s | import ms | column assignments | lane operations | closed form "
        "after CSE |",
        "|---|---|---|---|---|---|",
    ]
    for label, f in facts_by_robot.items():
        lines.append(
            f"| {label} | {f['codegen_s']:.2f} | {f['import_s'] * 1e3:.0f} | {f['assignments']} | "
            f"{f['lanes']:,} | "
            f"{f['closed_form'].arithmetic:,} ({f['closed_form']}) |"
        )
    return lines


def main() -> None:
    arguments = parse_arguments()
    torch.set_num_threads(arguments.threads)

    import pytorch_kinematics

    peer_version = getattr(pytorch_kinematics, "__version__", "0.10")
    lines = [
        f"symkin {symkin.__version__} vs pytorch_kinematics {peer_version}, torch "
        f"{torch.__version__}, "
        f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} thread(s), "
        f"{time.strftime('%Y-%m-%d')}",
        "",
        "Median microseconds per call; ratio = pytorch_kinematics / symkin (higher: symkin "
        "faster).",
        "",
        "| robot | device | dtype | workload | batch | symkin µs | pk µs | ratio |",
        "|---|---|---|---|---|---|---|---|",
    ]
    print("\n".join(lines), flush=True)
    facts_by_robot = {}
    chosen = [r for r in ROBOTS if r.label in arguments.robots]
    for robot in chosen:
        module, facts_by_robot[robot.label] = compile_symkin(robot)
        for line in robot_rows(robot, module, arguments):
            lines.append(line)
            print(line, flush=True)
    facts = facts_table(facts_by_robot)
    print("\n".join(facts), flush=True)
    lines += facts
    lines += cuda_rows(chosen, [1, 4096, 100000], arguments.budget)
    if not arguments.no_ik:
        from ik_rows import ik_comparison, whole_body_ik  # it imports this module

        lines += ik_comparison()
        lines += whole_body_ik()
    if arguments.markdown:
        with open(arguments.markdown, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
