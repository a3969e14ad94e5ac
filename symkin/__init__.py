"""symkin: compile robot kinematics to standalone, differentiable, vectorized code (PyTorch or JAX).

The pipeline, one function per stage::

    robot = symkin.load("panda.urdf")                      # parse: URDF, MJCF or DH table -> RobotModel
    kin = symkin.derive(robot, tips="panda_hand_tcp")      # derive: the column program, exact constants
    kin.pose("panda_hand_tcp")                             # closed forms on demand: 4x4 sympy.Matrix
    symkin.formula(kin, "panda_hand_tcp").latex()          # inspect: c1, s23 ... abbreviations, LaTeX
    program = symkin.lower(kin)                            # lower: names, tables, outputs (any backend)
    source = symkin.generate(kin)                          # lower + emit: the module's source
    Panda = symkin.module_class(symkin.load_module(source))
"""

from ._compile import generate, load_module, module_class
from ._contract import KinematicsModule
from ._derive import Kinematics, Motion, Signature, Tip, Vector, derive
from ._describe import describe
from ._dh import DHRow, Placement, dh_model, load_dh
from ._emit import EmitOptions, emit
from ._errors import SymkinError, SymkinNote
from ._inspect import Formula, FramedFormula, abbreviate, exact_constants, formula
from ._load import EXAMPLE_ROBOT_DATA, load
from ._lower import lower
from ._mjcf import load_mjcf
from ._model import Joint, Mimic, Quaternion, RobotModel, Rotation, Translation, build_model, urdf_placement
from ._program import Program
from ._simplify import ClosedForm, OpCount, simplify, unsimplified_ops
from ._urdf import load_urdf, parse_urdf, to_urdf
from ._version import __version__

# These need torch, which is imported when one of them is first used: the command line and the code
# generator do without it.
_TORCH_NAMES = {
    "IKResult": "._ik",
    "solve_ik": "._ik",
    "matrix_to_quaternion": "._training",
    "matrix_to_rotation_6d": "._training",
    "pose_error": "._training",
    "position_error": "._training",
    "quaternion_to_matrix": "._training",
    "rotation_6d_to_matrix": "._training",
    "rotation_error": "._training",
    "rotation_vector": "._training",
}


def __getattr__(name: str):
    if name in _TORCH_NAMES:
        import importlib

        value = getattr(importlib.import_module(_TORCH_NAMES[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "EXAMPLE_ROBOT_DATA",
    "ClosedForm",
    "DHRow",
    "EmitOptions",
    "Formula",
    "FramedFormula",
    "IKResult",
    "Joint",
    "Kinematics",
    "KinematicsModule",
    "Mimic",
    "Motion",
    "OpCount",
    "Placement",
    "Quaternion",
    "Program",
    "RobotModel",
    "Rotation",
    "Signature",
    "SymkinError",
    "SymkinNote",
    "Tip",
    "Translation",
    "Vector",
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
    "load_mjcf",
    "load_module",
    "load_urdf",
    "lower",
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
]
