"""Print straight-line programs as a standalone PyTorch module through a Jinja2 template.

Every name that came from an input file reaches the source only as a Python
string literal (``ascii``) or, in comments, with control characters escaped;
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
    if name == "torch":
        raise SymkinError(f"--name {name!r} would shadow the module the generated code uses")
    return name


def emit(pose: Program, full: Program, options: EmitOptions = EmitOptions()) -> str:
    """The source of a module computing ``pose`` (pose only) and ``full`` (pose and Jacobian).

    Both programs must come from the same kinematics; ``full`` must include the Jacobian.
    """
    if not full.jacobian or pose.jacobian or (pose.tips, pose.joint_names) != (full.tips, full.joint_names):
        raise ValueError("emit() takes the pose-only and the pose-and-Jacobian programs of the same kinematics")
    class_name = check_class_name(options.class_name or default_class_name(full.robot_name))
    template = _environment().get_template("torch_module.py.jinja")
    return template.render(
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


def _template_folder():
    """The installed ``symkin.templates`` package, or ``templates/`` beside the package in a source checkout."""
    try:
        return resources.files("symkin.templates")
    except ModuleNotFoundError:
        return resources.files("symkin").joinpath("..", "templates")


def _environment() -> jinja2.Environment:
    templates = _template_folder()
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
class _Trig:
    name: str
    angle: str
    sine: str
    cosine: str


@dataclass(frozen=True)
class _Line:
    target: str
    value: str


def _function_body(program: Program) -> dict:
    """What the template needs to print one program as a function of ``q``."""
    printer = _Printer(program.names)
    used = set().union(*(e.free_symbols for e in [*(e for _, e in program.assignments), *program.outputs]))
    direct_joints = [s for s in program.q if s in used or any(s in a.free_symbols for a in program.angles if not a.is_Symbol)]
    trig_vector, trig_scalars = _trig(program, printer)
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
        "trig_vector": trig_vector,
        "trig_scalars": trig_scalars,
        "lines": [_Line(program.names[s], printer(e)) for s, e in program.assignments],
        "constants": {name: literal for literal, name in constant_names.items()},
        "outputs": groups,
    }


def _trig(program: Program, printer: _Printer) -> tuple[dict | None, list[_Trig]]:
    """Sines and cosines: of the plain joints in one call each, of any other angle one by one."""
    positions = {s: i for i, s in enumerate(program.q)}
    plain = [k for k, a in enumerate(program.angles) if a in positions]
    vector = None
    if plain:
        indices = [positions[program.angles[k]] for k in plain]
        vector = {
            "source": _joint_selection(indices, len(program.q)),
            "sines": [program.names[program.sines[k]] for k in plain],
            "cosines": [program.names[program.cosines[k]] for k in plain],
        }
    others = [
        _Trig(program.angle_names[k], printer(program.angles[k]), program.names[program.sines[k]], program.names[program.cosines[k]])
        for k in range(len(program.angles))
        if k not in plain
    ]
    return vector, others


def _joint_selection(indices: list[int], count: int) -> str:
    """Source for ``q`` restricted to ``indices``: a view when they are contiguous."""
    if indices == list(range(count)):
        return "q"
    if indices == list(range(indices[0], indices[-1] + 1)):
        return f"q[..., {indices[0]}:{indices[-1] + 1}]"
    return f"q[..., {indices}]"


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
        """A sum, accumulated left to right with fused ops: at small batch each op is a dispatch.

        ``acc + k*x`` prints as ``torch.add(acc, x, alpha=k)`` (no scalar tensor to make) and
        ``acc + k*x*y`` as ``torch.addcmul(acc, x, y, value=k)``.
        """
        terms = sorted(expr.args, key=_accumulation_order)
        text = self._print(terms[0])
        for term in terms[1:]:
            coefficient, factors = _coefficient_and_factors(term)
            if term.is_Number:
                text = f"{text} - {_number(-term)}" if term < 0 else f"{text} + {_number(term)}"
            elif len(factors) == 1 and coefficient in (1, -1):
                text = f"{text} {'+' if coefficient == 1 else '-'} {self._factor(factors[0])}"
            elif len(factors) == 1:
                text = f"torch.add({text}, {self._print(factors[0])}, alpha={_number(coefficient)})"
            elif len(factors) == 2:
                value = "" if coefficient == 1 else f", value={_number(coefficient)}"
                text = f"torch.addcmul({text}, {self._print(factors[0])}, {self._print(factors[1])}{value})"
            else:
                text = f"{text} - {self._print(-term)}" if _is_negative(term) else f"{text} + {self._print(term)}"
        return text

    def _mul(self, expr: sp.Mul) -> str:
        coefficient, factors = _coefficient_and_factors(expr)
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


def _coefficient_and_factors(term: sp.Expr) -> tuple[sp.Number, tuple[sp.Expr, ...]]:
    """``k*x*y`` as ``(k, (x, y))``, with any numeric coefficient (integer, rational or float) in ``k``."""
    coefficient, rest = term.as_coeff_Mul()
    return coefficient, sp.Mul.make_args(rest) if rest != 1 else ()


def _accumulation_order(term: sp.Expr) -> tuple[bool, bool, bool]:
    """Start a sum with a plain positive tensor term if there is one; constants go last."""
    coefficient, _ = _coefficient_and_factors(term)
    return (term.is_Number, coefficient not in (1, -1), _is_negative(term))


def _is_negative(term: sp.Expr) -> bool:
    return term.could_extract_minus_sign()


def _number(value: sp.Expr) -> str:
    return str(int(value)) if value.is_Integer else repr(float(value))
