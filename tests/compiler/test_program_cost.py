"""Guards on the generated program's cost and on its compatibility with torch.compile and
torch.func.

Speed itself is measured by benchmarks/bench.py, never asserted here.
"""

from __future__ import annotations

import copy
import math
import random
import re

import pytest
import torch
from helpers import REPO, CountTensorOps, compile_file, robot_file, sample_q
from reference import JointSpec, urdf_text

import symkin
from symkin.compiler.program import Split


def program_ops(
    path: str, tip: str, base: str | None = None, jacobian: bool = True
) -> symkin.OpCount:
    return symkin.simplify(symkin.derive(symkin.load(path), (tip,), base), jacobian=jacobian).ops


def test_panda_pose_and_jacobian_within_200_operations():
    ops = program_ops(str(robot_file("panda_description/urdf/panda.urdf")), "panda_hand_tcp")
    assert ops.arithmetic <= 200, ops
    assert (ops.sin, ops.cos) == (7, 7), ops


@pytest.mark.parametrize(
    "relative, tip",
    [
        ("panda_description/urdf/panda.urdf", "panda_hand_tcp"),
        ("ur_description/urdf/ur5_robot.urdf", "tool0"),
    ],
)
def test_cse_cuts_the_written_out_closed_form_at_least_fourfold(relative, tip):
    kinematics = symkin.derive(symkin.load(str(robot_file(relative))), (tip,))
    before, after = symkin.unsimplified_ops(kinematics), symkin.simplify(kinematics).ops
    assert after.arithmetic * 4 < before.arithmetic, (before, after)


def random_chain(count: int, seed: int) -> str:
    rng = random.Random(seed)
    quarter = [0.0, math.pi / 2, -math.pi / 2, math.pi]
    joints = [
        JointSpec(
            f"j{i}",
            "revolute",
            f"l{i}",
            f"l{i + 1}",
            xyz=(rng.uniform(-0.3, 0.3), 0.0, rng.uniform(0, 0.3)),
            rpy=(rng.choice(quarter), 0.0, rng.choice(quarter)),
            axis=(0, 0, 1),
        )
        for i in range(count)
    ]
    return urdf_text("chain", [f"l{i}" for i in range(count + 1)], joints)


def test_operation_count_grows_linearly_with_chain_length():
    per_joint = []
    for count in (10, 20, 40):
        kinematics = symkin.derive(
            symkin.parse_urdf(random_chain(count, seed=count)), (f"l{count}",)
        )
        per_joint.append(symkin.simplify(kinematics).ops.arithmetic / count)
    assert max(per_joint) < 1.6 * min(per_joint), per_joint


@pytest.fixture(scope="module")
def panda():
    return compile_file(str(robot_file("panda_description/urdf/panda.urdf")), ("panda_hand_tcp",))


def tensor_ops(run) -> int:
    with CountTensorOps() as counter:
        run()
    return counter.count


def count_operations(module: torch.nn.Module) -> tuple[int, int, int]:
    """Tensor operations dispatched by a forward, a pose-and-Jacobian and a forward + backward at
    batch 1."""
    module = copy.deepcopy(module).float()  # the fast path: module and q of one dtype
    q = sample_q(module, 1).float()

    def forward_backward():
        x = q.clone().requires_grad_()
        module(x).sum().backward()

    return (
        tensor_ops(lambda: module(q)),
        tensor_ops(lambda: module.forward_and_jacobian(q)),
        tensor_ops(forward_backward),
    )


def test_panda_runs_few_tensor_operations(panda):
    """The column layout's point: the scalar program of the first version dispatched 100 / 162 / 190
    ops."""
    forward, jacobian, forward_backward = count_operations(panda)
    assert forward <= 46 and jacobian <= 65 and forward_backward <= 84, (
        forward,
        jacobian,
        forward_backward,
    )


@pytest.mark.parametrize(
    "relative, most",
    [
        ("g1_description/urdf/g1_29dof_rev_1_0.urdf", (153, 218, 237)),
        ("allegro_hand_description/urdf/allegro_right_hand.urdf", (49, 85, 104)),
    ],
)
def test_trees_run_few_tensor_operations(relative, most):
    """Sibling chains computed as lanes of one tensor: G1 took 246 / 458 / 477 ops without."""
    counts = count_operations(compile_file(str(robot_file(relative))))
    assert all(count <= limit for count, limit in zip(counts, most, strict=True)), counts


def test_isomorphic_chains_are_packed_into_lanes():
    """Solo12's four legs are one chain of packed assignments: every assignment has four lanes."""
    program = symkin.lower(
        symkin.derive(symkin.load(str(robot_file("solo_description/robots/solo12.urdf"))))
    )
    assert {len(a.lanes) for a in program.assignments} == {4}
    unpacked = symkin.lower(
        symkin.derive(symkin.load(str(robot_file("solo_description/robots/solo12.urdf")))),
        pack=False,
    )
    assert sum(len(a.lanes) for a in program.assignments) == len(unpacked.assignments)


def test_pose_columns_stored_negated_are_few():
    """A negated output is a tensor op of its own: the Panda's program needs at most one."""
    kinematics = symkin.derive(
        symkin.load(str(robot_file("panda_description/urdf/panda.urdf"))), ("panda_hand_tcp",)
    )
    program = symkin.lower(kinematics)
    assert sum(ref.negated for ref in program.concatenation("pose_columns").refs) <= 1
    # An axis's sign is folded into the motion tables.
    assert not any(ref.negated for ref in program.concatenation("axes").refs)


def test_compiles_with_fullgraph(panda):
    q = sample_q(panda, 4)
    compiled = torch.compile(panda, fullgraph=True, backend="aot_eager")
    # Compiled, the cross products take their fused form: the same arithmetic, rounded differently.
    torch.testing.assert_close(compiled(q), panda(q), rtol=0, atol=1e-14)
    jacobian = torch.compile(panda.jacobian, fullgraph=True, backend="aot_eager")
    torch.testing.assert_close(jacobian(q), panda.jacobian(q), rtol=0, atol=1e-14)
    x = q.clone().requires_grad_()
    compiled(x).sum().backward()
    y = q.clone().requires_grad_()
    panda(y).sum().backward()
    torch.testing.assert_close(x.grad, y.grad, rtol=0, atol=1e-12)


def test_torch_func_transforms(panda):
    q = sample_q(panda, 3)
    batched = torch.func.vmap(panda)(q)
    torch.testing.assert_close(batched, panda(q), rtol=0, atol=0)
    position_jacobian = torch.func.jacrev(lambda x: panda(x)[:3, 3])(q[0])
    torch.testing.assert_close(position_jacobian, panda.jacobian(q[0])[:3], rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    "relative",
    ["g1_description/urdf/g1_29dof_rev_1_0.urdf", "tiago_description/robots/tiago_dual.urdf"],
)
def test_every_name_in_a_program_is_unique(relative):
    """Every name the frame program defines (joint rows, table cuts, coefficients, columns) is
    defined once."""
    program = symkin.lower(symkin.derive(symkin.load(str(robot_file(relative)))))
    names = [name for _, name in program.joints] + [name for name, _ in program.scalars]
    for statement in (
        *program.prologue,
        *(s for block in program.blocks for s in block.statements),
    ):
        if isinstance(statement, Split):
            names += statement.names
        else:
            names.append(getattr(statement, "target", None) or statement.name)
    names += [c.name for c in program.concatenations]
    names = [name for name in names if name != "_"]
    assert len(set(names)) == len(names)
    assert all(name.isidentifier() and len(name) <= 64 for name in names)


def test_sines_and_cosines_are_named_like_the_textbook():
    program = symkin.lower(
        symkin.derive(
            symkin.load(str(robot_file("ur_description/urdf/ur5_robot.urdf"))), ("tool0",)
        )
    )
    trig = next(s for s in program.prologue if isinstance(s, Split) and s.base == "trig")
    rows = len(program.angles.labels)
    labels = dict(zip(trig.names[:rows], program.angles.labels, strict=True))
    assert labels["s5"] == "q5" and labels["s23"] == "q2 + q3" and labels["s234"] == "q2 + q3 + q4"


TORCH_GOLDEN = [
    path
    for path in sorted((REPO / "generated").glob("*.py"))
    if "import torch" in path.read_text(encoding="utf-8")
]


@pytest.mark.parametrize("path", TORCH_GOLDEN, ids=[p.name for p in TORCH_GOLDEN])
def test_the_headers_counts_are_the_operations_the_frame_program_dispatches(path):
    """The header's counts are computed from the emitted program; running it dispatches exactly
    as many tensor operations, for every call the module makes."""
    source = path.read_text(encoding="utf-8")
    module = symkin.load_module(source, f"counted_{path.stem}")
    instance = symkin.module_class(module)()
    costs = re.findall(r"^#   ([\w +]+):\s+(\d+) array operations", source, re.MULTILINE)
    assert len(costs) >= 2
    q = sample_q(instance, 3, dtype=torch.get_default_dtype())
    tables = instance._tables(q, module._FRAME_TABLES)
    for label, count in costs:
        wanted = sum(getattr(module, f"_{group.upper()}") for group in label.split(" + "))
        assert tensor_ops(lambda wanted=wanted: module._frames(q, *tables, wanted)) == int(count)


def test_a_floating_base_adds_few_tensor_operations():
    """The base's pose is made over the batch in a dozen operations and applied to the frame
    program's columns (poses, axes, origins) in four multiply-adds each; the Jacobian's base
    columns come from one stack. G1 (the leaves that move): 40 more for the poses, 91 for the
    Jacobians (views included), once the first call has made the base's constants."""
    path = str(robot_file("g1_description/urdf/g1_29dof_rev_1_0.urdf"))
    fixed = compile_file(path, floating_base=False).float()
    floating = compile_file(path, floating_base=True).float()
    q, base = sample_q(fixed, 1).float(), torch.randn(1, 7)
    floating(q, base)
    extra_forward = tensor_ops(lambda: floating(q, base)) - tensor_ops(lambda: fixed(q))
    extra_jacobian = tensor_ops(lambda: floating.forward_and_jacobian(q, base)) - tensor_ops(
        lambda: fixed.forward_and_jacobian(q)
    )
    assert extra_forward <= 42 and extra_jacobian <= 93, (extra_forward, extra_jacobian)
