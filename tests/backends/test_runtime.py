"""The backends' runtimes (the fixed code every generated module copies), tested as code."""

from __future__ import annotations

import numpy as np
import torch

from symkin.backends.array_api import runtime as array_runtime
from symkin.backends.torch import floating as torch_floating
from symkin.backends.torch import runtime as torch_runtime


def test_ball_joint_rows_are_made_unit_alike_in_every_runtime():
    """Rows 1–4 of five joints are a ball joint's quaternion: divided by their norm, the identity
    when it is zero (MuJoCo's mju_normalize4), the other rows untouched; finite gradients."""
    joints = torch.tensor(
        [[0.3, -0.7], [2.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]],
        dtype=torch.float64,
        requires_grad=True,
    )
    unit = torch_runtime._unit_quaternions(joints, (1,))
    expected = torch.tensor([[0.3, -0.7], [1.0, 1.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
    torch.testing.assert_close(unit, expected.double())
    unit.sum().backward()
    assert torch.isfinite(joints.grad).all()
    random = np.random.default_rng(0).standard_normal((9, 3))
    np.testing.assert_allclose(
        array_runtime._unit_quaternions(random, (0, 5)),
        torch_runtime._unit_quaternions(torch.from_numpy(random), (0, 5)).numpy(),
        rtol=0,
        atol=1e-15,
    )
    assert np.allclose(
        np.linalg.norm(array_runtime._unit_quaternions(random, (0, 5))[:4], axis=0), 1
    )


def test_a_zero_quaternion_is_the_identity_with_finite_gradients():
    quaternion = torch.tensor([[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 2.0]], requires_grad=True)
    R = torch_floating._quaternion_matrix(quaternion)
    half_turn = torch.diag(torch.tensor([-1.0, -1.0, 1.0]))  # about z
    torch.testing.assert_close(R, torch.stack([torch.eye(3), half_turn]))
    R.sum().backward()
    assert torch.isfinite(quaternion.grad).all()
    unit = array_runtime._unit_quaternion(quaternion.detach().numpy())
    np.testing.assert_array_equal(unit, [[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]])


def test_the_pose_of_a_quaternion_is_the_textbook_rotation():
    """(w, x, y, z) of any norm: R from the unit quaternion's entries one by one, as in any text."""
    quaternion = torch.randn(50, 4, dtype=torch.float64)
    position = torch.randn(50, 3, dtype=torch.float64)
    w, x, y, z = (quaternion / quaternion.norm(dim=-1, keepdim=True)).unbind(-1)
    R = torch.stack(
        [
            1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
            2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
            2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
        ],
        -1,
    ).unflatten(-1, (3, 3))  # fmt: skip
    X = torch_floating._pose_matrices(torch.cat([position, quaternion], -1))
    torch.testing.assert_close(X[:, :3, :3], R, rtol=0, atol=1e-15)
    torch.testing.assert_close(X[:, :3, 3], position, rtol=0, atol=0)
    torch.testing.assert_close(
        X[:, 3], torch.tensor([0.0, 0, 0, 1], dtype=torch.float64).expand(50, 4)
    )
    pose = torch.cat([position, quaternion], -1).requires_grad_()
    assert torch.autograd.gradcheck(torch_floating._pose_matrices, (pose,))
    assert torch.autograd.gradgradcheck(torch_floating._pose_matrices, (pose,))


def test_the_base_pose_s_closed_form_gradient_is_autograd_s():
    """_PoseOfBase's backward against autograd through the plain operations, on quaternions of
    any norm and a zero one (whose gradient is zero, as autograd's is)."""
    base = torch.randn(6, 7, dtype=torch.float64)
    base[:, 3:] *= torch.tensor([1e-3, 0.5, 1.0, 3.0, 1e3, 0.0])[:, None]
    weights = torch.randn(4, 4, 1, 6, dtype=torch.float64)
    gradients = []
    for pose in (torch_floating._PoseOfBase.apply, torch_floating._pose_entries):
        x = base.clone().requires_grad_()
        (pose(x) * weights).sum().backward()
        gradients.append(x.grad)
    torch.testing.assert_close(gradients[0], gradients[1], rtol=1e-12, atol=1e-12)
    assert gradients[0][5, 3:].abs().max() == 0


def test_torch_and_array_jacobians_agree_with_shared_slots_and_a_prismatic_joint():
    rng = np.random.default_rng(0)
    points = rng.normal(size=(3, 2, 5))
    axes, origins = rng.normal(size=(4, 3, 5)), rng.normal(size=(4, 3, 5))
    # Point 0 below motions 0, 1, 2 (2 mimics 1: shared slot), point 1 below motion 0 only.
    located, motion = np.array([0, 0, 0, 1]), np.array([0, 1, 2, 0])
    scale = np.array([[1.0], [1.0], [-2.0], [1.0]])
    prismatic = np.array([[False], [False], [False], [True]])
    slot = np.array([0, 1, 1, 2])
    arguments = (points, axes, origins, located, motion, scale, prismatic, slot, None)
    as_tensors = (torch.from_numpy(a) if a is not None else None for a in arguments)
    expected = torch_runtime._jacobian(*as_tensors, rows=6, slots=3).numpy()
    got = array_runtime._jacobian(*arguments, rows=6, slots=3)
    np.testing.assert_allclose(got, expected, atol=1e-15)
    # Without gathering, entry (row, slot) of the slots is column row · 3 + slot: the shared slot
    # (row 0, slot 1) holds the sum of the source's and the mimic joint's columns.
    axis, lever = axes[:3, 1], points[:, 0] - origins[:3, 1]
    axis2, lever2 = axes[:3, 2], points[:, 0] - origins[:3, 2]
    column = np.cross(axis, lever, axis=0) - 2 * np.cross(axis2, lever2, axis=0)
    np.testing.assert_allclose(got[:, 1], column[0], atol=1e-14)
    np.testing.assert_allclose(got[:, 0 * 3 + 2], axes[0, 0], atol=1e-15)  # prismatic: [axis; 0]
