"""Parse a URDF file into a :class:`RobotModel` (through the hardened reader of
:mod:`symkin.readers.xml`).

Read: links with their ``<inertial>`` (mass, centre-of-mass origin, inertia) and ``<collision>``
geometry, joints with their type (Bullet's ``spherical`` too: a ball joint), parent, child,
origin, axis, limit and mimic. Visuals, transmissions and plugins are ignored. A malformed
``<inertial>`` or ``<collision>`` does not stop a file from loading: the problem is kept and
reported by the outputs that need it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path

from lxml import etree

from symkin.errors import Notes, SymkinError, read_input, warn_note
from symkin.model.geometry import (
    Box,
    Capsule,
    CollisionGeometry,
    Cylinder,
    MeshFile,
    Shape,
    Sphere,
    Unreadable,
)
from symkin.model.inertia import Inertial
from symkin.model.placement import urdf_placement
from symkin.model.robot import (
    JOINT_TYPES,
    Joint,
    JointType,
    Mimic,
    RobotModel,
    build_model,
    planar_joints,
)
from symkin.readers.xml import drop_default_namespace, parse_xml, refuse_xacro

_URDF_TYPES = ("revolute", "continuous", "prismatic", "fixed", "floating", "planar", "spherical")
"""The joint types a URDF may declare: urdfdom's, and Bullet's ``spherical`` (a ball joint)."""


def load_urdf(path: str | os.PathLike[str], notes: Notes | None = None) -> RobotModel:
    """Read and parse the URDF file at ``path``. Errors name the file; remarks go to ``notes``."""
    path = Path(path)
    data = read_input(path)
    try:
        return parse_urdf(data, notes)
    except SymkinError as error:
        raise error.with_source(str(path)) from None


def parse_urdf(data: bytes | str, notes: Notes | None = None) -> RobotModel:
    """Parse URDF text into a validated :class:`RobotModel`.

    Harmless defects of widely used files are read with a remark to ``notes`` (by default a
    :class:`SymkinNote` warning): an XML declaration after a comment or blank line, or with
    version 0.0; a default XML namespace on ``<robot>``; xacro left only in visual, collision or
    other parts that are not kinematics (ignored).
    """
    notes = notes or warn_note
    root = parse_xml(data.encode() if isinstance(data, str) else data, notes)
    if not isinstance(root.tag, str) or etree.QName(root).localname != "robot":
        tag = etree.QName(root).localname if isinstance(root.tag, str) else "?"
        raise SymkinError(f"the root element is <{tag}>, not <robot>: this is not a URDF file")
    drop_default_namespace(root, notes)
    refuse_xacro(root, notes)
    name = root.get("name") or "robot"
    links = [_required(element, "name", "link") for element in root.iterchildren("link")]
    inertials = [
        (link, inertial)
        for link, element in zip(links, root.iterchildren("link"), strict=True)
        if (inertial := _inertial(element, link)) is not None
    ]
    collisions = [
        geometry
        for link, element in zip(links, root.iterchildren("link"), strict=True)
        for geometry in _collisions(element, link)
    ]
    joints: list[Joint] = []
    floating: list[Joint] = []
    for element in root.iterchildren("joint"):
        joint, extra_links, expanded = _parse_joint(element)
        if element.get("type") == "floating":  # read as fixed; it makes its child a free body
            floating.append(joint)
            continue
        links += extra_links
        joints += expanded
    if floating:
        links, joints = _free_body(floating, links, joints)
    return build_model(
        name,
        tuple(links),
        tuple(joints),
        floating=bool(floating),
        inertials=tuple(inertials),
        # A free body's world link (dropped above) collides with nothing.
        collisions=tuple(c for c in collisions if c.link in links),
    )


def _free_body(
    floating: list[Joint], links: list[str], joints: list[Joint]
) -> tuple[list[str], list[Joint]]:
    """Drop a root ``floating`` joint and the link above it: its child becomes a free root body.

    A floating joint is accepted only as the one joint out of the root link (a ``world`` link
    with nothing else attached), which is what Pinocchio reads as a free flyer.
    """
    joint = floating[0]
    if len(floating) > 1:
        raise SymkinError(
            f"{floating[1].label}: only one floating joint, at the root, is supported"
        )
    if joint.parent not in links:
        raise SymkinError(f"{joint.label}: parent link {joint.parent!r} is not declared")
    if any(j.child == joint.parent for j in joints):
        raise SymkinError(
            f"{joint.label}: only a root joint can be floating (its parent link {joint.parent!r} "
            "is "
            "not the root); to make a link the free body, compile with it as a floating base"
        )
    if any(j.parent == joint.parent for j in joints):
        raise SymkinError(
            f"{joint.label}: a floating root joint must be the only joint out of link "
            f"{joint.parent!r}, "
            "which has others"
        )
    return [link for link in links if link != joint.parent], joints


def _required(element: etree._Element, attribute: str, what: str) -> str:
    value = element.get(attribute)
    if value is None or not value.strip():
        raise SymkinError(f"<{what}> at line {element.sourceline} has no {attribute!r} attribute")
    return value


def _parse_joint(element: etree._Element) -> tuple[Joint, list[str], list[Joint]]:
    """The joint as declared, and the links and joints it adds to the model (a planar joint is
    three)."""
    name = _required(element, "name", "joint")
    label = f"joint {name!r} (line {element.sourceline})"
    joint_type = _required(element, "type", "joint")
    if joint_type not in _URDF_TYPES:
        raise SymkinError(
            f"{label}: unknown joint type {joint_type!r} (expected one of {', '.join(_URDF_TYPES)})"
        )
    parent = _link_reference(element, "parent", label)
    child = _link_reference(element, "child", label)
    origin = element.find("origin")
    xyz = _vector(origin, "xyz", label) if origin is not None else (0.0, 0.0, 0.0)
    rpy = _vector(origin, "rpy", label) if origin is not None else (0.0, 0.0, 0.0)
    axis_element = element.find("axis")
    axis = (
        _vector(axis_element, "xyz", label, default="1 0 0")
        if axis_element is not None
        else (1.0, 0.0, 0.0)
    )
    norm = math.hypot(*axis)
    if joint_type not in ("fixed", "floating", "spherical") and norm < 1e-12:
        raise SymkinError(f"{label}: axis xyz is the zero vector")
    unit_axis = (
        (axis[0] / norm, axis[1] / norm, axis[2] / norm) if norm >= 1e-12 else (1.0, 0.0, 0.0)
    )
    lower, upper = _limits(element.find("limit"), joint_type, label)
    origin_steps = urdf_placement(xyz, rpy)
    if joint_type == "planar":
        if element.find("mimic") is not None:
            raise SymkinError(f"{label}: a planar joint cannot mimic another joint")
        links, joints = planar_joints(
            name, parent, child, origin_steps, unit_axis, lower, upper, element.sourceline
        )
        return joints[-1], list(links), list(joints)
    # A floating joint is read as fixed: it makes its child the free root body (see parse_urdf).
    # A spherical joint (Bullet's extension) is a ball joint.
    known_type = "ball" if joint_type == "spherical" else joint_type
    kind: JointType = next((known for known in JOINT_TYPES if known == known_type), "fixed")
    if kind == "ball" and element.find("mimic") is not None:
        raise SymkinError(f"{label}: a spherical joint cannot mimic another joint")
    joint = Joint(
        name=name,
        type=kind,
        parent=parent,
        child=child,
        origin=origin_steps,
        axis=unit_axis if kind not in ("fixed", "ball") else (1.0, 0.0, 0.0),
        lower=lower,
        upper=upper,
        mimic=_mimic(element.find("mimic"), label) if joint_type != "floating" else None,
        line=element.sourceline,
    )
    return joint, [], [joint]


def _link_reference(element: etree._Element, tag: str, label: str) -> str:
    found = element.find(tag)
    if found is None:
        raise SymkinError(f"{label}: missing <{tag}> element")
    link = found.get("link")
    if not link:
        raise SymkinError(f"{label}: <{tag}> has no 'link' attribute")
    return link


def _number(text: str, what: str, label: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SymkinError(f"{label}: {what}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise SymkinError(f"{label}: {what}: {text!r} is not a finite number")
    return value


def _vector(
    element: etree._Element, attribute: str, label: str, default: str = "0 0 0"
) -> tuple[float, float, float]:
    text = element.get(attribute, default)
    what = f"<{element.tag} {attribute}>"
    parts = text.split()
    if len(parts) != 3:
        raise SymkinError(f"{label}: {what}: expected 3 numbers, got {len(parts)} in {text!r}")
    x, y, z = (_number(part, what, label) for part in parts)
    return (x, y, z)


def _limits(element: etree._Element | None, joint_type: str, label: str) -> tuple[float, float]:
    # Continuous and fixed joints ignore limits; urdfdom reads missing lower/upper attributes as 0.
    if element is None or joint_type in ("continuous", "fixed", "floating", "spherical"):
        return (-math.inf, math.inf)
    number: Callable[[str], float] = lambda attribute: _number(  # noqa: E731
        element.get(attribute, "0"), f"<limit {attribute}>", label
    )
    lower, upper = number("lower"), number("upper")
    if lower > upper:
        raise SymkinError(
            f"{label}: <limit> at line {element.sourceline}: lower {lower} is above upper {upper}; "
            "swap them"
        )
    return (lower, upper)


def _inertial(link: etree._Element, name: str) -> Inertial | None:
    """The link's ``<inertial>``: mass, centre-of-mass origin, inertia about it in the origin's
    axes (missing numbers are 0). A malformed one is kept with its problem."""
    element = link.find("inertial")
    if element is None:
        return None
    label = f"<inertial> (line {element.sourceline})"
    try:
        origin = element.find("origin")
        xyz = _vector(origin, "xyz", label) if origin is not None else (0.0, 0.0, 0.0)
        rpy = _vector(origin, "rpy", label) if origin is not None else (0.0, 0.0, 0.0)
        mass_element = element.find("mass")
        mass = (
            0.0
            if mass_element is None
            else _number(mass_element.get("value", "0"), "<mass value>", label)
        )
        inertia_element = element.find("inertia")
        moments = ("ixx", "ixy", "ixz", "iyy", "iyz", "izz")
        values = [
            _number(inertia_element.get(a, "0"), f"<inertia {a}>", label)
            if inertia_element is not None
            else 0.0
            for a in moments
        ]
    except SymkinError as error:
        return Inertial(math.nan, problem=error.message)
    ixx, ixy, ixz, iyy, iyz, izz = values
    return Inertial(mass, urdf_placement(xyz, rpy), (ixx, ixy, ixz, iyy, iyz, izz))


def _collisions(link: etree._Element, name: str) -> list[CollisionGeometry]:
    """The link's ``<collision>`` elements; one that cannot be read keeps its problem."""
    found = []
    for element in link.iterchildren("collision"):
        label = f"<collision> (line {element.sourceline})"
        try:
            origin = element.find("origin")
            xyz = _vector(origin, "xyz", label) if origin is not None else (0.0, 0.0, 0.0)
            rpy = _vector(origin, "rpy", label) if origin is not None else (0.0, 0.0, 0.0)
            placement = urdf_placement(xyz, rpy)
            shape = _shape(element.find("geometry"), label)
        except SymkinError as error:
            placement, shape = (), Unreadable(error.message)
        found.append(CollisionGeometry(name, placement, shape, label))
    return found


def _shape(geometry: etree._Element | None, label: str) -> Shape:
    children = [] if geometry is None else [c for c in geometry if isinstance(c.tag, str)]
    if len(children) != 1:
        raise SymkinError(f"{label}: <geometry> needs exactly one shape, found {len(children)}")
    (element,) = children

    def size(attribute: str) -> float:
        text = element.get(attribute)
        if text is None:
            raise SymkinError(f"{label}: <{element.tag}> has no {attribute!r} attribute")
        return _number(text, f"<{element.tag} {attribute}>", label)

    if element.tag == "sphere":
        return Sphere(size("radius"))
    if element.tag == "box":
        x, y, z = _vector(element, "size", label, default="")
        return Box((x / 2, y / 2, z / 2))
    if element.tag == "cylinder":
        return Cylinder(size("radius"), size("length"))
    if element.tag == "capsule":
        return Capsule(size("radius"), size("length"))
    if element.tag == "mesh":
        filename = element.get("filename")
        if not filename:
            raise SymkinError(f"{label}: <mesh> has no 'filename' attribute")
        return MeshFile(filename, _vector(element, "scale", label, default="1 1 1"))
    raise SymkinError(f"{label}: unknown shape <{element.tag}>")


def _mimic(element: etree._Element | None, label: str) -> Mimic | None:
    if element is None:
        return None
    source = element.get("joint")
    if not source:
        raise SymkinError(f"{label}: <mimic> has no 'joint' attribute")
    return Mimic(
        joint=source,
        multiplier=_number(element.get("multiplier", "1"), "<mimic multiplier>", label),
        offset=_number(element.get("offset", "0"), "<mimic offset>", label),
    )
