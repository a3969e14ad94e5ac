"""The derive stage on small robots whose closed forms are known by hand."""

from __future__ import annotations

import pytest
import sympy as sp
from reference import JointSpec, urdf_text

import symkin

# A planar arm: two revolute joints about z, links of 0.5 and 0.3 m along x.
ARM = urdf_text(
    "arm",
    ["base", "upper", "fore", "hand"],
    [
        JointSpec("shoulder", "revolute", "base", "upper", axis=(0, 0, 1)),
        JointSpec("elbow", "revolute", "upper", "fore", xyz=(0.5, 0.0, 0.0), axis=(0, 0, 1)),
        JointSpec("wrist", "fixed", "fore", "hand", xyz=(0.3, 0.0, 0.0)),
    ],
)


@pytest.fixture(scope="module")
def arm():
    return symkin.parse_urdf(ARM)


def test_the_tip_is_the_textbook_closed_form(arm):
    kinematics = symkin.derive(arm, ("hand",))
    q1, q2 = kinematics.q
    pose = kinematics.pose("hand")
    expected_x = sp.Float(0.5) * sp.cos(q1) + sp.Float(0.3) * sp.cos(q1 + q2)
    assert sp.simplify(pose[0, 3] - expected_x) == 0
    assert sp.simplify(pose[0, 0] - sp.cos(q1 + q2)) == 0  # parallel axes: built from the sum
    jacobian = kinematics.jacobian("hand")
    assert sp.simplify(jacobian[0, 1] + sp.Float(0.3) * sp.sin(q1 + q2)) == 0
    assert list(jacobian[5, :]) == [1, 1]


def test_an_offset_pose_and_a_point_are_located_on_their_link(arm):
    offset = symkin.Placement(xyz=(0.0, 0.1, 0.0))
    outputs = (
        symkin.Pose("fore", offset, name="camera"),
        symkin.Point("fore", (0.3, 0.0, 0.0), name="knuckle"),
    )
    kinematics = symkin.derive(arm, (), outputs=outputs)
    assert kinematics.tips == ("camera",) and [o.request.kind for o in kinematics.outputs] == [
        "poses",
        "points",
    ]
    (knuckle,) = kinematics.of_kind("points")[0].located
    (hand_x, hand_y, _) = kinematics.entries(knuckle.columns[0])
    q1, q2 = kinematics.q
    assert sp.simplify(hand_x - (0.5 * sp.cos(q1) + 0.3 * sp.cos(q1 + q2))) == 0
    camera_y = kinematics.pose("camera")[1, 3]
    assert sp.simplify(camera_y - (0.5 * sp.sin(q1) + 0.1 * sp.cos(q1 + q2))) == 0
    assert len(knuckle.motions) == 2


def test_weighted_points_of_one_rigid_body_merge(arm):
    points = (
        symkin.Point("fore", (0.1, 0.0, 0.0)),
        symkin.Point("hand", (0.1, 0.0, 0.0)),  # hand is welded to fore
        symkin.Point("upper", (0.25, 0.0, 0.0)),
    )
    weighted = symkin.WeightedPoints("center_of_mass", points, (1.0, 3.0, 2.0), total="mass")
    kinematics = symkin.derive(arm, (), outputs=(weighted,))
    located = kinematics.of_kind("weighted_points")[0].located
    assert sorted(point.weight for point in located) == [2.0, 4.0]  # fore and hand are one body
    fore = next(point for point in located if point.weight == 4.0)
    x, _, _ = kinematics.entries(fore.columns[0])
    q1, q2 = kinematics.q
    # (1·0.1 + 3·0.4)/4 = 0.325 along the forearm (the mean is taken in float64)
    difference = x - (0.5 * sp.cos(q1) + 0.325 * sp.cos(q1 + q2))
    assert abs(float(difference.subs({q1: 0.3, q2: -0.7}))) < 1e-15


def test_requests_are_checked(arm):
    with pytest.raises(symkin.SymkinError, match="not a Python identifier"):
        symkin.WeightedPoints("centre of mass", (symkin.Point("fore"),), (1.0,))
    with pytest.raises(symkin.SymkinError, match="negative or not finite"):
        symkin.WeightedPoints("c", (symkin.Point("fore"),), (-1.0,))
    with pytest.raises(symkin.SymkinError, match="tip link 'elbw' is not in robot"):
        symkin.derive(arm, (), outputs=(symkin.Point("elbw"),))
