"""Learned inverse kinematics through symkin's generated forward kinematics.

A small MLP maps a target end-effector pose (position and 6-D rotation) to the
Panda's 7 joint angles; the angles go through the generated FK; the loss is
the pose error between the FK result and the target, so gradients flow from
the pose error through the kinematics into the network. No IK solver and no
joint-space labels are needed: targets are FK of random in-limit configurations.

    python examples/train_ik.py --out curve.png      # about a minute on 2 CPU cores
    python examples/train_ik.py --collision-weight 10   # and keep the answers out of self-collision
    python examples/train_ik.py --device cuda --steps 20000 --batch-size 4096
    torchrun --standalone --nproc-per-node 2 examples/train_ik.py   # data parallel, unchanged

Under torchrun each process trains a replica wrapped in DistributedDataParallel (gloo on CPU,
NCCL on CUDA, one GPU per process) on its own targets, --batch-size per process; the generated
module has no parameters and needs no wrapping. Process 0 prints, plots and checks at the end
that the replicas' weights agree.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from pathlib import Path

import torch

import symkin
from symkin.collision.pairs import default_srdf
from symkin.readers.load import resolve_robot_path

HERE = Path(__file__).resolve().parent


def compile_panda(collision: bool = False) -> torch.nn.Module:
    """The Panda, base to panda_hand_tcp: from example-robot-data if installed, else
    examples/panda.urdf. With ``collision``, with its primitive collision geometry covered by
    spheres (``panda_collision.urdf``, example-robot-data's, and its SRDF)."""
    if collision:
        path = resolve_robot_path("example-robot-data:panda_description/urdf/panda_collision.urdf")
        robot = symkin.load(path)
        outputs: tuple = (symkin.collision_output(robot, srdf=default_srdf(path))[0],)
    else:
        try:
            robot = symkin.load("example-robot-data:panda_description/urdf/panda.urdf")
        except symkin.SymkinError:
            robot = symkin.load(HERE / "panda.urdf")
        outputs = ()
    source = symkin.generate(symkin.derive(robot, ("panda_hand_tcp",), outputs=outputs))
    return symkin.module_class(symkin.load_module(source))()


class PoseToJoints(torch.nn.Module):
    """Target pose (..., 4, 4) -> joint angles (..., n) within the joint limits."""

    def __init__(self, lower: torch.Tensor, upper: torch.Tensor, width: int = 256) -> None:
        super().__init__()
        self.register_buffer("lower", lower.clone())
        self.register_buffer("upper", upper.clone())
        self.net = torch.nn.Sequential(
            torch.nn.Linear(9, width), torch.nn.SiLU(),
            torch.nn.Linear(width, width), torch.nn.SiLU(),
            torch.nn.Linear(width, width), torch.nn.SiLU(),
            torch.nn.Linear(width, len(lower)),
        )  # fmt: skip

    def forward(self, target: torch.Tensor) -> torch.Tensor:
        features = torch.cat([target[..., :3, 3], symkin.matrix_to_rotation_6d(target)], dim=-1)
        return self.lower + (self.upper - self.lower) * torch.sigmoid(self.net(features))


def sample_targets(fk: torch.nn.Module, count: int, generator: torch.Generator) -> torch.Tensor:
    q = fk.lower + (fk.upper - fk.lower) * torch.rand(
        count, len(fk.joint_names), generator=generator, device=fk.lower.device
    )
    with torch.no_grad():
        return fk(q)


def evaluate(model: PoseToJoints, fk: torch.nn.Module, targets: torch.Tensor) -> tuple[float, ...]:
    """Mean position error (mm) and rotation error (degrees) on held-out targets, and, for a
    module with collision spheres, the share of answers in self-collision (IKFlow's metric)."""
    with torch.no_grad():
        q = model(targets)
        reached = fk(q)
        errors = (
            symkin.position_error(reached, targets).mean().item() * 1e3,
            math.degrees(symkin.rotation_error(reached, targets).mean().item()),
        )
        if not hasattr(fk, "self_collision_distances"):
            return errors
        colliding = (fk.self_collision_distances(q) < 0).any(-1).float().mean().item()
        return (*errors, colliding)


def train(
    steps: int,
    batch_size: int,
    device: str,
    learning_rate: float,
    rotation_weight: float,
    seed: int,
    log_every: int = 100,
    collision_weight: float | None = None,
    collision_margin: float = 0.02,
):
    rank, world = _process_group(device)
    if world > 1 and device.startswith("cuda"):
        device = f"cuda:{rank}"
    torch.manual_seed(seed)  # the same initial weights in every process
    fk = compile_panda(collision_weight is not None).to(device=device, dtype=torch.float32)
    model = PoseToJoints(fk.lower, fk.upper).to(device)
    trained = _data_parallel(model, device) if world > 1 else model
    optimizer = torch.optim.Adam(trained.parameters(), lr=learning_rate)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    held_out = sample_targets(fk, 2000, torch.Generator(device=device).manual_seed(seed))
    generator = torch.Generator(device=device).manual_seed(seed + 1 + rank)  # targets per process
    before = evaluate(model, fk, held_out)
    history: list[tuple[int, float]] = []
    for step in range(1, steps + 1):
        targets = sample_targets(fk, batch_size, generator)
        q = trained(targets)
        loss = symkin.pose_error(fk(q), targets, rotation_weight=rotation_weight).mean()
        if collision_weight:
            distances = fk.self_collision_distances(q)
            penalty = symkin.collision_penalty(distances, collision_margin).sum(-1).mean()
            loss = loss + collision_weight * penalty
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        history.append((step, loss.item()))
        if rank == 0 and log_every and (step % log_every == 0 or step == 1):
            print(f"step {step:6d}  loss {loss.item():.4f}", flush=True)
    return model, fk, held_out, before, evaluate(model, fk, held_out), history


def _process_group(device: str) -> tuple[int, int]:
    """This process's rank and the number of processes: (0, 1) unless launched by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not torch.distributed.is_initialized():
        backend = "nccl" if device.startswith("cuda") else "gloo"
        torch.distributed.init_process_group(backend)
    return (torch.distributed.get_rank() if world > 1 else 0), world


def _data_parallel(model: torch.nn.Module, device: str) -> torch.nn.Module:
    ids = [torch.device(device).index] if device.startswith("cuda") else None
    return torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)


def replica_spread(model: torch.nn.Module) -> float:
    """The largest difference between a weight of this process's replica and process 0's (0 when
    not distributed)."""
    if not torch.distributed.is_initialized():
        return 0.0
    spread = torch.zeros((), device=next(model.parameters()).device)
    for parameter in model.parameters():
        reference = parameter.detach().clone()
        torch.distributed.broadcast(reference, src=0)
        spread = torch.maximum(spread, (parameter.detach() - reference).abs().max())
    torch.distributed.all_reduce(spread, op=torch.distributed.ReduceOp.MAX)
    return spread.item()


def plot(history: list[tuple[int, float]], rotation_weight: float, path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no training curve (pip install 'symkin[report]')")
        return
    steps, losses = zip(*history, strict=True)
    figure, axes = plt.subplots(figsize=(6, 3.5))
    axes.semilogy(steps, losses, linewidth=0.8)
    axes.set_xlabel("step")
    axes.set_ylabel(f"pose loss (m + {rotation_weight:g}·rad)")
    axes.set_title("Learned IK for the Panda through symkin FK")
    axes.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    print(f"wrote {path}")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--steps", type=int, default=8000, help="optimiser steps")
    parser.add_argument(
        "--batch-size", type=int, default=512, help="target poses per step (per process)"
    )
    parser.add_argument("--device", default="cpu", help="where to train: cpu, cuda, cuda:1 ...")
    parser.add_argument(
        "--lr", type=float, default=2e-3, help="Adam's learning rate, annealed to 0 (cosine)"
    )
    parser.add_argument(
        "--rotation-weight",
        type=float,
        default=0.1,
        help="how many metres of position error a radian of rotation error counts as in the loss",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the weights and the targets")
    parser.add_argument(
        "--collision-weight",
        type=float,
        default=None,
        help="weight of a self-collision term (symkin.collision_penalty, 2 cm margin) in the loss; "
        "given (0 included), the Panda is compiled with --collision and the share of held-out "
        "answers in self-collision is reported",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("train_ik_curve.png"),
        help="where to save the training curve (a PNG; needs matplotlib)",
    )
    arguments = parser.parse_args(argv)
    started = time.perf_counter()
    model, _, _, before, after, history = train(
        arguments.steps,
        arguments.batch_size,
        arguments.device,
        arguments.lr,
        arguments.rotation_weight,
        arguments.seed,
        collision_weight=arguments.collision_weight,
    )
    elapsed = time.perf_counter() - started
    spread, rank, processes = replica_spread(model), 0, 1
    if torch.distributed.is_initialized():
        rank, processes = torch.distributed.get_rank(), torch.distributed.get_world_size()
        # Every process done with the group before any tears it down: gloo aborts a process
        # whose peer closes the connection under it (seen once in CI: SIGABRT at exit).
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()
    result = {"before": before, "after": after, "history": history, "seconds": elapsed}
    if rank != 0:
        return result
    if processes > 1:
        print(f"{processes} processes; the replicas' weights differ by at most {spread:.3g}")
    for when, errors in (("before training:", before), ("after training: ", after)):
        colliding = f", {errors[2]:.1%} in self-collision" if len(errors) > 2 else ""
        print(
            f"held-out targets, {when} position {errors[0]:.1f} mm, rotation {errors[1]:.1f}°"
            f"{colliding}"
        )
    print(f"{arguments.steps} steps in {elapsed:.0f} s")
    plot(history, arguments.rotation_weight, arguments.out)
    return result


if __name__ == "__main__":
    main()
