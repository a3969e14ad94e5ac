"""The torch module's contract: attributes, shapes, dtype and device, gradients, input checks."""

from __future__ import annotations

import copy

import pytest
import torch
from helpers import (
    REPO,
    as_tips,
    compile_file,
    compile_model,
    random_base_poses,
    robot_file,
    sample_q,
)

import symkin

PANDA = str(robot_file("panda_description/urdf/panda.urdf"))
ALLEGRO = str(robot_file("allegro_hand_description/urdf/allegro_right_hand.urdf"))
TALOS = "talos_data/robots/talos_full_v2.urdf"


@pytest.fixture(scope="module")
def panda():
    return compile_file(PANDA, ("panda_hand_tcp",))


@pytest.fixture(scope="module")
def hand():
    return compile_file(ALLEGRO)


def jacobians_with_and_without_out(module, batch: tuple[int, ...]):
    """(the Jacobians as returned, out after the call, what the call returned) for q (and a base,
    floating) of ``batch``."""
    size = int(torch.tensor(batch).prod()) if batch else 1
    inputs = [sample_q(module, size, seed=3).reshape(*batch, -1)]
    if module.floating_base:
        inputs.append(random_base_poses(size, seed=3).reshape(*batch, 7))
    expected = module.jacobian(*inputs)
    out = torch.full_like(expected, float("nan"))
    with torch.no_grad():
        returned = module.forward_and_jacobian(*inputs, out=out)[1]
    return expected, out, returned


@pytest.mark.parametrize("batch", [(), (3,), (2, 5), (300,)])
@pytest.mark.parametrize("robot", ["panda", "hand", "talos-floating"])
def test_jacobians_written_into_out(panda, hand, robot, batch):
    # The Panda's Jacobian is its slots in order; the hand's is gathered; Talos' mimic joints
    # share slots, and its floating base adds the base's columns. 300 configurations take the
    # large-batch form even for the Panda's 42 entries each.
    if robot == "talos-floating":
        module = compile_file(str(robot_file(TALOS)), floating_base=True)
    else:
        module = {"panda": panda, "hand": hand}[robot]
    expected, out, returned = jacobians_with_and_without_out(module, batch)
    assert returned is out
    torch.testing.assert_close(out, expected, rtol=0, atol=0)


@pytest.mark.parametrize("robot", ["panda", "talos-floating"])
def test_many_configurations_come_a_chunk_at_a_time(panda, robot, monkeypatch):
    # A chunk is 1 MiB of output, thousands of configurations; told to take 7 at a time, the
    # module's chunks (the last one short) must give the whole batch's poses, Jacobians and
    # compact Jacobians, into out= too (to rounding: chunks this small take the tree form); where
    # autograd records, there are none.
    if robot == "talos-floating":
        module = compile_file(str(robot_file(TALOS)), floating_base=True)
    else:
        module = panda
    inputs = [sample_q(module, 30, seed=5).reshape(3, 10, -1)]
    if module.floating_base:
        inputs.append(random_base_poses(30, seed=5).reshape(3, 10, 7))
    pose, jacobian = module.forward_and_jacobian(*inputs)
    compact = module.compact_jacobian(*inputs)
    namespace = type(module).forward.__globals__
    chunks, sizes = namespace["_chunks"], []

    def counted(q, X, chunk):
        for part, q_part, X_part in chunks(q, X, chunk):
            sizes.append(q_part.shape[0])
            yield part, q_part, X_part

    monkeypatch.setitem(namespace, "_chunks", counted)
    monkeypatch.setitem(namespace, "_CHUNK_CONFIGURATIONS", 1)
    monkeypatch.setitem(namespace, "_CHUNK_BYTES", 7 * jacobian[0, 0].numel() * 8)
    chunked_pose, chunked_jacobian = module.forward_and_jacobian(*inputs)
    assert sizes == [7, 7, 7, 7, 2]
    monkeypatch.setitem(namespace, "_CHUNK_BYTES", 7 * pose[0, 0].numel() * 8)
    sizes.clear()
    torch.testing.assert_close(module(*inputs), pose, rtol=0, atol=1e-12)
    assert sizes == [7, 7, 7, 7, 2]
    torch.testing.assert_close(chunked_pose, pose, rtol=0, atol=1e-12)
    torch.testing.assert_close(chunked_jacobian, jacobian, rtol=0, atol=1e-12)
    torch.testing.assert_close(module.compact_jacobian(*inputs), compact, rtol=0, atol=1e-12)
    out = torch.full_like(jacobian, float("nan"))
    assert module.jacobian(*inputs, out=out) is out
    torch.testing.assert_close(out, jacobian, rtol=0, atol=1e-12)
    sizes.clear()
    recorded = module.jacobian(inputs[0].clone().requires_grad_(), *inputs[1:])
    module(inputs[0].clone().requires_grad_(), *inputs[1:]).sum().backward()
    assert sizes == [] and recorded.grad_fn is not None


def test_a_module_without_joints_takes_many_configurations():
    # A tip fixed to the base: its Jacobians have no columns, whatever the batch (chunks, whose
    # length is a share of the output's width, do not apply).
    model = symkin.parse_urdf(
        """<robot name="still"><link name="base"/><link name="tip"/>
        <joint name="weld" type="fixed"><parent link="base"/><child link="tip"/>
        <origin xyz="0.1 0.2 0.3" rpy="0 0 1"/></joint></robot>"""
    )
    module = compile_model(model, ("tip",))
    q = torch.zeros(5000, 0, dtype=torch.float64)
    pose, jacobian = module.forward_and_jacobian(q)
    assert pose.shape == (5000, 4, 4) and jacobian.shape == (5000, 6, 0)
    torch.testing.assert_close(pose[-1, :3, 3], torch.tensor([0.1, 0.2, 0.3], dtype=q.dtype))
    assert module.jacobian(q, out=torch.empty(5000, 6, 0, dtype=q.dtype)).shape == (5000, 6, 0)


def test_out_must_fit_and_stay_outside_autograd(panda):
    q = sample_q(panda, 4)
    good = torch.empty(4, 6, 7, dtype=q.dtype)
    for bad, message in [
        (torch.empty(4, 6, 8, dtype=q.dtype), r"shape \(4, 6, 7\)"),
        (torch.empty(4, 7, 6, dtype=q.dtype).mT, "contiguous"),
        (good.float(), "torch.float32"),
    ]:
        with pytest.raises(ValueError, match=message):
            panda.jacobian(q, out=bad)
    with pytest.raises(ValueError, match="no_grad"):
        panda.jacobian(q.requires_grad_(), out=good)


def test_attributes(panda, hand):
    assert type(panda).__name__ == "PandaKinematics"
    assert panda.joint_names == tuple(f"panda_joint{i}" for i in range(1, 8))
    assert panda.tip_names == ("panda_hand_tcp",) and panda.base_name == "panda_link0"
    assert panda.lower.shape == panda.upper.shape == (7,) and (panda.lower < panda.upper).all()
    assert (
        panda.lower.dtype == torch.float64
        and panda.lower[0].item() == -2.8973
        and panda.upper[3].item() == -0.0698
    )
    assert len(hand.tip_names) == 4 and len(hand.joint_names) == 16
    assert "lower" not in panda.state_dict()  # limits are constants, not learned state


@pytest.mark.parametrize("batch", [(), (1,), (5,), (2, 3), (4, 1, 2)])
def test_any_leading_batch_shape(panda, hand, batch):
    for module, pose_tail, jac_tail in ((panda, (4, 4), (6, 7)), (hand, (4, 4, 4), (4, 6, 16))):
        size = int(torch.tensor(batch).prod()) if batch else 1
        q = sample_q(module, size).reshape(*batch, len(module.joint_names))
        pose, jacobian = module.forward_and_jacobian(q)
        assert pose.shape == (*batch, *pose_tail) and jacobian.shape == (*batch, *jac_tail)
        flat = q.reshape(-1, q.shape[-1])
        torch.testing.assert_close(module(flat).reshape(pose.shape), pose, rtol=0, atol=0)
        torch.testing.assert_close(module.jacobian(q), jacobian, rtol=0, atol=0)


@pytest.mark.parametrize("batch", [(0,), (3, 0)])
@pytest.mark.parametrize("robot", ["panda", "hand", "talos-floating", "ragdoll"])
def test_empty_batches(panda, hand, robot, batch):
    # The tree form (the first three) and the frame program (the ragdoll's ball joints), poses,
    # Jacobians into a new tensor and into out=, gradients to q and the base.
    if robot in ("talos-floating", "ragdoll"):
        path = robot_file(TALOS) if robot == "talos-floating" else REPO / "examples/ragdoll.xml"
        module = compile_file(str(path), floating_base=True)
    else:
        module = {"panda": panda, "hand": hand}[robot]
    inputs = [torch.zeros(*batch, len(module.joint_names), dtype=torch.float64)]
    if module.floating_base:
        inputs.append(random_base_poses(1, seed=1)[:0].expand(*batch, 7))
    inputs = [x.clone().requires_grad_() for x in inputs]
    poses, jacobians = module.forward_and_jacobian(*inputs)
    tips = len(module.tip_names)
    assert poses.shape[: len(batch)] == batch and poses.shape[len(batch) :][-2:] == (4, 4)
    assert jacobians.shape[: len(batch)] == batch and jacobians.numel() == 0
    poses.sum().backward()
    assert all(x.grad is not None and x.grad.shape == x.shape for x in inputs)
    with torch.no_grad():
        out = torch.empty_like(jacobians)
        assert module.jacobian(*(x.detach() for x in inputs), out=out) is out
    assert (poses.shape[len(batch)] == tips) if tips > 1 else poses.dim() == len(batch) + 2


def test_pose_is_a_rigid_transform(hand):
    pose = hand(sample_q(hand, 50))
    R = pose[..., :3, :3]
    torch.testing.assert_close(
        R @ R.transpose(-1, -2), torch.eye(3, dtype=R.dtype).expand_as(R), atol=1e-12, rtol=0
    )
    torch.testing.assert_close(
        torch.linalg.det(R), torch.ones(R.shape[:-2], dtype=R.dtype), atol=1e-12, rtol=0
    )
    assert (pose[..., 3, :] == torch.tensor([0, 0, 0, 1], dtype=pose.dtype)).all()


def test_float32_follows_q_and_is_close_to_float64(panda, hand):
    for module in (panda, hand):
        q64 = sample_q(module, 200)
        pose64, jac64 = module.forward_and_jacobian(q64)
        pose32, jac32 = module.forward_and_jacobian(q64.float())
        assert pose32.dtype == jac32.dtype == torch.float32
        assert (pose32.double() - pose64).abs().max() < 1e-5
        assert (jac32.double() - jac64).abs().max() < 1e-5
    assert panda.float().lower.dtype == torch.float32  # buffers follow .to()


def test_constant_buffers_never_cost_float64_precision(panda):
    """Conversions remake the buffers from exact values, and a q of another dtype gets exact
    constants."""
    q64 = sample_q(panda, 50)
    reference = type(panda)()  # fresh: float64 buffers
    converted = copy.deepcopy(panda).float()
    assert (
        converted.constants.dtype
        == converted.angle_offsets.dtype
        == converted.lower.dtype
        == torch.float32
    )
    round_trip = copy.deepcopy(converted).double()
    for module in (converted, round_trip):
        torch.testing.assert_close(module(q64), reference(q64), rtol=0, atol=0)
        torch.testing.assert_close(module.jacobian(q64), reference.jacobian(q64), rtol=0, atol=0)
    assert round_trip.lower[0].item() == -2.8973
    assert not {"constants", "angle_offsets", "angle_map"} & set(panda.state_dict())


def test_gradcheck_forward_and_jacobian(panda, hand):
    for module in (panda, hand):
        q = sample_q(module, 2).requires_grad_()
        assert torch.autograd.gradcheck(module, (q,))
        assert torch.autograd.gradcheck(module.jacobian, (q,))
        assert torch.autograd.gradgradcheck(module, (q,))


def test_gradient_of_a_pose_loss_reaches_q(panda):
    q = sample_q(panda, 8).requires_grad_()
    target = panda(sample_q(panda, 8, seed=5)).detach()
    loss = (panda(q)[..., :3, 3] - target[..., :3, 3]).square().sum()
    loss.backward()
    assert q.grad is not None and q.grad.abs().sum() > 0 and torch.isfinite(q.grad).all()


def test_jacobian_is_the_derivative_of_the_position(panda):
    """The first three rows are d(position)/dq: compare with autograd of the forward pass."""
    q = sample_q(panda, 1)[0]
    autograd_jacobian = torch.autograd.functional.jacobian(lambda x: panda(x)[:3, 3], q)
    torch.testing.assert_close(panda.jacobian(q)[:3], autograd_jacobian, atol=1e-12, rtol=0)


@pytest.mark.parametrize(
    "bad, message",
    [
        (torch.zeros(3, 6, dtype=torch.float64), r"shape \(\.\.\., 7\)"),
        (torch.zeros(7, dtype=torch.int64), "floating-point"),
        (torch.tensor(1.0), r"shape \(\.\.\., 7\)"),
    ],
)
def test_bad_q_is_a_clear_error(panda, bad, message):
    with pytest.raises(ValueError, match=message):
        panda(bad)
    with pytest.raises(ValueError, match=message):
        panda.jacobian(bad)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_follows_q(panda):
    module = panda.cuda()
    q = sample_q(panda, 16).cuda()
    pose, jacobian = module.forward_and_jacobian(q)
    assert pose.device == jacobian.device == q.device
    cpu_pose, cpu_jacobian = panda.cpu().forward_and_jacobian(q.cpu())
    torch.testing.assert_close(pose.cpu(), cpu_pose, atol=1e-12, rtol=0)
    torch.testing.assert_close(jacobian.cpu(), cpu_jacobian, atol=1e-12, rtol=0)


def test_tip_axis(hand):
    q = sample_q(hand, 3)
    assert as_tips(hand(q), len(hand.tip_names)).shape == (3, 4, 4, 4)
