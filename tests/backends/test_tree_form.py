"""The tree form (symkin/compiler/tree_form.py), which torch modules take over a few
configurations: the same tips' columns, bodies' columns, axes and origins as the frame program,
for every kind of joint and path; chosen by batch size outside tracing only; as cheap as its
header says."""

from __future__ import annotations

import sys

import pytest
import torch
from helpers import REPO, CountTensorOps, compile_file, random_base_poses, robot_file, sample_q
from reference import JointSpec, urdf_text

import symkin
from symkin.backends.torch.runtime import _frames_along_tree, _make_table
from symkin.compiler.tree_form import tree_tables
from symkin.model.robot import ALL_LEAVES

PANDA = str(robot_file("panda_description/urdf/panda.urdf"))
G1 = str(robot_file("g1_description/urdf/g1_29dof_rev_1_0.urdf"))
TALOS = str(robot_file("talos_data/robots/talos_full_v2.urdf"))

# A branch with a fixed joint between moving ones, a tilted axis, a prismatic joint, and mimic
# joints with a negative multiplier and an offset, one of them crossed upward from the base link3.
MIXED = urdf_text(
    "mixed",
    [f"link{k}" for k in range(8)],
    [
        JointSpec("a", "revolute", "link0", "link1", (0.1, 0.0, 0.2), (0.3, 0.0, 0.0), (0, 0, 1)),
        JointSpec("weld", "fixed", "link1", "link2", (0.0, 0.1, 0.0), (0.0, 0.5, 0.0)),
        JointSpec("b", "revolute", "link2", "link3", (0.2, 0.0, 0.0), axis=(0.0, 0.6, 0.8)),
        JointSpec("slide", "prismatic", "link3", "link4", (0.0, 0.0, 0.1), axis=(1, 0, 0)),
        JointSpec("c", "revolute", "link1", "link5", (0.0, 0.2, 0.0), mimic=("a", -0.5, 0.3)),
        JointSpec("d", "continuous", "link5", "link6", (0.1, 0.1, 0.0), axis=(0, 1, 0)),
        JointSpec("e", "revolute", "link0", "link7", (0.0, -0.2, 0.0), mimic=("b", 2.0, -0.1)),
    ],
)


def mixed_path(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("tree") / "mixed.urdf"
    path.write_text(MIXED)
    return str(path)


CASES = {
    "panda": (PANDA, ("panda_hand_tcp",), None, False),
    "hand": (PANDA, ("panda_leftfinger", "panda_rightfinger"), None, False),
    "g1, links fixed to the pelvis among the tips": (G1, ALL_LEAVES, None, False),
    "talos, mimic joints, floating": (TALOS, None, None, True),
    "mixed, from the root": ("mixed", ("link4", "link6", "link7"), None, False),
    "mixed, from link3: crossed upward": ("mixed", ("link6", "link7", "link0"), "link3", False),
}


def both_forms(path: str, tips, base, floating: bool, batch: int = 5):
    """(the frame program's columns, axes, origins; the tree form's) for random q and base."""
    kinematics = symkin.derive(symkin.load(path), tips, base, floating, notes=lambda _: None)
    assert kinematics.tree is not None
    tables = tree_tables(kinematics.tree, symkin.lower(kinematics).motions)
    tree = [
        _make_table(tables[name].values, tables[name].kind, tables[name].shape, torch.float64)
        for name in kinematics.tree.table_names("poses")
    ]
    module = symkin.module_class(symkin.load_module(symkin.generate(kinematics)))().double()
    generated = sys.modules[type(module).__module__]
    q = sample_q(module, batch, seed=5)
    X = None
    if floating:
        X = generated._with_base(q, random_base_poses(batch, seed=5))[1]
    program = module._pose_frames(q, X, *module._tables(q, generated._FRAME_TABLES))
    along_tree = _frames_along_tree(
        q, X, *tree, levels=kinematics.tree.levels, count=kinematics.tree.frames[0]
    )
    return program, along_tree


@pytest.mark.parametrize("case", CASES)
def test_the_tree_form_computes_what_the_frame_program_does(case, tmp_path_factory):
    path, tips, base, floating = CASES[case]
    path = mixed_path(tmp_path_factory) if path == "mixed" else path
    program, along_tree = both_forms(path, tips, base, floating)
    for name, expected, got in zip(
        ("columns", "axes", "origins"), program, along_tree, strict=True
    ):
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-12, msg=name)


@pytest.mark.parametrize("path, floating", [(PANDA, False), (G1, True)])
def test_rigid_bodies_along_the_tree_are_the_frame_programs(path, floating, monkeypatch):
    # The dynamics' bodies (scaled inertia axes and centres of mass, links welded together
    # merged) and motions, over few configurations and then with the tree form switched off.
    bodies = symkin.rigid_bodies(symkin.load(path), notes=lambda _: None)
    module = compile_file(path, floating_base=floating, outputs=(bodies,))
    generated = sys.modules[type(module).__module__]
    q = sample_q(module, 3, seed=6)
    assert generated._FEW_DYNAMICS_CONFIGURATIONS >= 3
    along_tree = module._body_frames(q)
    kinematics = symkin.derive(symkin.load(path), None, None, floating, (bodies,), lambda _: None)
    one = q[:1]
    tables = module._tables(one, generated._TREE_TABLES[1])
    with CountTensorOps() as counted:
        generated._along_tree(one, None, *tables, placing=1)
    assert counted.count == kinematics.tree.operations(1)
    monkeypatch.setattr(generated, "_FEW_DYNAMICS_CONFIGURATIONS", 0)
    program = module._body_frames(q)
    names = ("bodies", "axes", "origins")
    for name, expected, got in zip(names, program, along_tree, strict=True):
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-12, msg=name)


def test_no_tree_form_for_a_ball_joint():
    ragdoll = symkin.load(REPO / "examples/ragdoll.xml")
    assert any(joint.type == "ball" for joint in ragdoll.joints)
    assert symkin.derive(ragdoll, notes=lambda _: None).tree is None
    assert "_frames_along_tree" not in symkin.generate(symkin.derive(ragdoll, notes=lambda _: None))


@pytest.mark.parametrize(
    "case",
    ["panda", "g1, links fixed to the pelvis among the tips", "mixed, from the root", "hand"],
)
def test_calls_of_few_configurations_take_the_tree_form_of_its_stated_cost(case, tmp_path_factory):
    path, tips, base, floating = CASES[case]
    path = mixed_path(tmp_path_factory) if path == "mixed" else path
    kinematics = symkin.derive(symkin.load(path), tips, base, floating, notes=lambda _: None)
    module = compile_file(path, tips, base)
    generated = sys.modules[type(module).__module__]
    few = generated._FEW_POSES_CONFIGURATIONS
    assert few >= 2
    q = sample_q(module, 1)
    for motions in (True, False):
        frames, tables = module._pose_program(q, motions)
        with CountTensorOps() as counted:
            frames(q, None, *tables)
        # Alone, the tips' frames become rows: a permutation and a reshape, a copy for several.
        rows = 0 if motions else 2 + (len(module.tip_names) > 1)
        assert counted.count == kinematics.tree.operations(motions=motions) + rows
    for batch in (1, few):
        assert (
            module._pose_program(sample_q(module, batch))[0].__name__ == "_pose_frames_along_tree"
        )
    assert module._pose_program(sample_q(module, few + 1))[0].__name__ == "_pose_frames"


def test_under_tracing_the_frame_program_whatever_the_batch(monkeypatch):
    module = compile_file(G1, ALL_LEAVES)
    generated = sys.modules[type(module).__module__]
    monkeypatch.setattr(generated, "_tracing", lambda: True)
    frames, _ = module._pose_program(sample_q(module, 1))
    assert frames.__name__ == "_pose_frames"


@pytest.mark.parametrize("floating", [False, True])
def test_module_results_and_gradients_agree_across_the_forms(floating):
    # The first configuration alone takes the tree form; among more than _FEW_POSES_CONFIGURATIONS,
    # the frame program. Poses (alone, and with the motions the backward needs), Jacobians, and
    # the closed-form gradients to q and the base.
    module = compile_file(TALOS, floating_base=floating)
    generated = sys.modules[type(module).__module__]
    count = generated._FEW_POSES_CONFIGURATIONS + 1
    q = sample_q(module, count, seed=2).requires_grad_()
    inputs = [q] + ([random_base_poses(count, seed=2).requires_grad_()] if floating else [])
    weights = torch.randn(count, len(module.tip_names), 4, 4, dtype=q.dtype)

    def results(*args):
        poses, jacobians = module.forward_and_jacobian(*args)
        gradients = torch.autograd.grad((module(*args) * weights[: len(args[0])]).sum(), args)
        with torch.no_grad():
            alone = module(*args)
        return alone, poses, jacobians, *gradients

    together = results(*inputs)
    alone = results(*(x[:1] for x in inputs))
    for got, expected in zip(alone, together, strict=True):
        torch.testing.assert_close(got, expected[:1], rtol=0, atol=1e-12)


def test_gradcheck_through_the_tree_form():
    module = compile_file(TALOS, floating_base=True)
    q = sample_q(module, 2, seed=4).requires_grad_()
    base = random_base_poses(2, seed=4).requires_grad_()
    assert torch.autograd.gradcheck(module, (q, base))


@pytest.mark.parametrize("path, floating", [(PANDA, False), (G1, True)])
def test_the_centre_of_mass_along_the_tree_is_the_frame_programs(path, floating, monkeypatch):
    """The centre of mass and its Jacobian (and gradient) over few configurations, then with the
    tree form switched off; each group placed (the tips, the bodies, the points, each from its
    own tables) costs what its header says."""
    model = symkin.load(path)
    bodies = symkin.rigid_bodies(model, notes=lambda _: None)
    outputs = (bodies, symkin.center_of_mass(model))
    module = compile_file(path, floating_base=floating, outputs=outputs)
    generated = sys.modules[type(module).__module__]
    assert generated._FEW_CENTER_OF_MASS_CONFIGURATIONS >= 3
    q = sample_q(module, 3, seed=8).requires_grad_()
    base = (random_base_poses(3, seed=8),) if floating else ()
    along_tree = module.center_of_mass_and_jacobian(q, *base)
    (gradient,) = torch.autograd.grad(module.center_of_mass(q, *base).square().sum(), q)
    monkeypatch.setattr(generated, "_FEW_CENTER_OF_MASS_CONFIGURATIONS", 0)
    program = module.center_of_mass_and_jacobian(q, *base)
    (expected,) = torch.autograd.grad(module.center_of_mass(q, *base).square().sum(), q)
    for expected_part, got in zip((*program, expected), (*along_tree, gradient), strict=True):
        torch.testing.assert_close(got, expected_part, rtol=0, atol=1e-12)
    tree = symkin.derive(model, None, None, floating, outputs, lambda _: None).tree
    assert tree.frames[2] > 0 and tree.point_groups == ("center_of_mass",)
    one = sample_q(module, 1)
    for placing in range(3):
        tables = module._tables(one, generated._TREE_TABLES[placing])
        for motions in (True, False):
            with CountTensorOps() as counted:
                generated._along_tree(one, None, *tables, placing=placing, motions=motions)
            assert counted.count == tree.operations(placing, motions), (placing, motions)


@pytest.mark.parametrize("floating", [False, True])
def test_collision_spheres_along_the_tree_are_the_frame_programs(floating, monkeypatch):
    """The sphere centres, the distances and their closed-form gradients over few
    configurations, then with the tree form switched off; the spheres' group costs what its
    header says."""
    model = symkin.load(str(robot_file("panda_description/urdf/panda_collision.urdf")))
    output, _ = symkin.collision_output(model, tolerance=0.06, samples=100)
    kinematics = symkin.derive(model, None, None, floating, (output,), lambda _: None)
    module = symkin.module_class(symkin.load_module(symkin.generate(kinematics)))().double()
    generated = sys.modules[type(module).__module__]
    few = generated._FEW_COLLISION_CONFIGURATIONS
    assert few >= 3
    q = sample_q(module, 3, seed=9).requires_grad_()
    base = (random_base_poses(3, seed=9),) if floating else ()

    def results():
        spheres = module.collision_spheres(q, *base)
        distances = module.self_collision_distances(q)
        loss = spheres.square().sum() + distances.sum()
        return spheres, distances, *torch.autograd.grad(loss, q)

    along_tree = results()
    monkeypatch.setattr(generated, "_FEW_COLLISION_CONFIGURATIONS", 0)
    for expected, got in zip(results(), along_tree, strict=True):
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-12)
    placing = kinematics.tree.group("collision")
    one = sample_q(module, 1)
    tables = module._tables(one, generated._TREE_TABLES[placing])
    for motions in (True, False):
        with CountTensorOps() as counted:
            generated._along_tree(one, None, *tables, placing=placing, motions=motions)
        assert counted.count == kinematics.tree.operations(placing, motions)
