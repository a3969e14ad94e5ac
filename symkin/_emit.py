"""Print straight-line programs as a standalone PyTorch module through a Jinja2 template.

Every name that came from an input file reaches the source only as a Python
string literal (``repr``) or, in comments, with control characters escaped;
identifiers were sanitised by :mod:`symkin._simplify`. The template never
sees raw input text as template source.
"""

from __future__ import annotations

import keyword
import math
from dataclasses import dataclass
from importlib import resources

import jinja2
import sympy as sp

from ._errors import SymkinError
from ._simplify import Program, sanitize
from ._version import __version__


@dataclass(frozen=True)
class EmitOptions:
    """How to emit a module.

    Attributes:
        class_name: the ``torch.nn.Module`` subclass's name; default from the robot name.
        command: the command that regenerates the file, recorded in its header.
    """

    class_name: str | None = None
    command: str | None = None


def default_class_name(robot_name: str) -> str:
    """``CamelCase`` of the sanitised robot name, followed by ``Kinematics``."""
    words = [w for w in sanitize(robot_name).split("_") if w]
    camel = "".join(w[0].upper() + w[1:] for w in words)
    if not camel or camel[0].isdigit():
        camel = "Robot" + camel
    return camel + "Kinematics"


def check_class_name(name: str) -> str:
    if not name.isidentifier() or not name.isascii() or keyword.iskeyword(name) or name.startswith("_"):
        raise SymkinError(f"--name {name!r} is not a usable Python class name (ASCII letters, digits, _)")
    if name in ("torch", "math"):
        raise SymkinError(f"--name {name!r} would shadow a module the generated code uses")
    return name


def emit(pose: Program, full: Program, options: EmitOptions = EmitOptions()) -> str:
    """The source of a module computing ``pose`` (pose only) and ``full`` (pose and Jacobian).

    Both programs must come from the same kinematics; ``full`` must include the Jacobian.
    """
    if not full.jacobian or pose.jacobian or (pose.tips, pose.joint_names) != (full.tips, full.joint_names):
        raise ValueError("emit() takes the pose-only and the pose-and-Jacobian programs of the same kinematics")
    class_name = check_class_name(options.class_name or default_class_name(full.robot_name))
    template = _environment().get_template("torch_module.py.jinja")
    source = template.render(
        version=__version__,
        command=options.command,
        class_name=class_name,
        robot_name=full.robot_name,
        base=full.base,
        tips=full.tips,
        joint_names=full.joint_names,
        lower=[_float_literal(v) for v in full.lower],
        upper=[_float_literal(v) for v in full.upper],
        pose_ops=pose.ops,
        full_ops=full.ops,
        pose_body=_function_body(pose),
        full_body=_function_body(full),
    )
    return source


def _environment() -> jinja2.Environment:
    templates = resources.files("symkin.templates")
    environment = jinja2.Environment(
        loader=jinja2.FunctionLoader(lambda name: templates.joinpath(name).read_text(encoding="utf-8")),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["literal"] = _string_literal
    environment.filters["comment"] = comment_text
    return environment


def _string_literal(value: str) -> str:
    """A Python string literal for ``value``; ``ascii`` keeps it on one line and printable."""
    return ascii(str(value))


def comment_text(value: str) -> str:
    """``value`` made safe for a ``#`` comment: control characters and line breaks escaped."""
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in str(value))


def _float_literal(value: float) -> str:
    if math.isinf(value):
        return 'float("inf")' if value > 0 else '-float("inf")'
    return repr(float(value))


@dataclass(frozen=True)
class _Group:
    title: str
    entries: list[str]


@dataclass(frozen=True)
class _Line:
    target: str
    value: str


def _function_body(program: Program) -> dict:
    """What the template needs to print one program as a function of ``q``."""
    printer = _Printer(program.names)
    used = set().union(*(e.free_symbols for e in [*(e for _, e in program.assignments), *program.outputs]))
    direct_joints = [s for s in program.q if s in used or any(s in a.free_symbols for a in program.angles if not a.is_Symbol)]
    angles = _angles_source(program, printer)
    constant_names: dict[str, str] = {}
    entries = []
    for output in program.outputs:
        if output.is_Number:
            literal = _float_literal(float(output))
            default = {"0.0": "zero", "1.0": "one"}.get(literal, f"constant{len(constant_names)}")
            entries.append(constant_names.setdefault(literal, default))
        else:
            entries.append(printer(output))
    n = len(program.q)
    groups = [_Group(f"X_base_tip of tip {tip!r}, row-major", entries[16 * i : 16 * (i + 1)]) for i, tip in enumerate(program.tips)]
    if program.jacobian:
        start = 16 * len(program.tips)
        groups += [
            _Group(f"Jacobian of tip {tip!r}, row-major", entries[start + 6 * n * i : start + 6 * n * (i + 1)])
            for i, tip in enumerate(program.tips)
        ]
    return {
        "joints": [program.names[s] if s in direct_joints else "_" for s in program.q] if direct_joints else None,
        "angles": angles,
        "sines": [program.names[s] for s in program.sines],
        "cosines": [program.names[s] for s in program.cosines],
        "lines": [_Line(program.names[s], printer(e)) for s, e in program.assignments],
        "constants": {name: literal for literal, name in constant_names.items()},
        "outputs": groups,
        "ops": program.ops,
    }


def _angles_source(program: Program, printer: _Printer) -> str | None:
    """Source for the (..., K) tensor of sine/cosine arguments, or None when there are none."""
    if not program.angles:
        return None
    if program.angles == program.q:
        return "q"
    positions = {s: i for i, s in enumerate(program.q)}
    if all(a in positions for a in program.angles):
        return f"q[..., {[positions[a] for a in program.angles]}]"
    return "torch.stack([" + ", ".join(printer(a) for a in program.angles) + "], dim=-1)"


class _Printer:
    """Prints a SymPy expression over tensors named by ``names`` as Python source."""

    def __init__(self, names: dict[sp.Symbol, str]) -> None:
        self.names = names

    def __call__(self, expr: sp.Expr) -> str:
        return self._print(expr)

    def _print(self, expr: sp.Expr) -> str:
        if expr.is_Symbol:
            return self.names[expr]
        if expr.is_Number:
            return _number(expr)
        if expr.is_Add:
            return self._add(expr)
        if expr.is_Mul:
            return self._mul(expr)
        if expr.is_Pow:
            return self._pow(expr)
        raise TypeError(f"cannot print {type(expr).__name__} in generated code: {expr}")

    def _add(self, expr: sp.Add) -> str:
        terms = sorted(expr.args, key=_is_negative)
        text = self._print(terms[0])
        for term in terms[1:]:
            text += f" - {self._print(-term)}" if _is_negative(term) else f" + {self._print(term)}"
        return text

    def _mul(self, expr: sp.Mul) -> str:
        coefficient, factors = expr.as_coeff_mul()
        printed = [self._factor(f) for f in factors]
        if coefficient == -1:
            return "-" + "*".join(printed)
        if coefficient != 1:
            printed.insert(0, _number(coefficient))
        return "*".join(printed)

    def _factor(self, expr: sp.Expr) -> str:
        text = self._print(expr)
        return f"({text})" if expr.is_Add or (expr.is_Number and expr < 0) else text

    def _pow(self, expr: sp.Pow) -> str:
        base, exponent = expr.args
        if exponent.is_Integer and exponent > 0:
            return "*".join([self._factor(base)] * int(exponent))
        if exponent.is_Integer and exponent < 0:
            return f"1/({self._print(base ** -exponent)})"
        raise TypeError(f"cannot print power {expr} in generated code")


def _is_negative(term: sp.Expr) -> bool:
    return term.could_extract_minus_sign()


def _number(value: sp.Expr) -> str:
    return str(int(value)) if value.is_Integer else repr(float(value))
