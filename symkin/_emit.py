"""Print column programs as a standalone PyTorch module through a Jinja2 template.

Every name that came from an input file reaches the source only as a Python
string literal (``ascii``) or, in comments, with control characters escaped;
identifiers were sanitised by :mod:`symkin._vectorize`. The template never
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
from ._simplify import OpCount, sanitize
from ._vectorize import ColumnProgram, Ref, TipJacobian
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


def emit(
    pose: ColumnProgram, full: ColumnProgram, arithmetic: tuple[OpCount, OpCount], options: EmitOptions = EmitOptions()
) -> str:
    """The source of a module computing ``pose`` (pose only) and ``full`` (pose and Jacobian).

    Both programs must come from the same kinematics; ``full`` must include the Jacobians.
    ``arithmetic`` is the operation count of the derived closed form (pose; pose and Jacobian),
    recorded in the header.
    """
    if (
        not full.jacobians
        or pose.jacobians
        or (pose.tips, pose.joint_names, pose.constants, pose.angles) != (full.tips, full.joint_names, full.constants, full.angles)
    ):
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
        pose_ops=arithmetic[0],
        full_ops=arithmetic[1],
        pose_body=_function_body(pose),
        full_body=_function_body(full),
        tables=_tables(full),
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
class _Line:
    target: str
    value: str


def _function_body(program: ColumnProgram) -> dict:
    """What the template needs to print one column program as a function of ``q``."""
    printer = _Printer(program.names)
    used = set().union(
        *(c.free_symbols for step in program.combinations for c, _ in step.terms),
        *(e.free_symbols for _, e in program.scalars),
    )
    constants = dict(program.constants)
    referenced = {source for step in program.combinations for _, source in step.terms}
    referenced |= {ref.name for tip in program.poses for ref in tip}
    referenced |= {ref.name for jacobian in program.jacobians for pair in jacobian.revolute for ref in pair}
    referenced |= {ref.name for jacobian in program.jacobians for ref in jacobian.prismatic}
    return {
        "joints": [(i, program.names[s]) for i, s in enumerate(program.q) if s in used],
        "trig": _trig(program),
        "scalars": [_Line(program.names[s], printer(e)) for s, e in program.scalars],
        "constant_names": [name if name in referenced else "_" for name in constants],
        "combinations": [_Line(step.target, _combination(step.terms, printer)) for step in program.combinations],
        "pose": f"torch.stack([{', '.join(_output(ref, constants) for tip in program.poses for ref in tip)}], 1)",
        "jacobians": [_jacobian_lines(k, jacobian, constants, len(program.q)) for k, jacobian in enumerate(program.jacobians)],
    }


def _combination(terms: tuple[tuple[sp.Expr, str], ...], printer: _Printer) -> str:
    """``Σ coefficient · source`` as fused tensor ops, starting from a free term when there is one."""
    terms = sorted(terms, key=lambda term: (bool(term[0] != 1), bool(term[0].as_coeff_Mul()[0] < 0)))
    (coefficient, source), rest = terms[0], terms[1:]
    number, symbol = coefficient.as_coeff_Mul()
    text = source
    if symbol != 1:
        text = f"{text}*{printer(symbol)}"
    if number != 1:
        text = f"-{text}" if number == -1 else f"{text}*{_number(number)}"
    for coefficient, source in rest:
        number, symbol = coefficient.as_coeff_Mul()
        if symbol == 1:
            text = f"{text} + {source}" if number == 1 else f"{text} - {source}" if number == -1 else f"torch.add({text}, {source}, alpha={_number(number)})"
        else:
            value = "" if number == 1 else f", value={_number(number)}"
            text = f"torch.addcmul({text}, {source}, {printer(symbol)}{value})"
    return text


def _output(ref: Ref, constants: dict) -> str:
    """A vector as a (4, B) tensor: constants are (4, 1) and are expanded to the batch."""
    if ref.name in constants:
        return f"{ref.name}.expand(-1, joints.shape[1])"
    return f"-{ref.name}" if ref.negated else ref.name


def _jacobian_lines(k: int, jacobian: TipJacobian, constants: dict, n: int) -> list[_Line]:
    """Lines computing ``jacobian_<k>``: (6, n, B), rows [v; ω], one column per q."""
    target = f"jacobian_{k}"
    if not jacobian.revolute and not jacobian.prismatic:
        return [_Line(target, f"joints.new_zeros(6, {n}, joints.shape[1])")]
    lines, blocks = [], []
    if jacobian.revolute:
        axes = ", ".join(_output(z, constants) for z, _ in jacobian.revolute)
        origins = ", ".join(_output(o, constants) for _, o in jacobian.revolute)
        tip = _output(jacobian.tip_origin, constants)
        lines += [
            _Line("axis_x, axis_y, axis_z, _", f"torch.stack([{axes}], 1).unbind()"),
            _Line("lever_x, lever_y, lever_z, _", f"({tip}.unsqueeze(1) - torch.stack([{origins}], 1)).unbind()"),
        ]
        blocks.append(
            "torch.stack([torch.addcmul(axis_y*lever_z, axis_z, lever_y, value=-1), "
            "torch.addcmul(axis_z*lever_x, axis_x, lever_z, value=-1), "
            "torch.addcmul(axis_x*lever_y, axis_y, lever_x, value=-1), axis_x, axis_y, axis_z])"
        )
    if jacobian.prismatic:
        axes = ", ".join(_output(z, constants) for z in jacobian.prismatic)
        lines.append(_Line("sliding", f"torch.stack([{axes}], 1)[:3]"))
        blocks.append("torch.cat([sliding, torch.zeros_like(sliding)])")
    columns = blocks[0] if len(blocks) == 1 else f"torch.cat([{', '.join(blocks)}], 1)"
    if jacobian.column_map is not None:
        rows = ", ".join(f"[{', '.join(_float_literal(v) for v in row)}]" for row in jacobian.column_map)
        columns = f"torch.matmul(joints.new_tensor([{rows}]), {columns})"
    return lines + [_Line(target, columns)]


@dataclass(frozen=True)
class _Angles:
    """How the generated code makes its (rows, B) angle tensor.

    ``order[r]`` is the angle in row r (None for a joint row that no angle needs); ``offsets``
    (rows × 1) and ``matrix`` (rows × n) are the ``angle_offsets`` and ``angle_map`` buffers,
    empty when ``source`` does not use them.
    """

    order: list[int | None]
    source: str
    offsets: list[list[float]]
    matrix: list[list[float]]


def _angles(program: ColumnProgram) -> _Angles | None:
    """One joint per angle: a view of ``joints`` (joint rows no angle needs come along, cheaper
    than a gather), plus ``angle_offsets`` if any angle has an offset. Other angles (q2 + q3, a
    mimic joint's multiple): one matrix product with ``angle_map``."""
    if not program.angles:
        return None
    n = len(program.q)
    index = {s: i for i, s in enumerate(program.q)}
    linear = []
    for angle in program.angles:
        terms = dict(angle.as_coefficients_dict())
        offset = float(terms.pop(sp.Integer(1), 0))
        linear.append(({index[s]: float(m) for s, m in terms.items()}, offset))
    single = [next(iter(c)) for c, _ in linear if list(c.values()) == [1.0]]
    if len(single) == len(linear) and len(set(single)) == len(single):
        row_of = {joint: k for k, joint in enumerate(single)}
        lo, hi = min(single), max(single)
        order = [row_of.get(i) for i in range(lo, hi + 1)]
        offsets = [[linear[k][1] if k is not None else 0.0] for k in order]
        source = "joints" if (lo, hi) == (0, n - 1) else f"joints[{lo}:{hi + 1}]"
        if not any(row[0] for row in offsets):
            return _Angles(order, source, [], [])
        return _Angles(order, f"{source} + angle_offsets", offsets, [])
    matrix = [[c.get(i, 0.0) for i in range(n)] for c, _ in linear]
    offsets = [[offset] for _, offset in linear]
    order = list(range(len(linear)))
    if not any(row[0] for row in offsets):
        return _Angles(order, "angle_map @ joints", [], matrix)
    return _Angles(order, "torch.addmm(angle_offsets, angle_map, joints)", offsets, matrix)


def _tables(program: ColumnProgram) -> dict[str, str]:
    """Python literals of the module's constant buffers: the constant columns (K, 4, 1) and the
    angle offsets and map of :func:`_angles`."""
    angles = _angles(program)
    columns = [[[v] for v in lanes] for _, lanes in program.constants]
    return {
        "constants": _nested_literal(columns),
        "angle_offsets": _nested_literal(angles.offsets if angles else []),
        "angle_map": _nested_literal(angles.matrix if angles else []),
    }


def _nested_literal(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_nested_literal(v) for v in value) + "]"
    return _float_literal(value)


def _trig(program: ColumnProgram) -> dict | None:
    """The angle tensor's source and the names its sines and cosines unpack into. One ``cat`` of
    the sines and cosines makes torch.compile materialize them once, instead of once per lane of
    every vector that uses them."""
    angles = _angles(program)
    if angles is None:
        return None
    names = [program.names[program.sines[k]] if k is not None else "_" for k in angles.order]
    names += [program.names[program.cosines[k]] if k is not None else "_" for k in angles.order]
    shown = ", ".join(sp.sstr(program.angles[k]) if k is not None else "-" for k in angles.order)
    return {"source": angles.source, "names": names, "comment": comment_text(f"rows: {shown}")}


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
