"""Collision geometry: the solid shapes fixed to links, as the input files state them.

Every shape is in its own frame, centred at the origin, in metres: a cylinder or a capsule along
its z axis. A :class:`CollisionGeometry` places one shape on a link. Mesh files are kept by the
name the file gives; :mod:`symkin.collision.meshes` finds and reads them when spheres are fitted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from symkin.errors import SymkinError
from symkin.model.placement import Step


@dataclass(frozen=True)
class Sphere:
    radius: float


@dataclass(frozen=True)
class Box:
    """A box of half side lengths ``half_extents`` along x, y, z."""

    half_extents: tuple[float, float, float]


@dataclass(frozen=True)
class Cylinder:
    """A solid cylinder along z, ``length`` long (from −length/2 to length/2)."""

    radius: float
    length: float


@dataclass(frozen=True)
class Capsule:
    """The points within ``radius`` of the segment along z from −length/2 to length/2."""

    radius: float
    length: float


@dataclass(frozen=True)
class Ellipsoid:
    radii: tuple[float, float, float]


@dataclass(frozen=True)
class MeshFile:
    """A mesh file as the URDF names it (``package://…``, a relative or absolute path), scaled
    per axis."""

    filename: str
    scale: tuple[float, float, float] = (1.0, 1.0, 1.0)


@dataclass(frozen=True)
class ConvexMesh:
    """The convex hull of ``vertices`` (metres), as MuJoCo collides a mesh geom."""

    vertices: tuple[tuple[float, float, float], ...]


@dataclass(frozen=True)
class Unreadable:
    """A shape the file states in a way that cannot be read; an error only when collision
    geometry is asked for, so that the file's kinematics still load."""

    problem: str


Shape = Sphere | Box | Cylinder | Capsule | Ellipsoid | MeshFile | ConvexMesh | Unreadable


@dataclass(frozen=True)
class CollisionGeometry:
    """A solid ``shape`` fixed to ``link`` at ``origin`` (steps from the link's frame to the
    shape's); ``name`` says where it came from in error messages and listings."""

    link: str
    origin: tuple[Step, ...]
    shape: Shape
    name: str


def check_shape(geometry: CollisionGeometry) -> None:
    """SymkinError naming the link when a size is negative, zero where it must not be, or not
    finite."""
    shape = geometry.shape
    if isinstance(shape, Unreadable):
        raise SymkinError(
            f"link {geometry.link!r}: collision geometry {geometry.name}: {shape.problem}"
        )
    sizes: tuple[float, ...]
    if isinstance(shape, Sphere):
        sizes = (shape.radius,)
    elif isinstance(shape, Box):
        sizes = shape.half_extents
    elif isinstance(shape, Cylinder | Capsule):
        # A length of zero is a disc, or a sphere.
        sizes = (shape.radius, shape.length + 1.0 if shape.length >= 0 else -1.0)
    elif isinstance(shape, Ellipsoid):
        sizes = shape.radii
    elif isinstance(shape, MeshFile):
        sizes = tuple(abs(s) for s in shape.scale)
    else:
        sizes = (1.0,) if shape.vertices else (0.0,)
    if not all(math.isfinite(size) and size > 0 for size in sizes):
        raise SymkinError(
            f"link {geometry.link!r}: collision geometry {geometry.name} has a size that is not "
            f"positive and finite: {shape}"
        )
