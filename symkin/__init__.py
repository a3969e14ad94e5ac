"""symkin: compile robot kinematics to standalone, differentiable, vectorized PyTorch code.

The pipeline, one function per stage::

    robot = symkin.load("panda.urdf")                      # parse: URDF, or DH table (.toml) -> RobotModel
    kin = symkin.derive(robot, tips=("panda_hand_tcp",))   # derive: SymPy poses and Jacobians
    kin.pose("panda_hand_tcp")                             # 4x4 sympy.Matrix in q1..qn
    symkin.formula(kin, "panda_hand_tcp").latex()          # inspect: c1, s23 ... abbreviations, LaTeX
    symkin.simplify(kin).ops                               # simplify: one CSE, the closed form's op count
    source = symkin.generate(kin)                          # vectorize (column program) + emit: module source
    Panda = symkin.module_class(symkin.load_module(source))
"""

from ._compile import EXAMPLE_ROBOT_DATA, generate, load, load_module, module_class
from ._derive import Definition, Kinematics, derive
from ._dh import DHRow, Placement, dh_model, load_dh
from ._emit import EmitOptions, emit
from ._errors import SymkinError
from ._ik import IKResult, solve_ik
from ._inspect import Formula, abbreviate, describe, exact_constants, formula
from ._model import Joint, Mimic, RobotModel, Rotation, Translation, build_model, urdf_placement
from ._simplify import OpCount, Program, simplify, unsimplified_ops
from ._training import (
    matrix_to_quaternion,
    matrix_to_rotation_6d,
    pose_error,
    position_error,
    quaternion_to_matrix,
    rotation_6d_to_matrix,
    rotation_error,
    rotation_vector,
)
from ._urdf import load_urdf, parse_urdf, to_urdf
from ._vectorize import ColumnProgram, vectorize
from ._version import __version__

__all__ = [
    "EXAMPLE_ROBOT_DATA",
    "ColumnProgram",
    "DHRow",
    "Definition",
    "EmitOptions",
    "Formula",
    "IKResult",
    "Joint",
    "Kinematics",
    "Mimic",
    "OpCount",
    "Placement",
    "Program",
    "RobotModel",
    "Rotation",
    "SymkinError",
    "Translation",
    "__version__",
    "abbreviate",
    "build_model",
    "derive",
    "describe",
    "dh_model",
    "emit",
    "exact_constants",
    "formula",
    "generate",
    "load",
    "load_dh",
    "load_module",
    "load_urdf",
    "matrix_to_quaternion",
    "matrix_to_rotation_6d",
    "module_class",
    "parse_urdf",
    "pose_error",
    "position_error",
    "quaternion_to_matrix",
    "rotation_6d_to_matrix",
    "rotation_error",
    "rotation_vector",
    "simplify",
    "solve_ik",
    "to_urdf",
    "unsimplified_ops",
    "urdf_placement",
    "vectorize",
]
