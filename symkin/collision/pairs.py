"""Which pairs of links are checked for self-collision, and why the others are not.

Every pair of links with spheres is checked, except (in this order of reasons):

- ``adjacent``: links that one moving joint or only fixed joints join (their spheres overlap
  where the joint is);
- the SRDF's reason (``Adjacent``, ``Never``, ``Default`` …): pairs an SRDF's
  ``<disable_collisions>`` names;
- ``always``: pairs whose spheres overlap at every one of ``samples`` configurations drawn
  uniformly within the joint limits (unbounded joints over [−π, π]), seeded, as MoveIt's setup
  assistant finds them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from symkin.errors import SymkinError
from symkin.model.placement import transform
from symkin.model.robot import RobotModel
from symkin.model.rotations import axis_rotation

SAMPLES = 1000
"""Configurations sampled to find the pairs in collision everywhere."""

SEED = 0


@dataclass(frozen=True)
class PairRules:
    """The checked pairs of links, and the excluded ones with the reason for each."""

    checked: tuple[tuple[str, str], ...]
    excluded: tuple[tuple[str, str, str], ...]


def read_srdf(path: Path) -> dict[frozenset[str], str]:
    """The pairs an SRDF's ``<disable_collisions link1 link2 reason>`` names, with their reason."""
    from symkin.errors import read_input, warn_note
    from symkin.readers.xml import parse_xml  # lxml: not at the command line's start

    root = parse_xml(read_input(path), warn_note)
    disabled = {}
    for element in root.iter("disable_collisions"):
        first, second = element.get("link1"), element.get("link2")
        if not first or not second:
            raise SymkinError(
                f"<disable_collisions> at line {element.sourceline} needs link1 and link2"
            )
        disabled[frozenset((first, second))] = element.get("reason") or "SRDF"
    return disabled


def default_srdf(robot: Path) -> Path | None:
    """The SRDF example-robot-data keeps beside a robot of its own (``<package>/srdf/<name>.srdf``,
    ``panda`` for ``panda_collision``), None for other robots."""
    from symkin.readers.load import example_robot_data_folder

    try:
        robots = example_robot_data_folder().resolve()
    except SymkinError:
        return None
    robot = robot.resolve()
    if robots not in robot.parents or robot.parent.name != "urdf":
        return None
    folder = robot.parent.parent / "srdf"
    names = [robot.stem, robot.stem.split("_")[0]]
    return next((folder / f"{n}.srdf" for n in names if (folder / f"{n}.srdf").is_file()), None)


def pair_rules(
    model: RobotModel,
    spheres: Sequence[tuple[str, tuple[float, float, float], float]],
    disabled: dict[frozenset[str], str],
    samples: int = SAMPLES,
) -> PairRules:
    """The rules above for ``spheres`` (link, centre in the link's frame, radius)."""
    links = list(dict.fromkeys(link for link, _, _ in spheres))
    candidates = [(a, b) for i, a in enumerate(links) for b in links[i + 1 :]]
    excluded, remaining = [], []
    for a, b in candidates:
        moving = sum(step.joint.moves for step in model.path(a, b))
        reason = "adjacent" if moving <= 1 else disabled.get(frozenset((a, b)))
        if reason is None:
            remaining.append((a, b))
        else:
            excluded.append((a, b, reason))
    always = _always_colliding(model, spheres, remaining, samples) if remaining else set()
    excluded += [(a, b, "always") for a, b in remaining if (a, b) in always]
    checked = tuple(pair for pair in remaining if pair not in always)
    return PairRules(checked, tuple(excluded))


def _always_colliding(model, spheres, pairs, samples: int) -> set[tuple[str, str]]:
    links = list(dict.fromkeys(link for link, _, _ in spheres))
    rotations, origins = link_poses(model, links, samples)
    centres: dict[str, list[np.ndarray]] = {}
    radii: dict[str, list[float]] = {}
    for link, centre, radius in spheres:
        k = links.index(link)
        centres.setdefault(link, []).append(rotations[k] @ np.array(centre) + origins[k])
        radii.setdefault(link, []).append(radius)
    # A sphere per link around all of its spheres: where two of them are apart at some sample, the
    # pair is not always colliding, and its spheres need not be compared one by one.
    bounds = {
        link: _bounding_sphere(np.stack(centres[link], 1), np.array(radii[link])) for link in links
    }
    always = set()
    for a, b in pairs:
        (middle_a, reach_a), (middle_b, reach_b) = bounds[a], bounds[b]
        if (np.linalg.norm(middle_a - middle_b, axis=-1) >= reach_a + reach_b).any():
            continue
        ca, cb = np.stack(centres[a], 1), np.stack(centres[b], 1)  # (N, Ka, 3), (N, Kb, 3)
        gap = np.linalg.norm(ca[:, :, None] - cb[:, None], axis=-1)
        overlap = gap - np.add.outer(radii[a], radii[b]) < 0
        if overlap.any(axis=(1, 2)).all():
            always.add((a, b))
    return always


def link_poses(
    model: RobotModel, links: Sequence[str], samples: int, seed: int = SEED
) -> tuple[np.ndarray, np.ndarray]:
    """Rotations (L, N, 3, 3) and origins (L, N, 3) of ``links`` in the root's frame at
    ``samples`` configurations drawn uniformly within the limits, a ball joint's rotation uniformly
    (float64, numerically)."""
    rng = np.random.default_rng(seed)
    values: dict[str, np.ndarray] = {}
    for joint in model.joints:
        if joint.type == "ball":
            quaternions = rng.standard_normal((samples, 4))
            values[joint.name] = quaternions / np.linalg.norm(quaternions, axis=1, keepdims=True)
        elif joint.moves and joint.mimic is None:
            low = joint.lower if math.isfinite(joint.lower) else -math.pi
            high = joint.upper if math.isfinite(joint.upper) else math.pi
            values[joint.name] = rng.uniform(low, high, samples)
    poses: dict[str, tuple[np.ndarray, np.ndarray]] = {
        model.root: (np.broadcast_to(np.eye(3), (samples, 3, 3)), np.zeros((samples, 3)))
    }

    def pose(link: str) -> tuple[np.ndarray, np.ndarray]:
        if link not in poses:
            joint = model.parent_joint(link)
            assert joint is not None
            R, t = pose(joint.parent)
            placed_R, placed_t = (np.array(x) for x in transform(joint.origin))
            R, t = R @ placed_R, t + R @ placed_t
            if joint.type == "ball":
                R = R @ _quaternion_matrices(values[joint.name])
            elif joint.moves:
                resolved = model.resolve_mimic(joint)
                value = resolved.multiplier * values[resolved.source] + resolved.offset
                if joint.type == "prismatic":
                    t = t + (R @ np.asarray(joint.axis)) * value[:, None]
                else:
                    cos, sin = np.cos(value), np.sin(value)
                    turn: np.ndarray = np.moveaxis(
                        np.asarray(axis_rotation(joint.axis, cos, sin)), 2, 0
                    )
                    R = R @ turn
            poses[link] = (R, t)
        return poses[link]

    found = [pose(link) for link in links]
    return np.stack([R for R, _ in found]), np.stack([t for _, t in found])


def _bounding_sphere(centres: np.ndarray, radii: np.ndarray) -> tuple[np.ndarray, float]:
    """A sphere around the spheres of one link (centres (N, K, 3) at N samples, radii (K,)): its
    centre at each sample (N, 3), their mean, and its radius (the link is rigid: the same at
    every sample)."""
    middle = centres.mean(1)
    reach = np.linalg.norm(centres[0] - middle[0], axis=-1) + radii
    return middle, float(reach.max())


def _quaternion_matrices(quaternions: np.ndarray) -> np.ndarray:
    """Rotation matrices (N, 3, 3) of unit quaternions (N, 4), w first."""
    w, x, y, z = quaternions.T
    return np.stack(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    ).transpose(2, 0, 1)
