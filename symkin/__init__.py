"""symkin: compile robot kinematics to standalone, differentiable, vectorized code.

The pipeline, one function per stage::

    robot = symkin.load("panda.urdf")                  # parse: URDF, MJCF or DH -> RobotModel
    kin = symkin.derive(robot, tips="panda_hand_tcp")  # derive: the column program, exact constants
    kin.pose("panda_hand_tcp")                         # closed forms on demand: 4x4 sympy.Matrix
    symkin.formula(kin, "panda_hand_tcp").latex()      # inspect: c1, s23 ... abbreviations, LaTeX
    program = symkin.lower(kin)                        # lower: names, tables, outputs (any backend)
    source = symkin.generate(kin)                      # lower + emit: the module's source
    Panda = symkin.module_class(symkin.load_module(source))

Every name below is imported from its module when it is first used, so that ``import symkin``
(and the command line's quick commands) load neither SymPy, Jinja2, lxml nor torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from symkin._version import __version__
from symkin.errors import SymkinError, SymkinNote

_LAZY = {
    "symkin.collision": ("CollisionReport", "collision_output", "describe_collision"),
    "symkin.compiler.column_program": ("Kinematics", "Located", "Motion", "Signature", "Vector"),
    "symkin.compiler.derive": ("derive",),
    "symkin.compiler.emit": ("EmitOptions", "emit"),
    "symkin.compiler.generate": ("generate", "load_module", "module_class"),
    "symkin.compiler.lower": ("lower",),
    "symkin.compiler.outputs": (
        "CollisionSpheres",
        "Output",
        "Point",
        "Pose",
        "RigidBodies",
        "Velocities",
        "WeightedPoints",
        "center_of_mass",
        "rigid_bodies",
    ),
    "symkin.compiler.program": ("Program",),
    "symkin.contract": ("KinematicsModule",),
    "symkin.inspection.closed_form": ("ClosedForm", "OpCount", "simplify", "unsimplified_ops"),
    "symkin.inspection.describe": ("describe",),
    "symkin.inspection.formulas": ("Formula", "formula"),
    "symkin.inspection.framed": ("FramedFormula",),
    "symkin.inspection.readable": ("abbreviate", "exact_constants"),
    "symkin.model.inertia": ("Inertial",),
    "symkin.model.placement": (
        "Placement",
        "Quaternion",
        "Rotation",
        "Translation",
        "urdf_placement",
    ),
    "symkin.model.robot": ("ALL_LEAVES", "Joint", "Mimic", "RobotModel", "build_model"),
    "symkin.readers.dh": ("DHRow", "dh_model", "load_dh"),
    "symkin.readers.load": ("EXAMPLE_ROBOT_DATA", "load"),
    "symkin.readers.mjcf": ("load_mjcf",),
    "symkin.readers.urdf": ("load_urdf", "parse_urdf"),
    "symkin.readers.urdf_writer": ("to_urdf",),
    "symkin.tools.collision_losses": ("box_distances", "collision_penalty", "plane_distances"),
    "symkin.tools.ik": ("IKResult", "solve_ik"),
    "symkin.tools.losses": (
        "matrix_to_quaternion",
        "matrix_to_rotation_6d",
        "pose_error",
        "position_error",
        "quaternion_to_matrix",
        "rotation_6d_to_matrix",
        "rotation_error",
        "rotation_vector",
    ),
}
_MODULE_OF = {name: module for module, names in _LAZY.items() for name in names}

if TYPE_CHECKING:
    from symkin.collision import CollisionReport, collision_output, describe_collision
    from symkin.compiler.column_program import Kinematics, Located, Motion, Signature, Vector
    from symkin.compiler.derive import derive
    from symkin.compiler.emit import EmitOptions, emit
    from symkin.compiler.generate import generate, load_module, module_class
    from symkin.compiler.lower import lower
    from symkin.compiler.outputs import (
        CollisionSpheres,
        Output,
        Point,
        Pose,
        RigidBodies,
        Velocities,
        WeightedPoints,
        center_of_mass,
        rigid_bodies,
    )
    from symkin.compiler.program import Program
    from symkin.contract import KinematicsModule
    from symkin.inspection.closed_form import ClosedForm, OpCount, simplify, unsimplified_ops
    from symkin.inspection.describe import describe
    from symkin.inspection.formulas import Formula, formula
    from symkin.inspection.framed import FramedFormula
    from symkin.inspection.readable import abbreviate, exact_constants
    from symkin.model.inertia import Inertial
    from symkin.model.placement import (
        Placement,
        Quaternion,
        Rotation,
        Translation,
        urdf_placement,
    )
    from symkin.model.robot import ALL_LEAVES, Joint, Mimic, RobotModel, build_model
    from symkin.readers.dh import DHRow, dh_model, load_dh
    from symkin.readers.load import EXAMPLE_ROBOT_DATA, load
    from symkin.readers.mjcf import load_mjcf
    from symkin.readers.urdf import load_urdf, parse_urdf
    from symkin.readers.urdf_writer import to_urdf
    from symkin.tools.collision_losses import box_distances, collision_penalty, plane_distances
    from symkin.tools.ik import IKResult, solve_ik
    from symkin.tools.losses import (
        matrix_to_quaternion,
        matrix_to_rotation_6d,
        pose_error,
        position_error,
        quaternion_to_matrix,
        rotation_6d_to_matrix,
        rotation_error,
        rotation_vector,
    )


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_MODULE_OF[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = sorted([*_MODULE_OF, "SymkinError", "SymkinNote", "__version__"])
