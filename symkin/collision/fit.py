"""Cover a solid with spheres, conservatively and tightly.

Every sphere is centred at a point c of the solid with radius depth(c) + tolerance, where depth(c)
is c's distance to the surface (a bound from below): the ball of radius depth(c) lies in the solid,
so no point of the sphere is more than the tolerance outside it. The spheres are chosen greedily
until every sample of the solid is covered with a margin that covers the points between samples:

- the surface, sampled every ``tolerance/8``, each sample covered with a margin
  ``3·tolerance/8``: every point of the solid within ``tolerance/4`` of the surface is then
  covered;
- the rest, by an octree of cells: a cell whose centre lies deeper than its half diagonal is
  inside the solid and its centre is covered with that margin; a cell that straddles the surface
  is split until its points all lie within ``tolerance/4`` of the surface.

Candidate centres are a grid inside the solid, ``tolerance/2`` apart, and the surface samples; the
greedy step takes the uncovered sample farthest from the solid's centre and, among the deepest
candidates that cover it, the one that covers the most uncovered samples. Everything is
deterministic.
"""

from __future__ import annotations

import math

import numpy as np

from symkin.collision.solids import Union

_CANDIDATES_PER_STEP = 128
"""How many of the candidates covering the chosen sample the greedy step compares."""


def fit_spheres(
    solid: Union, tolerance: float, given: tuple[np.ndarray, np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Spheres covering ``solid``, protruding at most ``tolerance`` (metres) from it: centres
    (K, 3) in the solid's frame and radii (K,). The ``given`` spheres (centres, radii; parts of the
    solid that are spheres) come first and are kept."""
    eighth = tolerance / 8
    surface = solid.surface(eighth, 3 * eighth)
    interior, half_diagonals = _octree(solid, 2 * eighth)
    grid, depths = _inner_grid(solid, 4 * eighth)
    given_centres, given_radii = given if given is not None else (np.zeros((0, 3)), np.zeros(0))
    centres = np.concatenate([given_centres, grid, surface])
    radii = np.concatenate([given_radii, depths + tolerance, np.full(len(surface), tolerance)])
    chosen = list(range(len(given_radii)))
    chosen = _greedy_cover(surface, np.full(len(surface), 3 * eighth), centres, radii, chosen)
    # The inside is mostly covered by then: cover what is left of it.
    chosen = _greedy_cover(interior, half_diagonals, centres, radii, chosen)
    return _without_contained(centres[chosen], radii[chosen], len(given_radii))


def _inner_grid(solid: Union, spacing: float) -> tuple[np.ndarray, np.ndarray]:
    """Points of a grid ``spacing`` apart, centred on the solid's bounds, inside it, and their
    depths."""
    lower, upper = solid.bounds()
    middle, half = (lower + upper) / 2, (upper - lower) / 2
    axes = [
        m + spacing * np.arange(-(h // spacing), h // spacing + 1)
        for m, h in zip(middle, half, strict=True)
    ]
    points = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)
    distance = solid.signed_distance(points)
    return points[distance < 0], -distance[distance < 0]


def _octree(solid: Union, finest: float) -> tuple[np.ndarray, np.ndarray]:
    """The centres of cells inside the solid and their half diagonals, refining the cells that
    straddle the surface until every point of them is within ``finest`` of it."""
    lower, upper = solid.bounds()
    size = float((upper - lower).max())
    counts = np.maximum(1, np.ceil((upper - lower) / size - 1e-9)).astype(int)
    axes = [lower[k] + size * (np.arange(counts[k]) + 0.5) for k in range(3)]
    cells = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)
    inside, halves = [], []
    offsets = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)]) / 4
    while len(cells):
        half_diagonal = size * math.sqrt(3) / 2
        distance = solid.signed_distance(cells)
        deep = distance <= -half_diagonal
        inside.append(cells[deep])
        halves.append(np.full(int(deep.sum()), half_diagonal))
        # A straddling cell's points are less than two half diagonals deep: once that is within
        # ``finest``, they are covered through the surface's samples.
        if 2 * half_diagonal <= finest:
            break
        straddling = np.abs(distance) < half_diagonal
        cells = (cells[straddling][:, None, :] + offsets[None] * size).reshape(-1, 3)
        size /= 2
    return np.concatenate(inside), np.concatenate(halves)


def _greedy_cover(
    samples: np.ndarray,
    margins: np.ndarray,
    centres: np.ndarray,
    radii: np.ndarray,
    chosen: list[int],
) -> list[int]:
    """``chosen`` and more indices of candidate spheres (centres, radii), so that they cover every
    sample with its margin: ‖sample − centre‖ + margin ≤ radius."""
    chosen = list(chosen)
    uncovered = np.ones(len(samples), dtype=bool)
    for k in chosen:
        uncovered &= np.linalg.norm(samples - centres[k], axis=1) + margins > radii[k] + 1e-12
    middle = (samples.min(0) + samples.max(0)) / 2 if len(samples) else np.zeros(3)
    remoteness = np.linalg.norm(samples - middle, axis=1)
    while uncovered.any():
        target = int(np.argmax(np.where(uncovered, remoteness, -1.0)))
        gap = np.linalg.norm(centres - samples[target], axis=1)
        able = np.flatnonzero(gap + margins[target] <= radii + 1e-12)
        able = able[np.argsort(-radii[able], kind="stable")[:_CANDIDATES_PER_STEP]]
        # What a sphere through the target can cover is within its diameter of it.
        waiting = np.flatnonzero(uncovered)
        reachable = np.linalg.norm(samples[waiting] - samples[target], axis=1)
        waiting = waiting[reachable <= 2 * radii[able].max()]
        covers = _covered(samples[waiting], margins[waiting], centres[able], radii[able])
        best = int(np.argmax(covers.sum(1)))  # the first of equals
        chosen.append(int(able[best]))
        uncovered[waiting[covers[best]]] = False
    return chosen


def _covered(
    samples: np.ndarray, margins: np.ndarray, centres: np.ndarray, radii: np.ndarray
) -> np.ndarray:
    """(C, N): whether each sphere (centres (C, 3), radii) covers each sample (N, 3) with its
    margin, ‖sample − centre‖ + margin ≤ radius; computed axis by axis, a few spheres at a time,
    so that no (C, N, 3) array is made (the same sums, in the same order, as a norm's)."""
    covers = np.empty((len(centres), len(samples)), dtype=bool)
    step = max(1, (1 << 16) // max(1, len(samples)))
    for start in range(0, len(centres), step):
        part = centres[start : start + step]
        squared = (samples[None, :, 0] - part[:, None, 0]) ** 2
        for axis in (1, 2):
            squared += (samples[None, :, axis] - part[:, None, axis]) ** 2
        np.less_equal(
            np.sqrt(squared) + margins,
            radii[start : start + step, None] + 1e-12,
            out=covers[start : start + step],
        )
    return covers


def _without_contained(
    centres: np.ndarray, radii: np.ndarray, given: int
) -> tuple[np.ndarray, np.ndarray]:
    """The spheres less those inside another one (the first kept of equal ones), the first
    ``given`` kept."""
    keep = list(range(given))
    for k in range(given, len(radii)):
        gaps = np.linalg.norm(centres - centres[k], axis=1) + radii[k] - radii
        inside = (gaps <= 1e-12) & ((radii > radii[k]) | (np.arange(len(radii)) < k))
        inside[k] = False
        if not inside.any():
            keep.append(k)
    return centres[keep], radii[keep]


def protrusion(solid: Union, centres: np.ndarray, radii: np.ndarray, points: int = 256) -> float:
    """The largest distance (metres) outside ``solid`` of points spread on the spheres' surfaces
    (a Fibonacci lattice of ``points`` per sphere)."""
    k = np.arange(points) + 0.5
    polar = np.arccos(1 - 2 * k / points)
    azimuth = math.pi * (1 + math.sqrt(5)) * k
    unit = np.stack(
        [np.sin(polar) * np.cos(azimuth), np.sin(polar) * np.sin(azimuth), np.cos(polar)], -1
    )
    on_spheres = (centres[:, None, :] + radii[:, None, None] * unit[None]).reshape(-1, 3)
    # Measured exactly only where it can be the largest: a point whose bound from above is below
    # another's bound from below is not (a mesh's exact distance costs a pass over its triangles).
    lower, upper = solid.outside_bounds(on_spheres)
    contenders = on_spheres[upper >= lower.max()]
    return float(solid.outside_distance(contenders).max())
