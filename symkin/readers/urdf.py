"""Parse a URDF file into a :class:`RobotModel`, and write a model as URDF.

The XML parser resolves no entities, loads no DTD and touches no network; a
document that declares a DTD or uses entities is refused outright. Only the
kinematic elements are read (``<link name>``, ``<joint>`` with its type,
parent, child, origin, axis, limit and mimic); visuals, inertias, transmissions
and plugins are ignored.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from pathlib import Path

from lxml import etree

from symkin.errors import Notes, SymkinError, read_input, warn_note
from symkin.model.placement import Step, transform, urdf_placement
from symkin.model.robot import (
    JOINT_TYPES,
    Joint,
    JointType,
    Mimic,
    RobotModel,
    build_model,
    planar_joints,
)
from symkin.model.rotations import matrix_rpy
from symkin.names import unique_name

_XACRO_NAMESPACES = ("http://www.ros.org/wiki/xacro", "http://ros.org/wiki/xacro")
_URDF_TYPES = (*JOINT_TYPES, "planar", "floating")


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
    root = _parse_xml(data.encode() if isinstance(data, str) else data, notes)
    if not isinstance(root.tag, str) or etree.QName(root).localname != "robot":
        tag = etree.QName(root).localname if isinstance(root.tag, str) else "?"
        raise SymkinError(f"the root element is <{tag}>, not <robot>: this is not a URDF file")
    _drop_default_namespace(root, notes)
    _refuse_xacro(root, notes)
    name = root.get("name") or "robot"
    links = [_required(element, "name", "link") for element in root.iterchildren("link")]
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
    return build_model(name, tuple(links), tuple(joints), floating=bool(floating))


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


def _parse_xml(data: bytes, notes: Notes) -> etree._Element:
    if not data.strip():
        raise SymkinError("the file is empty")
    if b"<!DOCTYPE" in data:
        # Refused before parsing: no entity is declared, expanded or fetched, whatever the libxml2
        # build.
        raise SymkinError(
            "the document declares a DTD; symkin refuses DTDs and entities in URDF files"
        )
    data = _mended_declaration(data, notes)
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
    )
    try:
        document = etree.fromstring(data, parser).getroottree()
    except etree.XMLSyntaxError as error:
        raise SymkinError(f"not well-formed XML: {error.msg}") from None
    if document.docinfo.doctype or document.docinfo.internalDTD is not None:
        raise SymkinError(
            "the document declares a DTD; symkin refuses DTDs and entities in URDF files"
        )
    root = document.getroot()
    if any(isinstance(node, etree._Entity) for node in root.iter()):
        raise SymkinError(
            "the document uses XML entities; symkin refuses DTDs and entities in URDF files"
        )
    return root


_DECLARATION = re.compile(rb"<\?xml\s[^>]*?\?>")


def _mended_declaration(data: bytes, notes: Notes) -> bytes:
    """The document with its XML declaration fixed where widely used files get it wrong: after a
    comment or blank lines (dropped), or with a version other than 1.0 or 1.1 (read as 1.0)."""
    found = _DECLARATION.search(data)
    if found is None:
        return data
    declaration = found.group()
    line = data.count(b"\n", 0, found.start()) + 1
    version = re.search(rb"version\s*=\s*[\"']([^\"']*)[\"']", declaration)
    if found.start() > 0 and data[: found.start()].lstrip(b"\xef\xbb\xbf"):
        encoding = re.search(rb"encoding\s*=\s*[\"']([^\"']*)[\"']", declaration)
        notes(f"the XML declaration is not at the start of the file (line {line}): read without it")
        rest = data[: found.start()] + data[found.end() :]
        if encoding and encoding.group(1).lower() not in (b"utf-8", b"utf8", b"us-ascii", b"ascii"):
            rest = rest.decode(encoding.group(1).decode("ascii", "replace"), "replace").encode(
                "utf-8"
            )
        return rest
    if version and version.group(1) not in (b"1.0", b"1.1"):
        notes(
            f"the XML declaration says version {version.group(1).decode('ascii', 'replace')!r}: "
            "read as XML 1.0"
        )
        mended = declaration[: version.start(1)] + b"1.0" + declaration[version.end(1) :]
        return data[: found.start()] + mended + data[found.end() :]
    return data


def _drop_default_namespace(root: etree._Element, notes: Notes) -> None:
    """A ``<robot xmlns="…">`` (an older schema) read as plain URDF: its elements lose that
    namespace."""
    namespace = etree.QName(root).namespace
    if namespace is None or namespace in _XACRO_NAMESPACES:
        return
    notes(f"<robot> has the XML namespace {namespace!r}: read as plain URDF")
    for element in root.iter():
        if isinstance(element.tag, str) and etree.QName(element).namespace == namespace:
            element.tag = etree.QName(element).localname
    etree.cleanup_namespaces(root)


def _is_kinematics(element: etree._Element, root: etree._Element) -> bool:
    """Whether ``element`` is part of the tree: ``<robot>``, a ``<link>`` element itself, or a
    ``<joint>`` and anything in it; a xacro element right under ``<robot>`` may make links or
    joints. What lies inside a link (visual, collision, inertial) and other top-level elements
    (gazebo, transmission, material) is not."""
    lineage = []
    while element is not root and element is not None:
        lineage.append(element)
        element = element.getparent()
    if not lineage:
        return True
    top = lineage[-1]
    if not isinstance(top.tag, str):
        return False
    name = etree.QName(top)
    if name.namespace in _XACRO_NAMESPACES:
        return True
    return name.localname == "joint" or (name.localname == "link" and len(lineage) == 1)


def _refuse_xacro(root: etree._Element, notes: Notes) -> None:
    """Refuse xacro that touches the kinematic tree; note xacro left elsewhere (it is ignored)."""
    ignored = []
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        is_xacro = etree.QName(element).namespace in _XACRO_NAMESPACES
        expressions = [(a, v) for a, v in element.attrib.items() if "${" in v or "$(" in v]
        if not is_xacro and not expressions:
            continue
        where = f"line {element.sourceline}"
        if _is_kinematics(element, root):
            if is_xacro:
                raise SymkinError(
                    f"{where}: <xacro:{etree.QName(element).localname}> found: "
                    "this is a xacro file; expand it first (xacro ROBOT.urdf.xacro > ROBOT.urdf)"
                )
            attribute, value = expressions[0]
            raise SymkinError(
                f"{where}: <{etree.QName(element).localname} {attribute}={value!r}> is a xacro "
                "expression; "
                "expand the file with xacro first"
            )
        ignored.append(
            f"<{'xacro:' if is_xacro else ''}{etree.QName(element).localname}> ({where})"
        )
    if ignored:
        shown = ", ".join(ignored[:4]) + (
            f" and {len(ignored) - 4} more" if len(ignored) > 4 else ""
        )
        notes(f"xacro left outside links and joints ignored: {shown}")


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
    if joint_type not in ("fixed", "floating") and norm < 1e-12:
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
    kind: JointType = next((known for known in JOINT_TYPES if known == joint_type), "fixed")
    joint = Joint(
        name=name,
        type=kind,
        parent=parent,
        child=child,
        origin=origin_steps,
        axis=unit_axis if joint_type != "fixed" else (1.0, 0.0, 0.0),
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
    if element is None or joint_type in ("continuous", "fixed", "floating"):
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
            etree.SubElement(robot, "link", name=link)
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
        element = etree.SubElement(robot, "joint", name=joint.name, type=joint.type)
        xyz, rpy = _xyz_rpy(joint.origin)
        etree.SubElement(element, "parent", link=joint.parent)
        etree.SubElement(element, "child", link=joint.child)
        etree.SubElement(element, "origin", xyz=_numbers(xyz), rpy=_numbers(rpy))
        if joint.moves:
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
