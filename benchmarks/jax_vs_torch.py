"""The JAX backend against the torch backend: the same robot, the same inputs, one thread each.

    pip install ".[jax]" && python benchmarks/jax_vs_torch.py [--quick]

Both modules come from one emitted program. JAX runs ``jax.jit`` of each workload (the way JAX code
is used); torch runs the module eagerly and under ``torch.compile``. Workloads: forward (every tip's
pose), forward + backward (the gradient of the poses' sum with respect to q: ``jax.grad``, or
``.backward()``) and the Jacobians. Prints the median time per call and the JIT compile time of
each JAX function. Float32 on the CPU. About 2 minutes on a 2-core CPU, --quick included: most of
it is compiling.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

# One thread for XLA, as for torch: set before jax is imported.
os.environ.setdefault(
    "XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
)

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from bench import ROBOTS, median_times  # noqa: E402

import symkin  # noqa: E402


def modules(path: str, tips, base):
    kinematics = symkin.derive(symkin.load(path), tips, base)
    torch_module = symkin.module_class(symkin.load_module(symkin.generate(kinematics)))().float()
    jax_module = symkin.load_module(symkin.generate(kinematics, backend="jax"))
    return torch_module, jax_module


def jax_workloads(module):
    def summed(q):
        return module.forward(q).sum()

    return {
        "forward": jax.jit(module.forward),
        "forward + backward": jax.jit(jax.grad(summed)),
        "jacobian": jax.jit(module.jacobian),
    }


def torch_workloads(module, compiled: bool):
    def forward_backward(q):
        q = q.detach().requires_grad_()
        module(q).sum().backward()
        return q.grad

    functions = {
        "forward": module.forward,
        "forward + backward": forward_backward,
        "jacobian": module.jacobian,
    }
    if compiled:
        functions = {
            name: torch.compile(f, fullgraph=name != "forward + backward")
            for name, f in functions.items()
        }
    return functions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="fewer robots and batch sizes, shorter timing"
    )
    arguments = parser.parse_args()
    torch.set_num_threads(1)
    budget = 0.3 if arguments.quick else 1.0
    robots = [ROBOTS[0], ROBOTS[2]]
    batches = (1, 1000) if arguments.quick else (1, 1000, 100_000)
    print(
        f"# jax {jax.__version__}, torch {torch.__version__}, "
        f"{platform.processor() or platform.machine()}, one thread, float32"
    )
    for robot in robots:
        torch_module, jax_module = modules(robot.path, robot.tips, robot.base)
        n = len(torch_module.joint_names)
        print(f"\n{robot.label}: {n} joints, {len(torch_module.tip_names)} tip(s)")
        print(
            "| workload | batch | JAX jit µs | torch eager µs | torch compiled µs | JAX compile s |"
        )
        print("|---|---|---|---|---|---|")
        for batch in batches:
            q = torch.rand(batch, n, generator=torch.Generator().manual_seed(batch)) * 2 - 1
            q_jax = jnp.asarray(q.numpy())
            ours_jax = jax_workloads(jax_module)
            eager = torch_workloads(torch_module, compiled=False)
            compiled = torch_workloads(torch_module, compiled=True)
            for name in ("forward", "forward + backward", "jacobian"):
                started = time.perf_counter()
                jax.block_until_ready(ours_jax[name](q_jax))
                jit_s = time.perf_counter() - started
                check = np.asarray(ours_jax[name](q_jax))
                expected = eager[name](q).detach().numpy()
                np.testing.assert_allclose(check, expected, atol=2e-4, rtol=0)

                def run_jax(f=ours_jax[name], x=q_jax):
                    jax.block_until_ready(f(x))

                times = median_times(
                    [run_jax, lambda f=eager[name], x=q: f(x), lambda f=compiled[name], x=q: f(x)],
                    budget,
                )
                jax_us, eager_us, compiled_us = (t * 1e6 for t in times)
                print(
                    f"| {name} | {batch:,} | {jax_us:,.0f} | {eager_us:,.0f} | {compiled_us:,.0f} "
                    f"| {jit_s:.2f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
