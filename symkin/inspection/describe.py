"""A model as text: the tree, every joint, the default tips. Needs neither SymPy nor torch."""

from __future__ import annotations

import math
from fractions import Fraction

from symkin.errors import SymkinError
from symkin.model.inertia import check_mass
from symkin.model.placement import Quaternion, Rotation, Translation
from symkin.model.robot import ALL_LEAVES, RobotModel, default_tips
from symkin.model.rotations import quarter_turns
from symkin.names import comment_text


def describe(model: RobotModel) -> str:
    """The kinematic tree as text: every joint with its type, axis, limits and mimic; the default
    tips and their joints (q order); the leaves left out of the default tips because they never
    move."""
    moving = [j for j in model.joints if j.moves]
    tips, rigid = default_tips(model, model.root)
    actuated = model.actuated_joints(model.root, tips)
    entries = [name for joint in actuated for name in model.joint(joint).coordinate_names]
    dof = sum(len(model.joint(joint).velocity_names) for joint in actuated)
    lines = [
        f"robot {shown(model.name)}: {len(model.links)} links, {len(model.joints)} joints "
        f"({len(moving)} moving, {len(model.joints) - len(moving)} fixed), root {shown(model.root)}"
        + (" (a free body: compiled modules take its pose in the world)" if model.floating else ""),
        "",
        "tree:",
        *_tree_lines(model),
        "",
        "joints:",
    ]
    for joint in model.joints:
        details: list[str] = [joint.type]
        if joint.type == "ball":
            details.append("a unit quaternion in q, an angular velocity in v")
        elif joint.moves:
            details.append(f"axis {axis_text(joint.axis)}")
            if joint.type != "continuous" and (
                math.isfinite(joint.lower) or math.isfinite(joint.upper)
            ):
                details.append(f"limits [{short_number(joint.lower)}, {short_number(joint.upper)}]")
        if joint.origin:
            details.append(f"origin {placement_text(joint.origin)}")
        if joint.mimic is not None and joint.moves:
            multiplier, offset = (
                short_number(joint.mimic.multiplier),
                short_number(joint.mimic.offset),
            )
            details.append(f"mimics {shown(joint.mimic.joint)} (×{multiplier} + {offset})")
        lines.append(
            f"  {shown(joint.name)}: {shown(joint.parent)} -> {shown(joint.child)}, "
            + ", ".join(details)
        )
    lines += [
        "",
        f"default tips (leaves that move relative to {shown(model.root)}): "
        + ", ".join(shown(t) for t in tips),
    ]
    if rigid:
        lines.append(
            f"leaves fixed to the root, not default tips (name them, or ask for {ALL_LEAVES!r}): "
            + ", ".join(shown(t) for t in rigid)
        )
    if model.sites:
        lines.append(
            "sites and named geoms (tips when asked for): "
            + ", ".join(shown(s) for s in model.sites)
        )
    lines += [
        "actuated joints (q order for the default tips): "
        + (", ".join(f"q{i + 1}={shown(n)}" for i, n in enumerate(entries)) or "none"),
        f"DOF: {dof}" + (f" (q has {len(entries)} entries)" if len(entries) != dof else ""),
        *_mass_lines(model),
    ]
    return "\n".join(lines)


def _mass_lines(model: RobotModel) -> list[str]:
    """The total mass and each link's: what ``--com`` weighs (kg), and what it would refuse."""
    if not model.inertials:
        return ["mass: none given (--com needs masses)"]
    total, lines = 0.0, []
    for link, inertial in model.inertials:
        try:
            check_mass(link, inertial)
        except SymkinError as error:
            lines.append(f"  {shown(link)}: unusable: {error}")
            continue
        total += inertial.mass
        center = " ".join(short_number(v) for v in inertial.center)
        lines.append(f"  {shown(link)}: {short_number(inertial.mass)} kg at ({center})")
    massless = len(model.links) - len(model.inertials)
    rest = f"; {massless} links without mass" if massless else ""
    return ["", f"mass: {short_number(total)} kg over {len(model.inertials)} links{rest}", *lines]


def _tree_lines(model: RobotModel) -> list[str]:
    children: dict[str, list] = {}
    for joint in model.joints:
        children.setdefault(joint.parent, []).append(joint)
    lines = [shown(model.root)]
    stack = [
        (joint, "", i == len(children.get(model.root, [])) - 1)
        for i, joint in enumerate(children.get(model.root, []))
    ]
    stack.reverse()
    while stack:
        joint, indent, last = stack.pop()
        lines.append(
            f"{indent}{'└─' if last else '├─'} {shown(joint.child)}  [{shown(joint.name)}, "
            f"{joint.type}]"
        )
        below = children.get(joint.child, [])
        deeper = indent + ("   " if last else "│  ")
        stack.extend(
            reversed([(child, deeper, i == len(below) - 1) for i, child in enumerate(below)])
        )
    return lines


def shown(name: str) -> str:
    """A name as text on one line: printable characters as they are, the rest escaped."""
    return comment_text(name)


def short_number(value: float) -> str:
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.6g}"


def axis_text(axis: tuple[float, float, float]) -> str:
    for name, unit in (("x", (1.0, 0.0, 0.0)), ("y", (0.0, 1.0, 0.0)), ("z", (0.0, 0.0, 1.0))):
        if axis == unit:
            return f"+{name}"
        if axis == tuple(-u for u in unit):
            return f"-{name}"
    return "(" + " ".join(short_number(a) for a in axis) + ")"


def angle_text(angle: float) -> str:
    """An angle in radians, quarter turns as multiples of pi (``pi/2``, ``-pi``, ``3*pi/2``)."""
    k = quarter_turns(angle)
    if k is None:
        return short_number(angle)
    if k == 0:
        return "0"
    turns = Fraction(k, 2)
    sign = "-" if turns < 0 else ""
    numerator, denominator = abs(turns.numerator), turns.denominator
    return (
        sign
        + ("" if numerator == 1 else f"{numerator}*")
        + "pi"
        + ("" if denominator == 1 else f"/{denominator}")
    )


def placement_text(steps) -> str:
    parts = []
    for step in steps:
        if isinstance(step, Translation):
            parts.append("T(" + " ".join(short_number(v) for v in step.xyz) + ")")
        elif isinstance(step, Quaternion):
            parts.append("Q(" + " ".join(short_number(v) for v in step.wxyz) + ")")
        elif isinstance(step, Rotation):
            parts.append(f"R{step.axis}({angle_text(step.angle)})")
    return "·".join(parts)
