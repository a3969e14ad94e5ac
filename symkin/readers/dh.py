"""Denavit–Hartenberg tables (standard or modified) as a :class:`RobotModel`.

Standard (distal): ``T_i = Rz(θ_i)·Tz(d_i)·Tx(a_i)·Rx(α_i)``; the joint variable
adds to θ (revolute) or d (prismatic), and since Rz and Tz commute the motion
comes first: joint i moves about the z axis of frame i-1, and the fixed rest of
row i becomes the origin of joint i+1 (or of the fixed joint to ``flange``).

Modified (proximal, Craig): ``T_i = Rx(α_{i-1})·Tx(a_{i-1})·Rz(θ_i)·Tz(d_i)``, with
row i holding a_{i-1} and α_{i-1}; the motion comes last, so the fixed part is
joint i's origin and link i is DH frame i.

Links are ``base``, ``link1`` … ``linkN``, then ``flange`` (standard only: DH
frame N) and ``tool`` when a tool transform is given. Lengths in metres,
angles in radians.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from symkin.errors import SymkinError, read_input
from symkin.model.inertia import Inertia, Inertial
from symkin.model.placement import (
    Placement,
    Rotation,
    Step,
    Translation,
    without_identity_steps,
)
from symkin.model.robot import Joint, JointType, RobotModel, build_model

CONVENTIONS = ("standard", "modified")
_JOINT_FIELDS = {"name", "type", "a", "alpha", "d", "theta", "lower", "upper"}
_MASS_FIELDS = {"mass", "com", "inertia"}
_PLACEMENT_FIELDS = {"xyz", "rpy"}
_TOP_FIELDS = {"name", "convention", "joints", "base", "tool"}
_END_JOINTS = ("flange_joint", "tool_joint")


@dataclass(frozen=True)
class DHRow:
    """One joint of a DH table; ``theta`` and ``d`` are offsets the joint variable adds to.

    ``mass`` (kg), ``com`` (m) and ``inertia`` ((ixx, ixy, ixz, iyy, iyz, izz), kg·m², about the
    centre of mass) describe the link the joint moves, in the axes of DH frame i: optional, a
    link without them is massless.
    """

    a: float
    alpha: float
    d: float
    theta: float
    type: JointType = "revolute"
    name: str | None = None
    lower: float = -math.inf
    upper: float = math.inf
    mass: float | None = None
    com: tuple[float, float, float] = (0.0, 0.0, 0.0)
    inertia: Inertia = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


def dh_model(
    rows: Sequence[DHRow | Mapping],
    convention: str,
    name: str = "robot",
    base: Placement | Mapping | None = None,
    tool: Placement | Mapping | None = None,
) -> RobotModel:
    """The kinematic model of a DH table; rows may be :class:`DHRow` or mappings with the same
    fields."""
    if convention not in CONVENTIONS:
        raise SymkinError(
            f"convention {convention!r} is unknown (expected 'standard' or 'modified')"
        )
    if not rows:
        raise SymkinError("the joint list is empty")
    table = [_row(row, i) for i, row in enumerate(rows)]
    names = [row.name or f"j{i + 1}" for i, row in enumerate(table)]
    for i, joint_name in enumerate(names):
        if joint_name in names[:i]:
            raise SymkinError(f"joint {i + 1} ({joint_name!r}): duplicate joint name")
        if joint_name in _END_JOINTS:
            raise SymkinError(
                f"joint {i + 1} ({joint_name!r}): this name is reserved for the fixed joint to the "
                "flange or tool"
            )
    base_steps = _placement_steps(base, "base")
    tool_steps = _placement_steps(tool, "tool") if tool is not None else None

    links = ["base"] + [f"link{i + 1}" for i in range(len(table))]
    joints: list[Joint] = []
    inertials: list[tuple[str, Inertial]] = []
    pending: tuple[Step, ...] = base_steps
    for i, (row, joint_name) in enumerate(zip(table, names, strict=True)):
        if convention == "modified":
            origin = pending + without_identity_steps(
                (
                    Rotation("x", row.alpha),
                    Translation((row.a, 0.0, 0.0)),
                    Rotation("z", row.theta),
                    Translation((0.0, 0.0, row.d)),
                )
            )
            pending = ()
        else:
            origin = pending
            pending = without_identity_steps(
                (
                    Rotation("z", row.theta),
                    Translation((0.0, 0.0, row.d)),
                    Translation((row.a, 0.0, 0.0)),
                    Rotation("x", row.alpha),
                )
            )
        if row.mass is not None:
            # Link i is DH frame i (modified), or DH frame i−1 turned by q_i (standard): there,
            # DH frame i is the rest of the row away.
            to_frame = () if convention == "modified" else pending
            origin_of_mass = to_frame + without_identity_steps((Translation(row.com),))
            inertials.append((links[i + 1], Inertial(row.mass, origin_of_mass, row.inertia)))
        joints.append(
            Joint(
                joint_name,
                row.type,
                links[i],
                links[i + 1],
                origin,
                (0.0, 0.0, 1.0),
                row.lower,
                row.upper,
            )
        )
    if convention == "standard":
        links.append("flange")
        joints.append(Joint("flange_joint", "fixed", links[-2], "flange", pending))
    if tool_steps is not None:
        links.append("tool")
        joints.append(Joint("tool_joint", "fixed", links[-2], "tool", tool_steps))
    return build_model(name, tuple(links), tuple(joints), inertials=tuple(inertials))


def load_dh(path: str | os.PathLike[str]) -> RobotModel:
    """Read a DH table from a TOML file (see the README for the format)."""
    path = Path(path)
    text = read_input(path)
    try:
        document = tomllib.loads(text.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise SymkinError(f"not valid TOML: {error}", str(path)) from None
    try:
        return _from_document(document, default_name=path.stem)
    except SymkinError as error:
        raise error.with_source(str(path)) from None


def _from_document(document: dict, default_name: str) -> RobotModel:
    _no_unknown_fields(document, _TOP_FIELDS, "the file")
    if "convention" not in document:
        raise SymkinError("missing 'convention' ('standard' or 'modified')")
    convention = document["convention"]
    if not isinstance(convention, str):
        raise SymkinError("'convention' must be the string 'standard' or 'modified'")
    name = document.get("name", default_name)
    if not isinstance(name, str) or not name:
        raise SymkinError("'name' must be a non-empty string")
    joints = document.get("joints")
    if not isinstance(joints, list) or not all(isinstance(j, dict) for j in joints):
        raise SymkinError("missing [[joints]]: one table per joint, base to tip")
    for key in ("base", "tool"):
        if key in document and not isinstance(document[key], dict):
            raise SymkinError(f"[{key}] must be a table with xyz and rpy")
    return dh_model(joints, convention, name, document.get("base"), document.get("tool"))


def _row(row: DHRow | Mapping, index: int) -> DHRow:
    if isinstance(row, DHRow):
        fields = {f: getattr(row, f) for f in _JOINT_FIELDS | _MASS_FIELDS}
        label = f"joint {index + 1}" + (f" ({row.name!r})" if row.name else "")
    else:
        given_name = row.get("name")
        label = f"joint {index + 1}" + (f" ({given_name!r})" if isinstance(given_name, str) else "")
        _no_unknown_fields(row, _JOINT_FIELDS | _MASS_FIELDS, label)
        fields = dict(row)
    name = fields.get("name")
    if name is not None and (not isinstance(name, str) or not name):
        raise SymkinError(f"{label}: field 'name' must be a non-empty string")
    joint_type = fields.get("type", "revolute")
    if joint_type not in ("revolute", "prismatic"):
        raise SymkinError(
            f"{label}: field 'type': unknown joint type {joint_type!r} (expected 'revolute' or "
            "'prismatic')"
        )
    values = {}
    for field in ("a", "alpha", "d", "theta"):
        if fields.get(field) is None:
            raise SymkinError(f"{label}: missing field {field!r}")
        values[field] = _finite(fields[field], f"{label}: field {field!r}")
    lower = (
        -math.inf
        if fields.get("lower") is None
        else _limit(fields["lower"], f"{label}: field 'lower'")
    )
    upper = (
        math.inf
        if fields.get("upper") is None
        else _limit(fields["upper"], f"{label}: field 'upper'")
    )
    if lower > upper:
        raise SymkinError(f"{label}: lower limit {lower} is above upper limit {upper}")
    row = DHRow(
        values["a"], values["alpha"], values["d"], values["theta"], joint_type, name, lower, upper
    )
    return dataclasses.replace(row, **_mass_fields(fields, label))


def _mass_fields(fields: Mapping, label: str) -> dict:
    """The row's optional mass, centre of mass and inertia, checked to be numbers."""
    if fields.get("mass") is None:
        if any(fields.get(f) not in (None, (0.0,) * 3, (0.0,) * 6) for f in ("com", "inertia")):
            raise SymkinError(f"{label}: 'com' or 'inertia' without 'mass'")
        return {}
    masses: dict = {"mass": _finite(fields["mass"], f"{label}: field 'mass'")}
    if fields.get("com") is not None:
        masses["com"] = _triple(fields["com"], f"{label}: field 'com'")
    if fields.get("inertia") is not None:
        value = fields["inertia"]
        if not isinstance(value, list | tuple) or len(value) != 6:
            raise SymkinError(
                f"{label}: field 'inertia': expected [ixx, ixy, ixz, iyy, iyz, izz], got {value!r}"
            )
        xx, xy, xz, yy, yz, zz = (_finite(v, f"{label}: field 'inertia'") for v in value)
        masses["inertia"] = (xx, xy, xz, yy, yz, zz)
    return masses


def _placement_steps(placement: Placement | Mapping | None, key: str) -> tuple[Step, ...]:
    if placement is None:
        return ()
    if isinstance(placement, Mapping):
        _no_unknown_fields(placement, _PLACEMENT_FIELDS, f"[{key}]")
        placement = Placement(
            _triple(placement.get("xyz", (0.0, 0.0, 0.0)), f"[{key}] xyz"),
            _triple(placement.get("rpy", (0.0, 0.0, 0.0)), f"[{key}] rpy"),
        )
    checked = Placement(
        _triple(placement.xyz, f"[{key}] xyz"), _triple(placement.rpy, f"[{key}] rpy")
    )
    return checked.steps()


def _triple(value, what: str) -> tuple[float, float, float]:
    if not isinstance(value, (list, tuple)) or len(value) != 3:
        raise SymkinError(f"{what}: expected a list of 3 numbers, got {value!r}")
    x, y, z = (_finite(v, what) for v in value)
    return (x, y, z)


def _finite(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SymkinError(f"{what}: {value!r} is not a number")
    if not math.isfinite(value):
        raise SymkinError(f"{what}: {value!r} is not a finite number")
    return float(value)


def _limit(value, what: str) -> float:
    """A joint limit: a number, infinite when unbounded, never NaN."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise SymkinError(f"{what}: {value!r} is not a number")
    return float(value)


def _no_unknown_fields(table: Mapping, known: set[str], where: str) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        raise SymkinError(
            f"{where}: unknown field {unknown[0]!r} (known: {', '.join(sorted(known))})"
        )
