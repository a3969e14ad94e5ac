"""Collision geometry compiled with the kinematics: links covered with spheres, and the pairs of
links checked for self-collision.

:func:`collision_output` reads a model's collision geometry, covers each piece with spheres
(:mod:`symkin.collision.fit`; a sphere is itself), chooses the pairs
(:mod:`symkin.collision.pairs`), and returns the output the compiler needs with a report of what
it did (``symkin info --collision`` prints it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from symkin.collision.pairs import SAMPLES, PairRules, pair_rules, read_srdf
from symkin.compiler.outputs import CollisionSpheres
from symkin.errors import SymkinError
from symkin.model.geometry import CollisionGeometry, MeshFile, Sphere, check_shape
from symkin.model.placement import transform
from symkin.model.robot import RobotModel

DEFAULT_TOLERANCE = 0.02
"""How far (metres) a sphere may reach outside the geometry it covers, unless told otherwise."""


@dataclass(frozen=True)
class Covering:
    """How one piece of collision geometry was covered: its link, what it is, how many spheres,
    and the largest distance outside it measured on their surfaces (metres)."""

    link: str
    geometry: str
    spheres: int
    protrusion: float


@dataclass(frozen=True)
class CollisionReport:
    tolerance: float
    coverings: tuple[Covering, ...]
    rules: PairRules
    samples: int


def collision_output(
    model: RobotModel,
    tolerance: float = DEFAULT_TOLERANCE,
    srdf: Path | None = None,
    urdf_folder: Path | None = None,
    package_dirs: Sequence[Path] = (),
    samples: int = SAMPLES,
    progress: Callable[[str], None] | None = None,
) -> tuple[CollisionSpheres, CollisionReport]:
    """The collision spheres of ``model`` and the pairs to check, with a report.

    Args:
        tolerance: how far a sphere may reach outside the geometry, metres.
        srdf: an SRDF file whose ``<disable_collisions>`` pairs are not checked.
        urdf_folder, package_dirs: where mesh files are looked for (see
            :func:`~symkin.collision.meshes.mesh_candidates`).
        samples: configurations sampled to find the pairs in collision everywhere.
        progress: told about each link once covered (fitting meshes takes seconds a link).

    SymkinError naming the link for unreadable geometry or a missing mesh file, and when the
    robot has no collision geometry.
    """
    if not (tolerance > 0 and np.isfinite(tolerance)):
        raise SymkinError(
            f"the sphere tolerance must be a positive number of metres, not {tolerance}"
        )
    if not model.collisions:
        raise SymkinError(f"robot {model.name!r} has no collision geometry")
    spheres: list[tuple[str, tuple[float, float, float], float]] = []
    coverings = []
    for link in dict.fromkeys(geometry.link for geometry in model.collisions):
        pieces = [geometry for geometry in model.collisions if geometry.link == link]
        for geometry in pieces:
            check_shape(geometry)
        centres, radii, protrusion = _cover(pieces, tolerance, urdf_folder, package_dirs)
        for centre, radius in zip(centres, radii, strict=True):
            x, y, z = (float(v) for v in centre)
            spheres.append((link, (x, y, z), float(radius)))
        what = "; ".join(_describe(geometry) for geometry in pieces)
        coverings.append(Covering(link, what, len(radii), protrusion))
        if progress is not None:
            progress(f"covered {link!r} with {len(radii)} sphere{'' if len(radii) == 1 else 's'}")
    # Spheres grouped by link, in the order links are declared.
    order = {link: k for k, link in enumerate(model.links)}
    spheres.sort(key=lambda sphere: order[sphere[0]])
    disabled = read_srdf(srdf) if srdf is not None else {}
    rules = pair_rules(model, spheres, disabled, samples)
    output = CollisionSpheres(tuple(spheres), rules.checked)
    return output, CollisionReport(tolerance, tuple(coverings), rules, samples)


def _cover(
    pieces: list[CollisionGeometry],
    tolerance: float,
    urdf_folder: Path | None,
    package_dirs: Sequence[Path],
) -> tuple[np.ndarray, np.ndarray, float]:
    """Spheres (centres in the link's frame, radii) covering a link's pieces together, and their
    measured protrusion; a piece that is a sphere is one of them."""
    from symkin.collision.fit import fit_spheres, protrusion
    from symkin.collision.meshes import read_mesh
    from symkin.collision.solids import Union, solid

    parts, given_centres, given_radii = [], [], []
    for geometry in pieces:
        rotation, translation = (np.array(x, dtype=float) for x in transform(geometry.origin))
        mesh = (
            read_mesh(geometry, urdf_folder, package_dirs)
            if isinstance(geometry.shape, MeshFile)
            else None
        )
        parts.append((solid(geometry.shape, mesh), rotation, translation))
        if isinstance(geometry.shape, Sphere):
            given_centres.append(translation)
            given_radii.append(geometry.shape.radius)
    union = Union(tuple(parts))
    given = (np.array(given_centres).reshape(-1, 3), np.array(given_radii))
    if len(given_radii) == len(parts):
        return given[0], given[1], 0.0  # spheres only: exact
    centres, radii = fit_spheres(union, tolerance, given)
    return centres, radii, protrusion(union, centres, radii)


def _describe(geometry: CollisionGeometry) -> str:
    shape = geometry.shape
    if isinstance(shape, MeshFile):
        return f"mesh {shape.filename}"
    fields = ", ".join(
        f"{name}={value:.4g}"
        if isinstance(value, float)
        else f"{name}=({', '.join(f'{v:.4g}' for v in value)})"
        for name, value in vars(shape).items()
        if name != "vertices"
    )
    what = type(shape).__name__.lower()
    return (
        f"{what}({fields})"
        if fields
        else f"{what} ({len(getattr(shape, 'vertices', ()))} vertices)"
    )


def describe_collision(report: CollisionReport) -> list[str]:
    """``symkin info --collision``: the coverings, then the pairs checked and excluded."""
    lines = [
        f"collision spheres (tolerance {report.tolerance:g} m; protrusion measured on the spheres):"
    ]
    for covering in report.coverings:
        plural = "" if covering.spheres == 1 else "s"
        lines.append(
            f"  {covering.link}: {covering.geometry}: {covering.spheres} sphere{plural}, "
            f"worst protrusion {covering.protrusion * 1000:.1f} mm"
        )
    total = sum(c.spheres for c in report.coverings)
    lines.append(f"  {total} spheres in all")
    lines.append(f"pairs checked ({len(report.rules.checked)}):")
    lines += [f"  {a} – {b}" for a, b in report.rules.checked]
    lines.append(
        f"pairs excluded ({len(report.rules.excluded)}; always: in collision at all "
        f"{report.samples} sampled configurations):"
    )
    lines += [f"  {a} – {b}: {reason}" for a, b, reason in report.rules.excluded]
    return lines
