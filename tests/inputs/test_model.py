"""The model's building blocks: placements, rotations, and the checks a model is built with."""

from __future__ import annotations

import math

import numpy as np
import pytest

import symkin
from symkin.model.placement import (
    Placement,
    Quaternion,
    Rotation,
    Translation,
    transform,
    without_identity_steps,
)
from symkin.model.rotations import axis_rotation, cos_sin, matrix_rpy, quaternion_matrix


def test_quarter_turns_are_exact_and_others_are_not_guessed():
    assert cos_sin(math.pi / 2) == (0, 1) and cos_sin(1.57079632679) == (0, 1)
    assert cos_sin(-math.pi) == (-1, 0)
    cos, sin = cos_sin(1.5708)  # not within 1e-10 of π/2: kept as written
    assert isinstance(cos, float) and cos != 0
    identity_turn = quaternion_matrix((math.sqrt(0.5), 0.0, 0.0, math.sqrt(0.5)))  # 90° about z
    assert identity_turn == ((0.0, -1.0, 0.0), (1.0, 0.0, 0.0), (0.0, 0.0, 1.0))


def test_one_rodrigues_formula_serves_floats_and_agrees_with_the_quaternion():
    axis = np.array([1.0, 2.0, -2.0]) / 3.0
    angle = 0.7
    R = np.array(axis_rotation(axis, math.cos(angle), math.sin(angle)))
    w, xyz = math.cos(angle / 2), math.sin(angle / 2) * axis
    np.testing.assert_allclose(R, np.array(quaternion_matrix((w, *xyz))), atol=1e-15)


def test_placements_compose_in_their_own_frames_and_read_back_as_rpy():
    steps = (Translation((1.0, 0.0, 0.0)), Rotation("z", math.pi / 2), Translation((1.0, 0.0, 0.0)))
    R, t = transform(steps)
    assert t == (1.0, 1.0, 0.0) and R[0] == (0.0, -1.0, 0.0)  # the second step moves along new y
    placement = Placement((0.1, -0.2, 0.3), (0.4, -0.5, 0.6))
    rotation, translation = transform(placement.steps())
    assert translation == placement.xyz
    np.testing.assert_allclose(matrix_rpy(rotation), placement.rpy, atol=1e-15)


def test_identity_steps_are_dropped():
    steps = [Translation((0.0, 0.0, 0.0)), Rotation("x", 0.0), Quaternion((1.0, 0.0, 0.0, 0.0))]
    assert without_identity_steps([*steps, Rotation("y", 0.1)]) == (Rotation("y", 0.1),)
    assert Placement().steps() == ()


def test_a_model_is_one_validated_tree():
    joint = symkin.Joint("j", "revolute", "a", "b", axis=(0.0, 0.0, 1.0), lower=-1.0, upper=1.0)
    model = symkin.build_model("r", ("a", "b"), (joint,))
    assert model.root == "a" and model.leaves == ("b",)
    with pytest.raises(symkin.SymkinError, match="not a unit vector"):
        symkin.build_model(
            "r", ("a", "b"), (symkin.Joint("j", "revolute", "a", "b", axis=(0.0, 0.0, 2.0)),)
        )
    with pytest.raises(symkin.SymkinError, match="is not declared"):
        symkin.build_model("r", ("a",), (joint,))
