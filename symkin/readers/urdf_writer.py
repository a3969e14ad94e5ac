"""Writing a model as URDF: links with their mass properties, joints with origin, axis, limits
and mimic."""

from __future__ import annotations

import math

from lxml import etree

from symkin.errors import SymkinError
from symkin.model.inertia import Inertial
from symkin.model.placement import Step, transform
from symkin.model.robot import Joint, RobotModel, planar_joints
from symkin.model.rotations import matrix_rpy
from symkin.names import unique_name


def to_urdf(model: RobotModel) -> str:
    """The model as URDF text: kinematics only (links, joints with origin, axis, limits, mimic).

    Each joint's origin steps are folded into one ``xyz``/``rpy`` (fixed-axis roll,
    pitch, yaw), printed so that every float reads back bit for bit.
    """
    robot = etree.Element("robot", name=model.name)
    robot.append(etree.Comment(" Written by symkin convert: kinematics only. "))
    if model.floating:
        # The free body hangs from a world link by a floating joint, as Pinocchio and ROS expect.
        world = unique_name("world", set(model.links))
        etree.SubElement(robot, "link", name=world)
        joint = etree.SubElement(
            robot,
            "joint",
            name=unique_name(f"{model.root}_floating", {j.name for j in model.joints}),
            type="floating",
        )
        etree.SubElement(joint, "parent", link=world)
        etree.SubElement(joint, "child", link=model.root)
    planar = _planar_groups(model)
    hidden = {link for group in planar.values() for link in (group[0].child, group[1].child)}
    for link in model.links:
        if link not in hidden:
            _inertial(etree.SubElement(robot, "link", name=link), model.inertial(link))
    for joint in model.joints:
        if joint.name in planar:
            x, y, theta = planar[joint.name]
            element = etree.SubElement(robot, "joint", name=joint.name[: -len(":x")], type="planar")
            xyz, rpy = _xyz_rpy(joint.origin)
            etree.SubElement(element, "parent", link=x.parent)
            etree.SubElement(element, "child", link=theta.child)
            etree.SubElement(element, "origin", xyz=_numbers(xyz), rpy=_numbers(rpy))
            etree.SubElement(element, "axis", xyz=_numbers(theta.axis))
            if math.isfinite(x.lower) and math.isfinite(x.upper):
                etree.SubElement(
                    element,
                    "limit",
                    lower=repr(x.lower),
                    upper=repr(x.upper),
                    effort="0",
                    velocity="0",
                )
            continue
        if any(joint in group[1:] for group in planar.values()):
            continue
        # A ball joint is Bullet's spherical one, which symkin reads back.
        kind = "spherical" if joint.type == "ball" else joint.type
        element = etree.SubElement(robot, "joint", name=joint.name, type=kind)
        xyz, rpy = _xyz_rpy(joint.origin)
        etree.SubElement(element, "parent", link=joint.parent)
        etree.SubElement(element, "child", link=joint.child)
        etree.SubElement(element, "origin", xyz=_numbers(xyz), rpy=_numbers(rpy))
        if joint.moves and joint.type != "ball":
            etree.SubElement(element, "axis", xyz=_numbers(joint.axis))
        if joint.type in ("revolute", "prismatic"):
            if math.isfinite(joint.lower) and math.isfinite(joint.upper):
                etree.SubElement(
                    element,
                    "limit",
                    lower=repr(joint.lower),
                    upper=repr(joint.upper),
                    effort="0",
                    velocity="0",
                )
            else:  # URDF requires both limits of revolute and prismatic joints
                raise SymkinError(
                    f"{joint.label}: URDF cannot express the unbounded limits of a {joint.type} "
                    "joint"
                )
        if joint.mimic is not None and joint.moves:
            etree.SubElement(
                element,
                "mimic",
                joint=joint.mimic.joint,
                multiplier=repr(joint.mimic.multiplier),
                offset=repr(joint.mimic.offset),
            )
    return etree.tostring(robot, pretty_print=True, xml_declaration=True, encoding="utf-8").decode(
        "utf-8"
    )


def _planar_groups(model: RobotModel) -> dict[str, tuple[Joint, Joint, Joint]]:
    """The planar joints of the file, as :func:`~symkin.model.robot.planar_joints` expanded them:
    ``P:x`` and ``P:y`` sliding through links of those names along the in-plane axes of
    ``P:theta``'s axis.
    """
    groups = {}
    for x in model.joints:
        if not x.name.endswith(":x"):
            continue
        name = x.name[: -len(":x")]
        try:
            y, theta = model.joint(f"{name}:y"), model.joint(f"{name}:theta")
        except KeyError:
            continue
        links, expected = planar_joints(
            name, x.parent, theta.child, x.origin, theta.axis, x.lower, x.upper
        )
        if (x, y, theta) == expected:
            groups[x.name] = (x, y, theta)
    return groups


def _numbers(values) -> str:
    return " ".join(repr(float(v) + 0.0) for v in values)


def _xyz_rpy(
    steps: tuple[Step, ...],
) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """One translation and URDF rpy (R = Rz(yaw)·Ry(pitch)·Rx(roll)) for a sequence of steps."""
    R, t = transform(steps)
    return t, matrix_rpy(R)


def _inertial(link: etree._Element, inertial: Inertial | None) -> None:
    """The link's ``<inertial>``, when it has readable mass properties."""
    if inertial is None or inertial.problem is not None:
        return
    element = etree.SubElement(link, "inertial")
    xyz, rpy = _xyz_rpy(inertial.origin)
    etree.SubElement(element, "origin", xyz=_numbers(xyz), rpy=_numbers(rpy))
    etree.SubElement(element, "mass", value=repr(inertial.mass))
    names = ("ixx", "ixy", "ixz", "iyy", "iyz", "izz")
    etree.SubElement(
        element, "inertia", {n: repr(v) for n, v in zip(names, inertial.inertia, strict=True)}
    )
