"""How codegen time and operation count grow with the number of joints.

    python benchmarks/scaling.py

Random serial chains (revolute joints, twists that are multiples of π/2, random
offsets: the structure of real arms) of 7 to 112 joints, one tip, pose and
Jacobian; then real robots from example-robot-data with every leaf as a tip.
About 7 s on a 2-core machine.
"""

from __future__ import annotations

import math
import random
import time

import symkin
from symkin import Joint, build_model, urdf_placement
from symkin.model.robot import default_tips

REAL_ROBOTS = [
    ("G1 humanoid, 29 DOF", "example-robot-data:g1_description/urdf/g1_29dof_rev_1_0.urdf"),
    ("Talos, 32 DOF + 12 mimic", "example-robot-data:talos_data/robots/talos_full_v2.urdf"),
    ("Tiago dual, 101 DOF", "example-robot-data:tiago_description/robots/tiago_dual.urdf"),
]


def random_chain(joints: int, seed: int = 0) -> symkin.RobotModel:
    rng = random.Random(seed)
    quarter = [0.0, math.pi / 2, -math.pi / 2]
    links = tuple(f"l{i}" for i in range(joints + 1))
    chain = tuple(
        Joint(
            f"j{i}",
            "revolute",
            links[i],
            links[i + 1],
            urdf_placement(
                (rng.uniform(-0.3, 0.3), 0.0, rng.uniform(0.0, 0.3)),
                (rng.choice(quarter), 0.0, rng.choice(quarter)),
            ),
            lower=-3.0,
            upper=3.0,
        )
        for i in range(joints)
    )
    return build_model("chain", links, chain)


def measure(model: symkin.RobotModel, tips=None) -> str:
    """A table row: codegen time (derive, lower and emit, what `symkin compile` does after parsing),
    the size of the generated frame program, and the closed form's arithmetic after CSE (computed
    separately, on demand, as `symkin report` does)."""
    started = time.perf_counter()
    kinematics = symkin.derive(model, tips)
    symkin.generate(kinematics)
    elapsed = time.perf_counter() - started
    program = symkin.lower(kinematics)
    started = time.perf_counter()
    ops = symkin.simplify(kinematics).ops
    cse = time.perf_counter() - started
    dof = len(kinematics.joint_names)
    return (
        f"| {dof} | {len(kinematics.tips)} | {elapsed:.2f} | {len(program.assignments):,} | "
        f"{program.lane_operations(('poses', 'motions')):,} | {ops.arithmetic:,} | "
        f"{ops.arithmetic / dof:.0f} | {cse:.2f} |"
    )


def main() -> None:
    print(
        "| robot | DOF | tips | codegen s | column assignments | lane operations | "
        "closed form after CSE (mul+add) | per DOF | CSE s |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for joints in (7, 14, 28, 56, 112):
        print(f"| random chain {measure(random_chain(joints), (f'l{joints}',))}", flush=True)
    for label, path in REAL_ROBOTS:
        model = symkin.load(path)
        print(f"| {label} {measure(model, sum(default_tips(model, model.root), ()))}", flush=True)


if __name__ == "__main__":
    main()
