"""Self-collision distances: symkin's spheres against a loop over coal's exact distances, side by
side in one process, on the same configurations, and against symkin's own pose forward pass.

    python benchmarks/collision.py [--quick] [--tolerance METRES]

Robots: the Panda with its primitive collision geometry (``panda_collision.urdf``: cylinders and
spheres) and with its collision meshes (``panda.urdf`` and its SRDF), and the G1 humanoid (24
meshes, 4 cylinders and 8 spheres on 29 joints; no SRDF: adjacency and sampling choose its pairs;
covered within 5 cm, see TOLERANCES). For each, batch 1, 1,000 and 4,096, float32:

- symkin ``self_collision_distances``: the least sphere-to-sphere distance per checked pair of
  links (spheres covering the geometry within the tolerance);
- symkin ``self_collision_distances`` and the backward pass of their sum to q, as in a loss;
- symkin ``forward``: every tip's pose, the cost the issue compares to;
- coal: Pinocchio's ``computeDistances`` over the same pairs of links, exact distances between the
  original geometries (meshes: coal's BVH distance), once per configuration from Python (timed on
  up to 200 configurations, G1 on 20, reported per batch).

Prints the fitting time, spheres, pairs of links and of spheres, then median times and ratios, then
(not with --quick) collision-aware IK on 200 targets: solved, colliding and seconds, with and
without the self-collision rows. One torch thread. The full run takes about 3 minutes on a 2-core
CPU (fitting about 40 s, coal's loop on G1 about 75 s), --quick about 15 s. Jrl's batched capsule
distances are not run: ``jrl`` 0.0.9 pins torch 2.0.1 and needs Klampt.
"""

from __future__ import annotations

import argparse
import collections
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from bench import median_times  # noqa: E402

import symkin  # noqa: E402
from symkin.collision.pairs import default_srdf  # noqa: E402
from symkin.readers.load import example_robot_data_folder, resolve_robot_path  # noqa: E402

ROBOTS = {
    "Panda (primitives)": "example-robot-data:panda_description/urdf/panda_collision.urdf",
    "Panda (meshes)": "example-robot-data:panda_description/urdf/panda.urdf",
    "G1 (meshes, primitives)": "example-robot-data:g1_description/urdf/g1_29dof_rev_1_0.urdf",
}
# A robot's own tolerance, metres, in place of --tolerance: at 2 cm G1's meshes take 3,267 spheres
# and its 398 pairs of links 4.06 million pairs of spheres, seconds a configuration.
TOLERANCES = {"G1 (meshes, primitives)": 0.05}
# How many configurations coal's loop is timed on (scaled to the batch): G1's 387 pairs of meshes
# take a quarter of a second a configuration.
COAL_CONFIGURATIONS = {"G1 (meshes, primitives)": 20}


class CoalLoop:
    """coal's exact distances for the module's pairs of links, one configuration at a time."""

    def __init__(self, path: Path, module) -> None:
        import pinocchio as pin

        self.pin = pin
        self.model = pin.buildModelFromUrdf(str(path))
        self.data = self.model.createData()
        share = example_robot_data_folder().parent.parent
        self.geometry = pin.buildGeomFromUrdf(
            self.model, str(path), pin.GeometryType.COLLISION, package_dirs=[str(share)]
        )
        link_of = [self.model.frames[g.parentFrame].name for g in self.geometry.geometryObjects]
        wanted = {frozenset(pair) for pair in module.collision_pairs}
        for i in range(len(link_of)):
            for j in range(i + 1, len(link_of)):
                if frozenset((link_of[i], link_of[j])) in wanted:
                    self.geometry.addCollisionPair(pin.CollisionPair(i, j))
        self.geometry_data = self.geometry.createData()
        names = list(self.model.names)
        self.index = [self.model.idx_qs[names.index(name)] for name in module.joint_names]

    def __call__(self, q: np.ndarray) -> None:
        values = self.pin.neutral(self.model)
        for row in q:
            values[self.index] = row
            self.pin.computeDistances(
                self.model, self.data, self.geometry, self.geometry_data, values
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the primitive Panda, shorter timing")
    parser.add_argument("--tolerance", type=float, default=symkin.collision.DEFAULT_TOLERANCE)
    arguments = parser.parse_args()
    torch.set_num_threads(1)
    budget = 0.3 if arguments.quick else 1.5
    print(f"{platform.processor() or platform.machine()}, torch {torch.__version__}, 1 thread")
    robots = dict(list(ROBOTS.items())[:1]) if arguments.quick else ROBOTS
    rows = []
    for label, spelling in robots.items():
        path = resolve_robot_path(spelling)
        model = symkin.load(path)
        started = time.perf_counter()
        tolerance = TOLERANCES.get(label, arguments.tolerance)
        output, _ = symkin.collision_output(model, tolerance, default_srdf(path), path.parent)
        fitted = time.perf_counter() - started
        kinematics = symkin.derive(model, outputs=(output,), notes=lambda message: None)
        module = symkin.module_class(symkin.load_module(symkin.generate(kinematics)))().float()
        on_link = collections.Counter(link for link, _, _ in output.spheres)
        sphere_pairs = sum(on_link[a] * on_link[b] for a, b in output.pairs)
        print(
            f"{label}, tolerance {tolerance * 100:g} cm: {len(output.spheres)} spheres, "
            f"{len(output.pairs)} pairs of links, "
            f"{sphere_pairs} pairs of spheres ({module.sphere_pair_first.numel()} measured, "
            f"the rows padded), fitted in {fitted:.1f} s"
        )
        coal = CoalLoop(path, module)
        for batch in (1, 1000, 4096):
            generator = torch.Generator().manual_seed(batch)
            low, high = module.lower.clamp(min=-3.0), module.upper.clamp(max=3.0)
            q = low + (high - low) * torch.rand(batch, len(low), generator=generator)
            q_coal = q[: COAL_CONFIGURATIONS.get(label, 200)].double().numpy()
            q_grad = q.clone().requires_grad_()
            distances, differentiated, forward, exact = median_times(
                [
                    lambda q=q, module=module: module.self_collision_distances(q),
                    lambda q=q_grad, module=module: (
                        module.self_collision_distances(q).sum().backward()
                    ),
                    lambda q=q, module=module: module(q),
                    lambda q_coal=q_coal, coal=coal: coal(q_coal),
                ],
                budget,
            )
            exact *= batch / len(q_coal)
            rows.append((label, batch, distances, differentiated, forward, exact))
    print()
    print(
        "| robot | batch | symkin distances | with backward | symkin poses | coal loop (exact) "
        "| distances / poses | coal / symkin |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, batch, distances, differentiated, forward, exact in rows:
        print(
            f"| {label} | {batch} | {distances * 1e3:.3f} ms | {differentiated * 1e3:.3f} ms | "
            f"{forward * 1e3:.3f} ms | "
            f"{exact * 1e3:.1f} ms | {distances / forward:.1f}× | {exact / distances:.2g}× |"
        )
    if not arguments.quick:
        collision_aware_ik(arguments.tolerance)


def collision_aware_ik(tolerance: float, count: int = 200) -> None:
    """symkin.solve_ik on the primitive Panda's hand, without and with the self-collision rows:
    ``count`` reachable targets (FK of seeded random configurations within the limits that are
    out of self-collision), float64, the defaults (16 restarts, 60 iterations)."""
    path = resolve_robot_path(ROBOTS["Panda (primitives)"])
    model = symkin.load(path)
    output, _ = symkin.collision_output(model, tolerance, default_srdf(path), path.parent)
    kinematics = symkin.derive(model, ("panda_hand",), outputs=(output,), notes=lambda note: None)
    module = symkin.module_class(symkin.load_module(symkin.generate(kinematics)))().double()
    generator = torch.Generator().manual_seed(0)
    q = module.lower + (module.upper - module.lower) * torch.rand(
        8 * count, len(module.lower), generator=generator, dtype=torch.float64
    )
    free = q[(module.self_collision_distances(q) >= 0).all(-1)][:count]
    targets = module(free)
    print(f"\nIK on {len(targets)} reachable, collision-free targets of the Panda's hand, float64")
    print("| collision_weight | solved (1 mm, 1°) | answers in self-collision | seconds |")
    print("|---:|---:|---:|---:|")
    for weight in (0.0, 1.0):
        started = time.perf_counter()
        result = symkin.solve_ik(
            module, targets, collision_weight=weight, generator=torch.Generator().manual_seed(1)
        )
        seconds = time.perf_counter() - started
        assert result.colliding is not None
        solved, colliding = result.success.double().mean(), result.colliding.double().mean()
        print(f"| {weight} | {solved:.1%} | {colliding:.1%} | {seconds:.1f} |")


if __name__ == "__main__":
    main()
