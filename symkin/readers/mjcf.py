"""Read an MJCF file into a :class:`RobotModel`, through MuJoCo itself.

MJCF has defaults classes, ``childclass``, ``<include>``, ``<frame>``, angle units, Euler
sequences and five ways to write an orientation; MuJoCo's own compiler resolves all of them, and
this module reads the compiled model (``mujoco.MjModel``): bodies and their placements, joints
with their anchors, axes, ranges and reference positions, sites, equality constraints.

What maps to what:

- a body is a link; the world body is the root link ``world``, unless one body hanging from it has
  a ``free`` joint: that body is then the root, a free body (a floating-base robot), and the world
  and what else hangs from it without joints are left out;
- a ``hinge`` is a revolute joint (continuous when not limited), a ``slide`` a prismatic one, a
  ``ball`` a ball joint (its qpos quaternion in q, its range left out). A body
  with several joints becomes a chain: the first joint moves an intermediate link
  ``<body>/<joint>``, the next the next, applied in order, each about its own anchor (the joint's
  ``pos``), as MuJoCo applies them. Joint values are qpos, including MuJoCo's reference position:
  a hinge with ``ref`` r is at its body's placement when q = r;
- a site, and a named geom, is a link fixed to its body, named after it (``<name>.site`` or
  ``<name>.geom`` if a body has the name): a tip when asked for;
- an unnamed body, joint or site is ``body<id>``, ``joint<id>``, ``site<id>`` with its MuJoCo id;
  a name symkin makes up (a site's fixed joint, a chain's intermediate link) that one MuJoCo gave
  already has (MuJoCo keeps names apart by kind, symkin has links and joints) gets ``~2``, ``~3``;
- a collision geom (nonzero ``contype`` or ``conaffinity``) is collision geometry of its body; a
  mesh is its convex hull, as MuJoCo collides it; planes and height fields are left out;
- a ``joint`` equality with a linear polynomial, ``q1 = a0 + a1·q2``, becomes a mimic relation when
  ``couple_joints``; every other equality is left out, with a note.

Not mapped: a free joint anywhere but on a body hanging from the world, several free bodies.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from symkin.errors import Notes, SymkinError
from symkin.model.geometry import (
    Box,
    Capsule,
    CollisionGeometry,
    ConvexMesh,
    Cylinder,
    Ellipsoid,
    Shape,
    Sphere,
)
from symkin.model.inertia import Inertial
from symkin.model.placement import Quaternion, Step, Translation, without_identity_steps
from symkin.model.robot import Joint, JointType, Mimic, RobotModel, build_model

# mjtJoint and mjtEq values, as MuJoCo numbers them.
_FREE, _BALL, _SLIDE, _HINGE = 0, 1, 2, 3
_EQ_JOINT = 2
_EQ_NAMES = {0: "connect", 1: "weld", 2: "joint", 3: "tendon", 4: "flex"}


def load_mjcf(
    path: str | os.PathLike[str], couple_joints: bool = False, notes: Notes | None = None
) -> RobotModel:
    """Compile the MJCF file at ``path`` with MuJoCo and read its kinematics (see the module
    docstring)."""
    model = _compile(Path(path), notes or (lambda message: None))
    return _Reader(model, couple_joints, notes or (lambda message: None)).model(Path(path).stem)


def is_mjcf(data: bytes) -> bool:
    """Whether the file's root element is ``<mujoco>``."""
    start = data.lstrip()[:4096]
    while start.startswith(b"<?") or start.startswith(b"<!--"):
        end = start.find(b"?>" if start.startswith(b"<?") else b"-->")
        if end < 0:
            return False
        start = start[end + 2 :].lstrip().lstrip(b">").lstrip()
    return start.startswith(b"<mujoco")


def _compile(path: Path, notes: Notes):
    try:
        import mujoco
    except ImportError:
        raise SymkinError(
            "reading MJCF needs the mujoco package: pip install 'symkin[mjcf]' (or pip install "
            "mujoco)"
        ) from None
    if not path.is_file():
        raise SymkinError("cannot read file: No such file or directory")
    previous = mujoco.set_mju_user_warning(
        lambda message: notes(f"MuJoCo: {' '.join(str(message).split())}")
    )
    try:
        return mujoco.MjModel.from_xml_path(str(path))
    except ValueError as error:
        raise SymkinError(f"MuJoCo rejected the file: {' '.join(str(error).split())}") from None
    finally:
        mujoco.set_mju_user_warning(previous)


class _Reader:
    def __init__(self, model, couple_joints: bool, notes: Notes) -> None:
        import mujoco

        self.m = model
        self.mujoco = mujoco
        self.couple_joints = couple_joints
        self.notes = notes
        self.body_names = self._names(mujoco.mjtObj.mjOBJ_BODY, model.nbody, "body")
        self.joint_names = self._names(mujoco.mjtObj.mjOBJ_JOINT, model.njnt, "joint")
        self.site_names = self._names(mujoco.mjtObj.mjOBJ_SITE, model.nsite, "site")
        self.body_names[0] = "world"
        # Names symkin makes up (a site's link and joint, a joint chain's links, fixed joints) must
        # not take one MuJoCo gave: its namespaces are per kind, symkin's are links and joints.
        self.taken = {"link": set(self.body_names), "joint": set(self.joint_names)}

    def _fresh(self, kind: str, name: str) -> str:
        """``name``, or ``name~2``, ``name~3`` … when a link or joint already has it."""
        fresh, count = name, 1
        while fresh in self.taken[kind]:
            count += 1
            fresh = f"{name}~{count}"
        self.taken[kind].add(fresh)
        return fresh

    def _names(self, kind, count: int, prefix: str) -> list[str]:
        """The names of ``count`` elements of one kind: MuJoCo's, or for an unnamed element
        ``<prefix><id>`` with its MuJoCo id (``body4``; ``body4~2`` if a named one took that)."""
        given = [self.mujoco.mj_id2name(self.m, kind, index) or "" for index in range(count)]
        taken = set(given)
        names = []
        for index, name in enumerate(given):
            if not name:
                name, suffix = f"{prefix}{index}", 1
                while name in taken:
                    suffix += 1
                    name = f"{prefix}{index}~{suffix}"
                taken.add(name)
            names.append(name)
        return names

    def model(self, default_name: str) -> RobotModel:
        m = self.m
        mimics = self._couplings()
        free = [j for j in range(m.njnt) if m.jnt_type[j] == _FREE]
        if len(free) > 1:
            listed = ", ".join(repr(self.body_names[m.jnt_bodyid[j]]) for j in free)
            raise SymkinError(
                f"several free bodies ({listed}): symkin compiles one mechanism with at most one "
                "free root"
            )
        root_body = 0
        if free:
            body = int(m.jnt_bodyid[free[0]])
            if m.body_parentid[body] != 0:
                raise SymkinError(
                    f"joint {self.joint_names[free[0]]!r}: a free joint must be on a body that "
                    "hangs from the world"
                )
            if m.body_jntnum[body] > 1:
                raise SymkinError(
                    f"body {self.body_names[body]!r}: a free joint must be the body's only joint"
                )
            root_body = body
        bodies = self._subtree(root_body)
        links: list[str] = [self.body_names[b] for b in bodies]
        joints: list[Joint] = []
        for body in bodies[1:]:
            links_added, joints_added = self._body_joints(body, mimics)
            links += links_added
            joints += joints_added
        sites: list[str] = []
        elements = [(self.body_names[b], "body", b) for b in bodies]
        for kind, index, given, body, placement in self._frames():
            if body not in bodies:
                continue
            taken = given in self.taken["link"]
            name = self._fresh("link", f"{given}.{kind}" if taken else given)
            links.append(name)
            sites.append(name)
            elements.append((name, kind, index))
            joint = self._fresh("joint", name)
            joints.append(Joint(joint, "fixed", self.body_names[body], name, placement))
        dropped = [self.body_names[b] for b in range(1, m.nbody) if b not in bodies]
        if dropped and root_body:
            self.notes(
                "left out with the world: "
                f"{', '.join(dropped[:6])}{', …' if len(dropped) > 6 else ''}"
            )
        return build_model(
            _model_name(m, default_name),
            tuple(links),
            tuple(joints),
            floating=bool(root_body),
            sites=tuple(sites),
            inertials=tuple(
                (self.body_names[b], self._inertial(b)) for b in bodies if m.body_mass[b]
            ),
            gravity=(float(m.opt.gravity[0]), float(m.opt.gravity[1]), float(m.opt.gravity[2])),
            coordinates=tuple(
                (joint.name, int(m.jnt_qposadr[j]), int(m.jnt_dofadr[j]))
                for j, joint in self._moving_joints(joints)
            ),
            elements=tuple(elements),
            collisions=self._collisions(bodies),
        )

    def _collisions(self, bodies: list[int]) -> tuple[CollisionGeometry, ...]:
        """The collision geoms (nonzero ``contype`` or ``conaffinity``) of ``bodies``, as MuJoCo
        compiled them; planes and height fields, which bound no solid (a floor), are left out."""
        m, geom_kind = self.m, self.mujoco.mjtObj.mjOBJ_GEOM
        found = []
        for g in range(m.ngeom):
            body = int(m.geom_bodyid[g])
            if body not in bodies or not (m.geom_contype[g] or m.geom_conaffinity[g]):
                continue
            name = f"geom {self.mujoco.mj_id2name(m, geom_kind, g) or g!r}"
            size = [float(v) for v in m.geom_size[g]]
            kind = int(m.geom_type[g])
            shape: Shape
            if kind == _GEOM["sphere"]:
                shape = Sphere(size[0])
            elif kind == _GEOM["capsule"]:
                shape = Capsule(size[0], 2 * size[1])
            elif kind == _GEOM["cylinder"]:
                shape = Cylinder(size[0], 2 * size[1])
            elif kind == _GEOM["box"]:
                shape = Box((size[0], size[1], size[2]))
            elif kind == _GEOM["ellipsoid"]:
                shape = Ellipsoid((size[0], size[1], size[2]))
            elif kind == _GEOM["mesh"]:
                mesh = int(m.geom_dataid[g])
                start, count = int(m.mesh_vertadr[mesh]), int(m.mesh_vertnum[mesh])
                vertices = m.mesh_vert[start : start + count].astype(float).tolist()
                shape = ConvexMesh(tuple((x, y, z) for x, y, z in vertices))
            else:
                continue
            placement = _placement(m.geom_pos[g], m.geom_quat[g])
            found.append(CollisionGeometry(self.body_names[body], placement, shape, name))
        return tuple(found)

    def _moving_joints(self, joints: list[Joint]) -> list[tuple[int, Joint]]:
        """The moving joints with their MuJoCo joint ids."""
        index = {name: j for j, name in enumerate(self.joint_names)}
        return [(index[joint.name], joint) for joint in joints if joint.moves]

    def _frames(self) -> list[tuple[str, int, str, int, tuple[Step, ...]]]:
        """Frames fixed to bodies, ``(kind, id, name, body, placement)``: every site, and every
        named geom (so that a geom is a tip: ant's feet are geoms, not sites)."""
        m, geom = self.m, self.mujoco.mjtObj.mjOBJ_GEOM
        sites = [
            ("site", s, self.site_names[s], int(m.site_bodyid[s]), (m.site_pos[s], m.site_quat[s]))
            for s in range(m.nsite)
        ]
        geoms = [
            ("geom", g, name, int(m.geom_bodyid[g]), (m.geom_pos[g], m.geom_quat[g]))
            for g in range(m.ngeom)
            if (name := self.mujoco.mj_id2name(m, geom, g))
        ]
        return [(kind, i, name, body, _placement(*at)) for kind, i, name, body, at in sites + geoms]

    def _inertial(self, body: int) -> Inertial:
        """The body's mass properties as MuJoCo compiled them (inferred from geoms where the file
        gives none): mass, centre of mass and principal axes, principal moments."""
        m = self.m
        ixx, iyy, izz = (float(v) for v in m.body_inertia[body])
        origin = _placement(m.body_ipos[body], m.body_iquat[body])
        return Inertial(float(m.body_mass[body]), origin, (ixx, 0.0, 0.0, iyy, 0.0, izz))

    def _subtree(self, root: int) -> list[int]:
        """``root`` and the bodies below it, in MuJoCo's order (which is depth first)."""
        inside = {root}
        for body in range(root + 1, self.m.nbody):
            if int(self.m.body_parentid[body]) in inside:
                inside.add(body)
        return [root] + [b for b in range(root + 1, self.m.nbody) if b in inside]

    def _body_joints(self, body: int, mimics: dict[int, Mimic]) -> tuple[list[str], list[Joint]]:
        """The joints that place ``body`` on its parent: a chain through intermediate links when the
        body has several joints, then a fixed joint back from the last joint's anchor."""
        m = self.m
        name, parent = self.body_names[body], self.body_names[int(m.body_parentid[body])]
        placement: tuple[Step, ...] = _placement(m.body_pos[body], m.body_quat[body])
        moving = [
            j
            for j in range(m.body_jntadr[body], m.body_jntadr[body] + m.body_jntnum[body])
            if m.jnt_type[j] != _FREE
        ]
        if m.body_jntnum[body] and m.jnt_type[m.body_jntadr[body]] == _FREE:
            moving = []  # the free root body: its placement is the base pose
        links: list[str] = []
        joints: list[Joint] = []
        anchor_back: tuple[float, float, float] = (0.0, 0.0, 0.0)
        for k, j in enumerate(moving):
            anchor = (float(m.jnt_pos[j][0]), float(m.jnt_pos[j][1]), float(m.jnt_pos[j][2]))
            axis = _unit(m.jnt_axis[j])
            reference = float(m.qpos0[m.jnt_qposadr[j]])
            steps = list(placement) + [Translation(_sum(anchor_back, anchor))]
            # MuJoCo moves a joint by qpos − ref: the body is at its placement when q = ref.
            if m.jnt_type[j] == _HINGE and reference:
                half = -reference / 2
                x, y, z = (a * math.sin(half) for a in axis)
                steps.append(Quaternion((math.cos(half), x, y, z)))
            elif m.jnt_type[j] == _SLIDE and reference:
                x, y, z = (-reference * a for a in axis)
                steps.append(Translation((x, y, z)))
            child = (
                name
                if k == len(moving) - 1 and not any(anchor)
                else self._fresh("link", f"{name}/{self.joint_names[j]}")
            )
            if child != name:
                links.append(child)
            limited = bool(m.jnt_limited[j])
            lower, upper = (
                (float(m.jnt_range[j][0]), float(m.jnt_range[j][1]))
                if limited
                else (-math.inf, math.inf)
            )
            kind: JointType = "revolute" if limited else "continuous"
            if m.jnt_type[j] == _SLIDE:
                kind = "prismatic"
            elif m.jnt_type[j] == _BALL:
                # A ball's range bounds its rotation angle, a constraint on the quaternion as a
                # whole, not on any entry of q.
                kind, lower, upper = "ball", -math.inf, math.inf
            joints.append(
                Joint(
                    self.joint_names[j],
                    kind,
                    parent,
                    child,
                    _clean(steps),
                    axis,
                    lower,
                    upper,
                    mimics.get(j),
                )
            )
            parent, placement = child, ()
            anchor_back = (-anchor[0], -anchor[1], -anchor[2])
        if not moving:
            joints.append(
                Joint(self._fresh("joint", f"{name}/placement"), "fixed", parent, name, placement)
            )
        elif parent != name:
            anchor_joint = self._fresh("joint", f"{name}/anchor")
            joints.append(
                Joint(anchor_joint, "fixed", parent, name, _clean([Translation(anchor_back)]))
            )
        return links, joints

    def _couplings(self) -> dict[int, Mimic]:
        """Joint equalities as mimic relations (when asked and linear); a note for every other
        equality."""
        m = self.m
        mimics: dict[int, Mimic] = {}
        for e in range(m.neq):
            kind = int(m.eq_type[e])
            name = (
                self.mujoco.mj_id2name(m, self.mujoco.mjtObj.mjOBJ_EQUALITY, e) or f"equality {e}"
            )
            if kind != _EQ_JOINT:
                self.notes(
                    f"{_EQ_NAMES.get(kind, 'an')} equality {name!r} is not kinematics: left out"
                )
                continue
            first, second = int(m.eq_obj1id[e]), int(m.eq_obj2id[e])
            coefficients = [float(v) for v in m.eq_data[e][:5]]
            if not self.couple_joints:
                self.notes(
                    f"joint equality {name!r} left out: every joint is in q (coupling joints "
                    "makes linear ones mimic joints)"
                )
                continue
            if second < 0 or any(coefficients[2:]):
                self.notes(
                    f"joint equality {name!r} is not a linear coupling of two joints: left out"
                )
                continue
            # q1 − ref1 = a0 + a1·(q2 − ref2), in qpos terms q1 = a1·q2 + (a0 + ref1 − a1·ref2).
            ref1 = float(m.qpos0[m.jnt_qposadr[first]])
            ref2 = float(m.qpos0[m.jnt_qposadr[second]])
            a0, a1 = coefficients[0], coefficients[1]
            mimics[first] = Mimic(self.joint_names[second], a1, a0 + ref1 - a1 * ref2)
        return mimics


_GEOM = {"sphere": 2, "capsule": 3, "ellipsoid": 4, "cylinder": 5, "box": 6, "mesh": 7}
"""MuJoCo's geom types (mjtGeom) that bound a solid."""


def _model_name(model, default: str) -> str:
    """The ``<mujoco model="…">`` name (first in MuJoCo's table of names), or the file's stem."""
    names = bytes(model.names)
    return names[: names.find(b"\0")].decode("utf-8", "replace") or default


def _placement(position, quaternion) -> tuple[Step, ...]:
    x, y, z = (float(v) for v in position)
    w, qx, qy, qz = (float(v) for v in quaternion)
    return _clean([Translation((x, y, z)), Quaternion((w, qx, qy, qz))])


def _clean(steps: list[Step]) -> tuple[Step, ...]:
    """The steps with consecutive translations added up and identity steps dropped."""
    merged: list[Step] = []
    for step in steps:
        if isinstance(step, Translation) and merged and isinstance(merged[-1], Translation):
            merged[-1] = Translation(_sum(merged[-1].xyz, step.xyz))
        else:
            merged.append(step)
    return without_identity_steps(merged)


def _unit(vector) -> tuple[float, float, float]:
    norm = math.sqrt(sum(float(v) ** 2 for v in vector))
    x, y, z = (float(v) / norm for v in vector)
    return (x, y, z)


def _sum(a, b) -> tuple[float, float, float]:
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2])
