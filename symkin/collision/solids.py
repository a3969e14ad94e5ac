"""Solids as the sphere fitting sees them: a signed distance and samples of the surface.

Every solid is in its shape's own frame (:mod:`symkin.model.geometry`), in metres. Its
``signed_distance`` is negative inside and never above the true distance to the surface (exact
for spheres, boxes, cylinders and capsules; a bound from below for ellipsoids and meshes), which is
all the fitting needs; its ``surface(spacing)`` puts every point of the surface within ``spacing``
of a sample. Meshes are closed triangle meshes whose inside is told by rays crossing them.
A :class:`Union` places several solids in one frame (a link's).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from symkin.model.geometry import Box, Capsule, ConvexMesh, Cylinder, Ellipsoid, Shape, Sphere

_CHUNK = 1 << 18
"""Point–triangle pairs handled at once."""

_MESH_SPACING = 2e-3
"""How far apart the samples are that a mesh's distance is measured to, metres."""


@dataclass(frozen=True)
class Solid:
    """A primitive shape, or a triangle mesh (``vertices`` (V, 3), ``triangles`` (T, 3))."""

    shape: Shape | None = None
    vertices: np.ndarray | None = None
    triangles: np.ndarray | None = None

    def mesh(self) -> tuple[np.ndarray, np.ndarray]:
        """A mesh solid's vertices and triangles."""
        assert self.vertices is not None and self.triangles is not None
        return self.vertices, self.triangles

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """The corners (lower, upper) of a box that holds the solid."""
        shape = self.shape
        if shape is None:
            vertices = self.mesh()[0]
            return vertices.min(0), vertices.max(0)
        if isinstance(shape, Sphere):
            half = np.full(3, shape.radius)
        elif isinstance(shape, Box):
            half = np.array(shape.half_extents)
        elif isinstance(shape, Cylinder):
            half = np.array([shape.radius, shape.radius, shape.length / 2])
        elif isinstance(shape, Capsule):
            half = np.array([shape.radius, shape.radius, shape.length / 2 + shape.radius])
        else:
            assert isinstance(shape, Ellipsoid)
            half = np.array(shape.radii)
        return -half, half

    def signed_distance(self, points: np.ndarray) -> np.ndarray:
        """(N,) signed distances of ``points`` (N, 3) to the surface; an ellipsoid's are bounds
        from below of the depth inside and of the distance outside."""
        shape = self.shape
        if shape is None:
            return _mesh_signed_distance(points, *self.mesh())
        if isinstance(shape, Sphere):
            return np.linalg.norm(points, axis=1) - shape.radius
        if isinstance(shape, Box):
            return _box_distance(points, np.array(shape.half_extents))
        if isinstance(shape, Cylinder):
            radial = np.linalg.norm(points[:, :2], axis=1) - shape.radius
            along = np.abs(points[:, 2]) - shape.length / 2
            return _excess_distance(np.stack([radial, along], 1))
        if isinstance(shape, Capsule):
            half = shape.length / 2
            nearest = np.stack([0 * points[:, 0], 0 * points[:, 0], points[:, 2].clip(-half, half)])
            return np.linalg.norm(points - nearest.T, axis=1) - shape.radius
        assert isinstance(shape, Ellipsoid)
        radii = np.array(shape.radii)
        scaled = np.linalg.norm(points / radii, axis=1)
        # |p/r| changes by at most 1/min(r) per metre: the surface, where it is 1, is at least
        # |1 − |p/r||·min(r) away.
        return (scaled - 1) * radii.min()

    def outside_distance(self, points: np.ndarray) -> np.ndarray:
        """(N,) how far each point is outside the solid (0 inside), a bound from above."""
        shape = self.shape
        if shape is None:
            _, inside = _mesh_nearest_and_inside(points, *self.mesh())
            return np.where(inside, 0, exact_mesh_distance(points, *self.mesh()))
        if isinstance(shape, Ellipsoid):
            from scipy.spatial import cKDTree

            # The distance to the nearest of points on the surface.
            outside = self.signed_distance(points) > 0
            nearest = cKDTree(self.surface(_MESH_SPACING)).query(points)[0]
            return np.where(outside, nearest, 0.0)
        return np.maximum(self.signed_distance(points), 0)

    def outside_bounds(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N,) bounds from below and from above of :meth:`outside_distance`, cheaply: apart for a
        mesh (the nearest of its samples, and that less their spacing) and an ellipsoid, the
        distance itself twice."""
        if self.shape is None:
            nearest, inside = _mesh_nearest_and_inside(points, *self.mesh())
            lower = np.where(inside, 0.0, np.maximum(nearest - _MESH_SPACING, 0.0))
            return lower, np.where(inside, 0.0, nearest)
        if isinstance(self.shape, Ellipsoid):
            return np.maximum(self.signed_distance(points), 0), self.outside_distance(points)
        distance = self.outside_distance(points)
        return distance, distance

    def surface(self, spacing: float) -> np.ndarray:
        """(N, 3) points on the surface, every point of it within ``spacing`` of one."""
        shape = self.shape
        if shape is None:
            return _triangle_samples(*self.mesh(), spacing)
        if isinstance(shape, Sphere):
            return _ellipsoid_samples(np.full(3, shape.radius), spacing)
        if isinstance(shape, Ellipsoid):
            return _ellipsoid_samples(np.array(shape.radii), spacing)
        if isinstance(shape, Box):
            return _box_samples(np.array(shape.half_extents), spacing)
        if isinstance(shape, Cylinder):
            half = shape.length / 2
            side = _tube_samples(shape.radius, half, spacing)
            caps = [_disc_samples(shape.radius, z, spacing) for z in (-half, half)]
            return np.concatenate([side, *caps])
        assert isinstance(shape, Capsule)
        half = shape.length / 2
        ball = _ellipsoid_samples(np.full(3, shape.radius), spacing)
        ends = [ball[ball[:, 2] <= 0] - [0, 0, half], ball[ball[:, 2] >= 0] + [0, 0, half]]
        return np.concatenate([_tube_samples(shape.radius, half, spacing), *ends])


def convex_hull(vertices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The convex hull of (V, 3) points as (vertices, triangles), triangles facing outward."""
    from scipy.spatial import ConvexHull

    hull = ConvexHull(vertices)
    triangles = hull.simplices.copy()
    a, b, c = (vertices[triangles[:, k]] for k in range(3))
    outward = np.einsum("ij,ij->i", np.cross(b - a, c - a), hull.equations[:, :3]) > 0
    triangles[~outward] = triangles[~outward][:, ::-1]
    return vertices, triangles


def solid(shape: Shape, mesh: tuple[np.ndarray, np.ndarray] | None = None) -> Solid:
    """The solid of ``shape``; a mesh file's as ``mesh`` (vertices, triangles), already read and
    scaled."""
    if isinstance(shape, ConvexMesh):
        return Solid(None, *convex_hull(np.array(shape.vertices, dtype=float)))
    if mesh is not None:
        return Solid(None, *mesh)
    return Solid(shape)


def _box_distance(points: np.ndarray, half: np.ndarray) -> np.ndarray:
    """Signed distance to the box of half extents ``half``."""
    return _excess_distance(np.abs(points) - half)


def _excess_distance(excess: np.ndarray) -> np.ndarray:
    """Signed distance to the set where every coordinate of ``excess`` (N, D), a distance to a
    face beyond it, is at most 0."""
    outside = np.linalg.norm(np.maximum(excess, 0), axis=1)
    return outside + np.minimum(excess.max(1), 0)


def _steps(length: float, spacing: float) -> np.ndarray:
    """Points from 0 to ``length``, both ends included, at most ``spacing`` apart."""
    return np.linspace(0, length, max(2, math.ceil(length / spacing) + 1))


def _box_samples(half: np.ndarray, spacing: float) -> np.ndarray:
    faces = []
    for axis in range(3):
        u, v = (k for k in range(3) if k != axis)
        grid_u, grid_v = np.meshgrid(
            _steps(2 * half[u], spacing) - half[u], _steps(2 * half[v], spacing) - half[v]
        )
        for sign in (-1, 1):
            face = np.zeros((grid_u.size, 3))
            face[:, u], face[:, v], face[:, axis] = (
                grid_u.ravel(),
                grid_v.ravel(),
                sign * half[axis],
            )
            faces.append(face)
    return np.concatenate(faces)


def _circle(radius: float, spacing: float) -> np.ndarray:
    """Angles around a circle of ``radius``, arcs at most ``spacing`` long."""
    count = max(3, math.ceil(2 * math.pi * radius / spacing))
    return np.arange(count) * (2 * math.pi / count)


def _tube_samples(radius: float, half: float, spacing: float) -> np.ndarray:
    angle, z = np.meshgrid(_circle(radius, spacing), _steps(2 * half, spacing) - half)
    return np.stack([radius * np.cos(angle), radius * np.sin(angle), z], -1).reshape(-1, 3)


def _disc_samples(radius: float, z: float, spacing: float) -> np.ndarray:
    rings = [np.array([[0.0, 0.0, z]])]
    for ring in _steps(radius, spacing)[1:]:
        angle = _circle(ring, spacing)
        rings.append(np.stack([ring * np.cos(angle), ring * np.sin(angle), 0 * angle + z], -1))
    return np.concatenate(rings)


def _ellipsoid_samples(radii: np.ndarray, spacing: float) -> np.ndarray:
    """Latitude rings of the ellipsoid, arcs measured on the sphere of its largest radius (which
    bounds its arcs)."""
    largest = radii.max()
    rings = []
    for polar in np.linspace(0, math.pi, max(3, math.ceil(math.pi * largest / spacing) + 1)):
        angle = _circle(largest * math.sin(polar), spacing) if 0 < polar < math.pi else np.zeros(1)
        ring = np.stack(
            [
                math.sin(polar) * np.cos(angle),
                math.sin(polar) * np.sin(angle),
                0 * angle + math.cos(polar),
            ],
            -1,
        )
        rings.append(ring * radii)
    return np.concatenate(rings)


def _triangle_samples(vertices: np.ndarray, triangles: np.ndarray, spacing: float) -> np.ndarray:
    """Points on each triangle: its corners, its edges every ``spacing/2``, and a grid ``spacing/2``
    apart in its plane (every point of a triangle is then within ``spacing`` of one). Triangle by
    triangle, its edges (ab, bc, ca) then its grid; a thousand triangles at a time."""
    on_triangles = [
        _samples_on(vertices[triangles[start : start + 1024]], spacing / 2)
        for start in range(0, len(triangles), 1024)
    ]
    return np.concatenate([vertices[np.unique(triangles)], *on_triangles])


def _samples_on(corners: np.ndarray, step: float) -> np.ndarray:
    """The edges' and grids' points ``step`` apart on triangles (T, 3, 3), as _triangle_samples."""
    a, b, c = corners[:, 0], corners[:, 1], corners[:, 2]
    starts = np.stack([a, b, c], 1).reshape(-1, 3)  # every edge, triangle by triangle
    moves = np.stack([b - a, c - b, a - c], 1).reshape(-1, 3)
    # An edge's inner points, as _steps(1, step/length) puts them: k/(n − 1) of the way along,
    # for 0 < k < n − 1.
    lengths = np.maximum(np.sqrt((moves**2).sum(1)), 1e-300)
    inner = np.maximum(2, np.ceil(1.0 / (step / lengths)) + 1).astype(int) - 2
    edge = np.repeat(np.arange(len(inner)), inner)
    along = (_ranks(inner) + 1) * (1.0 / (inner[edge] + 1))
    edge_points = starts[edge] + along[:, None] * moves[edge]
    grid_points, grid_triangle = _triangle_grids(a, b, c, step)
    # Triangle by triangle: its edges' points, then its grid's (a stable sort keeps each in order).
    order = np.argsort(np.concatenate([edge // 3, grid_triangle]), kind="stable")
    return np.concatenate([edge_points, grid_points])[order]


def _ranks(counts: np.ndarray) -> np.ndarray:
    """0, 1, …, counts[0] − 1, 0, 1, …, counts[1] − 1, …: each repeated item's place in its run."""
    total = int(counts.sum())
    return np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)


def _triangle_grids(
    a: np.ndarray, b: np.ndarray, c: np.ndarray, step: float
) -> tuple[np.ndarray, np.ndarray]:
    """The points of a grid ``step`` apart in each triangle's plane that lie in it (axes u along
    ab, v across; cells centred), row by row, and the triangle of each."""
    u = b - a
    normal = np.cross(u, c - a)
    flat = np.asarray((normal == 0).all(1))  # degenerate: its edges only
    u = u / np.where(flat, 1.0, np.sqrt((u**2).sum(1)))[:, None]
    unit_normal = normal / np.where(flat, 1.0, np.sqrt((normal**2).sum(1)))[:, None]
    v = np.cross(unit_normal, u)
    # The corners in (u, v): (0, 0), ((b − a)·u, 0), ((c − a)·u, (c − a)·v).
    zero = np.zeros(len(a))
    corners = np.stack(
        [
            np.stack([zero, zero], 1),
            np.stack([((b - a) * u).sum(1), zero], 1),
            np.stack([((c - a) * u).sum(1), ((c - a) * v).sum(1)], 1),
        ],
        1,
    )
    low, high = corners.min(1), corners.max(1)
    # np.arange's counts and values: ceil((high − low)/step) of them, low + i·((low + step) − low).
    counts = np.where(flat[:, None], 0, np.ceil((high - low) / step)).astype(int)
    delta = (low + step) - low
    per_triangle = counts[:, 0] * counts[:, 1]
    triangle = np.repeat(np.arange(len(a)), per_triangle)
    row, column = np.divmod(_ranks(per_triangle), np.maximum(counts[triangle, 0], 1))
    grid_u = low[triangle, 0] + column * delta[triangle, 0] + step / 2
    grid_v = low[triangle, 1] + row * delta[triangle, 1] + step / 2
    inside = np.ones(len(triangle), dtype=bool)
    for k in range(3):
        p, q = corners[triangle, k], corners[triangle, (k + 1) % 3]
        turn = (q[:, 0] - p[:, 0]) * (grid_v - p[:, 1]) - (q[:, 1] - p[:, 1]) * (grid_u - p[:, 0])
        inside &= turn >= 0
    triangle, grid_u, grid_v = triangle[inside], grid_u[inside], grid_v[inside]
    points = a[triangle] + grid_u[:, None] * u[triangle] + grid_v[:, None] * v[triangle]
    return points, triangle


def _mesh_signed_distance(
    points: np.ndarray, vertices: np.ndarray, triangles: np.ndarray
) -> np.ndarray:
    """A bound from below of the distance to the surface, negative inside: the distance to the
    nearest of samples spread every ``_MESH_SPACING`` over it, less that spacing (see
    :func:`_mesh_nearest_and_inside`)."""
    nearest, inside = _mesh_nearest_and_inside(points, vertices, triangles)
    distance = np.maximum(nearest - _MESH_SPACING, 0.0)
    return np.where(inside, -distance, distance)


def _mesh_nearest_and_inside(
    points: np.ndarray, vertices: np.ndarray, triangles: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(N,) the distance to the nearest of samples spread every ``_MESH_SPACING`` over the mesh
    (the distance to the surface is at most that, and at least that less the spacing), and
    whether each point is inside: where a majority of rays along +x, +y, +z crosses the surface an
    odd number of times."""
    nearest = _sample_tree(vertices, triangles).query(points)[0]
    corners = vertices[triangles]
    votes = np.sum([_odd_crossings(points, corners, axis) for axis in range(3)], 0)
    return nearest, votes >= 2


@lru_cache(maxsize=8)
def _cached_tree(vertices: bytes, triangles: bytes) -> Any:
    from scipy.spatial import cKDTree

    points = np.frombuffer(vertices).reshape(-1, 3)
    indices = np.frombuffer(triangles, dtype=np.int64).reshape(-1, 3)
    return cKDTree(_triangle_samples(points, indices, _MESH_SPACING))


def _sample_tree(vertices: np.ndarray, triangles: np.ndarray) -> Any:
    """A k-d tree of samples every ``_MESH_SPACING`` over the mesh, made once per mesh."""
    return _cached_tree(
        np.ascontiguousarray(vertices, dtype=float).tobytes(),
        np.ascontiguousarray(triangles, dtype=np.int64).tobytes(),
    )


def _odd_crossings(points: np.ndarray, corners: np.ndarray, axis: int) -> np.ndarray:
    """Whether the ray from each point along +``axis`` crosses the triangles an odd number of
    times; the points on one line share the line's crossings."""
    u, v = (k for k in range(3) if k != axis)
    lines, line_of = np.unique(points[:, [u, v]], axis=0, return_inverse=True)
    line_of = line_of.ravel()
    hit_lines, hit_heights = [], []
    for line_indices, triangle_indices in _tiles(lines, corners[..., [u, v]]):
        line, triangle, height = _line_hits(
            lines[line_indices], corners[triangle_indices], axis, u, v
        )
        hit_lines.append(line_indices[line])
        hit_heights.append(height)
    line = np.concatenate(hit_lines)
    height = np.concatenate(hit_heights)
    # Crossings above each point: one sorted key per crossing and per point, its line then its
    # height squeezed into [0.25, 0.75] (points beyond the mesh clipped to just outside it).
    low, high = corners[..., axis].min(), corners[..., axis].max()
    span = max(high - low, 1e-12)

    def key(line: np.ndarray, height: np.ndarray) -> np.ndarray:
        return line + 0.25 + 0.5 * ((height - low) / span).clip(-0.1, 1.1)

    crossings = np.sort(key(line, height))
    ends = np.searchsorted(crossings, line_of + 1.0)
    above = ends - np.searchsorted(crossings, key(line_of, points[:, axis]), side="right")
    return above % 2 == 1


def _tiles(
    lines: np.ndarray, projected: np.ndarray, per_tile: int = 256
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The lines (L, 2) in tiles of a grid over them, about ``per_tile`` a tile, each with the
    triangles whose projections (T, 3, 2) reach into it: a line meets no other triangle (its
    point lies outside that triangle's bounding box), so a tile tests only its own pairs."""
    if not len(lines):
        return [(np.arange(0), np.arange(len(projected)))]
    side = max(1, math.ceil(math.sqrt(len(lines) / per_tile)))
    low, high = lines.min(0), lines.max(0)
    size = np.maximum((high - low) / side, 1e-300)
    cell = np.minimum(((lines - low) / size).astype(int), side - 1)
    tile_of = cell[:, 0] * side + cell[:, 1]
    # Each triangle's projected bounding box, in tiles (clipped to the grid; inclusive).
    first = np.floor((projected.min(1) - low) / size).clip(0, side - 1).astype(int)
    last = np.floor((projected.max(1) - low) / size).clip(0, side - 1).astype(int)
    beyond = (projected.max(1) < low).any(1) | (projected.min(1) > high).any(1)
    order = np.argsort(tile_of, kind="stable")
    starts = np.searchsorted(tile_of[order], np.arange(side * side + 1))
    tiles = []
    for tile in np.flatnonzero(np.diff(starts)):
        row, column = divmod(int(tile), side)
        reaching = (
            ~beyond
            & (first[:, 0] <= row)
            & (last[:, 0] >= row)
            & (first[:, 1] <= column)
            & (last[:, 1] >= column)
        )
        tiles.append((order[starts[tile] : starts[tile + 1]], np.flatnonzero(reaching)))
    return tiles


def _line_hits(
    lines: np.ndarray, corners: np.ndarray, axis: int, u: int, v: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where lines (L, 2) along ``axis`` through (u, v) cross triangles (T, 3, 3): the line and
    triangle of each crossing and its height along the axis."""
    hit_lines, hit_triangles, hit_heights = [], [], []
    step = max(1, _CHUNK // max(1, len(corners)))
    a, b, c = (corners[:, k] for k in range(3))
    e1u, e1v, e2u, e2v = (
        b[:, u] - a[:, u],
        b[:, v] - a[:, v],
        c[:, u] - a[:, u],
        c[:, v] - a[:, v],
    )
    det = e1u * e2v - e2u * e1v
    safe = np.where(det == 0, 1.0, det)
    for start in range(0, len(lines), step):
        chunk = lines[start : start + step]
        # Barycentric coordinates of each line's foot in each triangle's projection.
        du, dv = chunk[:, None, 0] - a[None, :, u], chunk[:, None, 1] - a[None, :, v]
        s = (du * e2v - e2u * dv) / safe
        t = (e1u * dv - du * e1v) / safe
        hit = (det != 0) & (s >= 0) & (t >= 0) & (s + t < 1)
        line, triangle = np.nonzero(hit)
        height = a[triangle, axis] + s[line, triangle] * (b[triangle, axis] - a[triangle, axis])
        height += t[line, triangle] * (c[triangle, axis] - a[triangle, axis])
        hit_lines.append(line + start)
        hit_triangles.append(triangle)
        hit_heights.append(height)
    if not hit_lines:
        empty = np.zeros(0, dtype=int)
        return empty, empty, np.zeros(0)
    return np.concatenate(hit_lines), np.concatenate(hit_triangles), np.concatenate(hit_heights)


def exact_mesh_distance(
    points: np.ndarray, vertices: np.ndarray, triangles: np.ndarray
) -> np.ndarray:
    """(N,) distances from points (N, 3) to the nearest triangle."""
    corners = vertices[triangles]
    step = max(1, _CHUNK // max(1, len(triangles)))
    return np.concatenate(
        [
            np.sqrt(_triangle_distance_squared(points[k : k + step], corners).min(1))
            for k in range(0, len(points), step)
        ]
    )


def _triangle_distance_squared(points: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """(N, T) squared distances from points (N, 3) to triangles (T, 3, 3): the distance to the
    triangle's plane where the projection falls inside it, else to the nearest edge."""
    a, b, c = corners[:, 0], corners[:, 1], corners[:, 2]
    normal = np.cross(b - a, c - a)
    area2 = np.einsum("td,td->t", normal, normal)
    unit = normal / np.sqrt(np.maximum(area2, 1e-300))[:, None]
    relative = points[:, None, :] - a[None]
    height = np.einsum("ntd,td->nt", relative, unit)
    projected = points[:, None, :] - height[..., None] * unit[None]
    inside = np.ones(height.shape, dtype=bool)
    for p, q in ((a, b), (b, c), (c, a)):
        turn = np.cross(q - p, projected - p[None])
        inside &= np.einsum("ntd,td->nt", turn, normal) >= 0
    edges = np.minimum.reduce(
        [_segment_distance_squared(points, p, q) for p, q in ((a, b), (b, c), (c, a))]
    )
    return np.where(inside & (area2 > 0), height**2, edges)


def _segment_distance_squared(points: np.ndarray, p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """(N, T) squared distances from points (N, 3) to segments p → q (T, 3)."""
    direction = q - p
    length2 = np.maximum(np.einsum("td,td->t", direction, direction), 1e-300)
    relative = points[:, None, :] - p[None]
    along = (np.einsum("ntd,td->nt", relative, direction) / length2).clip(0, 1)
    gap = relative - along[..., None] * direction[None]
    return np.einsum("ntd,ntd->nt", gap, gap)


@dataclass(frozen=True)
class Union:
    """Solids placed in one frame (a link's): ``parts`` of (solid, rotation (3, 3), translation
    (3,)), a point x of the frame being ``rotation · x_part + translation``."""

    parts: tuple[tuple[Solid, np.ndarray, np.ndarray], ...]

    def _local(self, points: np.ndarray, part: int) -> np.ndarray:
        _, rotation, translation = self.parts[part]
        return (points - translation) @ rotation

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        corners = []
        for body, rotation, translation in self.parts:
            low, high = body.bounds()
            box = np.array(
                [
                    [x, y, z]
                    for x in (low[0], high[0])
                    for y in (low[1], high[1])
                    for z in (low[2], high[2])
                ]
            )
            corners.append(box @ rotation.T + translation)
        every = np.concatenate(corners)
        return every.min(0), every.max(0)

    def signed_distance(self, points: np.ndarray) -> np.ndarray:
        """The least of the parts' (outside: exact; inside: a bound from below of the depth)."""
        return np.min(
            [
                body.signed_distance(self._local(points, k))
                for k, (body, _, _) in enumerate(self.parts)
            ],
            0,
        )

    def outside_distance(self, points: np.ndarray) -> np.ndarray:
        return np.min(
            [
                body.outside_distance(self._local(points, k))
                for k, (body, _, _) in enumerate(self.parts)
            ],
            0,
        )

    def outside_bounds(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Bounds of :meth:`outside_distance` (see :meth:`Solid.outside_bounds`): a point's
        distance to the union is its least to a part."""
        bounds = [
            body.outside_bounds(self._local(points, k)) for k, (body, _, _) in enumerate(self.parts)
        ]
        return np.min([lower for lower, _ in bounds], 0), np.min([upper for _, upper in bounds], 0)

    def surface(self, spacing: float, margin: float) -> np.ndarray:
        """Samples of the union's surface, every point of it within ``spacing`` of one: the parts'
        samples less those deeper than ``margin`` in another part."""
        kept = []
        for k, (body, rotation, translation) in enumerate(self.parts):
            samples = body.surface(spacing) @ rotation.T + translation
            for other, (solid_other, _, _) in enumerate(self.parts):
                if other != k and len(samples):
                    depth = -solid_other.signed_distance(self._local(samples, other))
                    samples = samples[depth < margin]
            kept.append(samples)
        return np.concatenate(kept)
