"""Find and read the mesh files a URDF names (through ``trimesh``, an optional dependency)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import numpy as np

from symkin.errors import SymkinError
from symkin.model.geometry import CollisionGeometry, MeshFile


def mesh_candidates(
    filename: str, urdf_folder: Path | None, package_dirs: Sequence[Path]
) -> list[Path]:
    """Where a mesh file named ``filename`` may be, in the order tried.

    ``package://PACKAGE/REST`` is looked for as ``DIR/PACKAGE/REST`` for each of ``package_dirs``,
    the example-robot-data robots folder, and the URDF's folder and every folder above it, then as
    ``REST`` below those folders; ``file://`` and plain paths are taken relative to the URDF's
    folder.
    """
    if filename.startswith("package://"):
        package, _, rest = filename[len("package://") :].partition("/")
        roots = [*package_dirs, *_example_robot_data(), *_folders_up(urdf_folder)]
        return [root / package / rest for root in roots] + [root / rest for root in roots]
    path = Path(unquote(filename[len("file://") :] if filename.startswith("file://") else filename))
    if path.is_absolute() or urdf_folder is None:
        return [path]
    return [urdf_folder / path]


def read_mesh(
    geometry: CollisionGeometry, urdf_folder: Path | None, package_dirs: Sequence[Path]
) -> tuple[np.ndarray, np.ndarray]:
    """The mesh of ``geometry`` (a :class:`MeshFile`), scaled: vertices (V, 3) in metres and
    triangles (T, 3). SymkinError naming the link and the paths tried when no file is found or it
    cannot be read."""
    shape = geometry.shape
    assert isinstance(shape, MeshFile)
    tried = mesh_candidates(shape.filename, urdf_folder, package_dirs)
    found = next((path for path in tried if path.is_file()), None)
    where = f"link {geometry.link!r}: collision mesh {shape.filename!r}"
    if found is None:
        listed = ", ".join(str(path) for path in tried[:4]) + (", …" if len(tried) > 4 else "")
        raise SymkinError(f"{where} not found (tried {listed}; add its folder with --package-dir)")
    try:
        import trimesh
    except ImportError:
        raise SymkinError(f"{where}: reading meshes needs trimesh (pip install trimesh)") from None
    try:
        mesh: Any = trimesh.load(found, force="mesh", process=True)
    except Exception as error:  # trimesh raises many kinds for unreadable files
        raise SymkinError(f"{where}: {found} cannot be read as a mesh ({error})") from None
    if not len(mesh.faces):
        raise SymkinError(f"{where}: {found} has no triangles")
    vertices = np.asarray(mesh.vertices, dtype=np.float64) * np.asarray(shape.scale)
    return vertices, np.asarray(mesh.faces, dtype=np.int64)


def _example_robot_data() -> list[Path]:
    from symkin.readers.load import example_robot_data_folder

    try:
        robots = example_robot_data_folder()
    except SymkinError:
        return []
    # Its URDFs name package://example-robot-data/robots/…: the package is in share/.
    return [robots, robots.parent.parent]


def _folders_up(folder: Path | None) -> list[Path]:
    return [] if folder is None else [folder.resolve(), *folder.resolve().parents]
