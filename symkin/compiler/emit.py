"""Print a program as a module's source through a backend's printer and Jinja2 template.

The template holds the structure of the output (the header, the functions, the class, the
Jacobian assembly); the backend's printer turns the program's expressions into code; this module
renders the template with ``StrictUndefined`` and lays the code out in lines of at most
:data:`LINE_WIDTH` characters. Every name that came from an input file reaches the source only as
a Python string literal (``ascii``), in a comment with control characters escaped, or as an
identifier sanitised by :mod:`symkin.compiler.program`; input text is never template source.
"""

from __future__ import annotations

import keyword
import math
from dataclasses import dataclass
from importlib import resources
from typing import Protocol

import jinja2
import sympy as sp

from symkin._version import __version__
from symkin.compiler.program import Assignment, Program, Ref, Split, View
from symkin.errors import SymkinError
from symkin.names import comment_text, sanitize

LINE_WIDTH = 100
"""Longest line of generated code (a name from the input is cut to 40 characters to keep it so)."""


@dataclass(frozen=True)
class Call:
    """``function(arguments...)`` in generated code; an argument may be ``"name=value"``."""

    function: str
    arguments: tuple[Code, ...]


@dataclass(frozen=True)
class Infix:
    """``operands[0] operators[0] operands[1] …`` with operators such as ``" + "``."""

    operands: tuple[Code, ...]
    operators: tuple[str, ...]


@dataclass(frozen=True)
class ListLiteral:
    """``[items...]`` in generated code."""

    items: tuple[str, ...]


Code = str | Call | Infix | ListLiteral
"""Generated code as a small tree, so that long expressions can be wrapped."""


def one_line(code: Code) -> str:
    if isinstance(code, str):
        return code
    if isinstance(code, Call):
        return f"{code.function}({', '.join(one_line(a) for a in code.arguments)})"
    if isinstance(code, ListLiteral):
        return f"[{', '.join(code.items)}]"
    text = one_line(code.operands[0])
    for operator, operand in zip(code.operators, code.operands[1:]):
        text += operator + one_line(operand)
    return text


def layout(code: Code, indent: int, prefix: str = "", width: int = LINE_WIDTH) -> str:
    """``prefix + code`` at ``indent`` spaces, broken over lines (black style) where it is too long."""
    pad = " " * indent
    line = pad + prefix + one_line(code)
    if len(line) <= width or isinstance(code, str):
        return line
    if isinstance(code, ListLiteral):
        items = listing(" " * (indent + 4), ", ".join(code.items), ",", width=width)
        return "\n".join([f"{pad}{prefix}[", items, f"{pad}]"])
    if isinstance(code, Call):
        together = " " * (indent + 4) + ", ".join(one_line(a) for a in code.arguments)
        if len(together) <= width:
            return "\n".join([f"{pad}{prefix}{code.function}(", together, f"{pad})"])
        inner = [layout(argument, indent + 4, width=width - 1) + "," for argument in code.arguments]
        return "\n".join([f"{pad}{prefix}{code.function}(", *inner, f"{pad})"])
    together = " " * (indent + 4) + one_line(code)
    if len(together) <= width:
        return "\n".join([f"{pad}{prefix}(", together, f"{pad})"])
    pieces = [layout(code.operands[0], indent + 4, width=width)]
    for operator, operand in zip(code.operators, code.operands[1:]):
        pieces.append(layout(operand, indent + 4, prefix=operator.strip() + " ", width=width))
    return "\n".join([f"{pad}{prefix}(", *pieces, f"{pad})"])


class Printer(Protocol):
    """What a backend's printer provides: code for the program's expressions."""

    def combination(self, assignment: Assignment, names: dict[sp.Symbol, str]) -> tuple[Code, int]:
        """An assignment's right-hand side, and how many tensor operations it costs."""

    def scalar(self, expression: sp.Expr, names: dict[sp.Symbol, str]) -> tuple[Code, int]:
        """A compound coefficient, and how many tensor operations it costs."""

    def output(self, ref: Ref) -> str:
        """A vector as it goes into an output: negated or broadcast to the batch where needed."""

    def split(self, split: Split) -> Code:
        """The right-hand side of a split: a sequence of its chunks."""


@dataclass(frozen=True)
class Backend:
    """A code generator: a printer, the template it fills, and what the output is called.

    Attributes:
        name: what ``--backend`` selects.
        template: the template's path below ``templates/``.
        printer: turns the program's expressions into code.
        library: the one library the generated module imports.
        fixed_operations: the tensor operations the template adds to a call around the frame
            program (angles, table unpacking, output assembly), for the header's counts.
    """

    name: str
    template: str
    printer: Printer
    library: str
    fixed_operations: int


@dataclass(frozen=True)
class EmitOptions:
    """How to emit a module.

    Attributes:
        class_name: the module class's name (torch backend); default from the robot name.
        command: the command that regenerates the file, recorded in its header.
    """

    class_name: str | None = None
    command: str | None = None


def default_class_name(robot_name: str) -> str:
    """The robot's name in CamelCase, word boundaries kept where a digit meets a digit, then ``Kinematics``.

    ``panda`` → ``PandaKinematics``, ``g1_29dof_rev_1_0`` → ``G1_29dofRev1_0Kinematics``,
    ``b1-z1`` → ``B1Z1Kinematics``.
    """
    words = [w for w in sanitize(robot_name).split("_") if w]
    camel = ""
    for word in words:
        # Two words that would run digits together ("1" + "0" → "10") keep their underscore.
        joiner = "_" if camel[-1:].isdigit() and word[0].isdigit() else ""
        camel += joiner + word[0].upper() + word[1:]
    if not camel or camel[0].isdigit():
        camel = "Robot" + camel
    return camel + "Kinematics"


def check_class_name(name: str) -> str:
    if (
        not name.isidentifier()
        or not name.isascii()
        or keyword.iskeyword(name)
        or name.startswith("_")
    ):
        raise SymkinError(
            f"--name {name!r} is not a usable Python class name (ASCII letters, digits, _)"
        )
    if name in ("torch", "jax", "jnp"):
        raise SymkinError(f"--name {name!r} would shadow the module the generated code uses")
    return name


def emit(program: Program, backend: Backend, options: EmitOptions = EmitOptions()) -> str:
    """The source of a module computing ``program`` with ``backend``."""
    signature = program.signature
    class_name = check_class_name(options.class_name or default_class_name(signature.robot_name))
    printer = backend.printer
    names = program.symbol_names
    scalars = [(name, *printer.scalar(expression, names)) for name, expression in program.scalars]
    pose_blocks, pose_ops = _printed_blocks(program.pose_blocks, printer, names)
    motion_blocks, motion_ops = _printed_blocks(program.motion_blocks, printer, names)
    prologue = [_statement_line(statement, printer) for statement in program.prologue]
    frame_ops = sum(ops for _, _, ops in scalars) + backend.fixed_operations
    slots, mimic_pairs = jacobian_slots(program)
    template = _environment().get_template(backend.template)
    return template.render(
        version=__version__,
        command=options.command,
        class_name=class_name,
        signature=signature,
        program=program,
        scalars=[(name, code) for name, code, _ in scalars],
        prologue=prologue,
        pose_blocks=pose_blocks,
        motion_blocks=motion_blocks,
        pose_columns=[printer.output(ref) for ref in program.pose_columns],
        axes=[printer.output(ref) for ref in program.axes],
        origins=[printer.output(ref) for ref in program.origins],
        exact_tables=_exact_tables(program),
        index_tables=_index_tables(program, slots, mimic_pairs),
        num_slots=len(set(slots.values())),
        jacobian_is_dense=_jacobian_is_dense(program),
        floating=program.signature.floating_base,
        has_mimic_pairs=mimic_pairs,
        operations={
            "pose": frame_ops + pose_ops,
            "full": frame_ops + pose_ops + motion_ops,
            "pose_lanes": program.lane_operations(motions=False),
            "full_lanes": program.lane_operations(motions=True),
        },
    )


def _printed_blocks(blocks, printer: Printer, names) -> tuple[list[dict], int]:
    printed, total = [], 0
    for block in blocks:
        lines = []
        for statement in block.statements:
            if not isinstance(statement, Assignment):
                lines.append(_statement_line(statement, printer))
                continue
            code, ops = printer.combination(statement, names)
            if len(statement.lanes) > 1:
                lines.append(("comment", f"lanes: {', '.join(statement.lanes)}"))
            lines.append(("assign", statement.target, code))
            total += ops
        printed.append({"title": comment_text(block.title), "lines": lines})
    return printed, total


def _statement_line(statement: View | Split, printer: Printer) -> tuple:
    """A view or a split as ``("view", name, code)`` or ``("split", names, code)`` for the templates."""
    if isinstance(statement, Split):
        return ("split", list(statement.names), printer.split(statement))
    return ("view", statement.name, view_code(statement))


def view_code(view: View) -> str:
    """A view as Python slicing, the same for every array library: rows (axis 0) or lanes (axis 1)."""
    step = f":{view.step}" if view.step != 1 else ""
    where = f"{view.start}:{view.stop}{step}"
    return f"{view.base}[{where}]" if view.axis == 0 else f"{view.base}[:, {where}]"


def _exact_tables(program: Program) -> dict[str, str]:
    """Python literals of the module's floating-point tables (see the templates for their shapes)."""
    angles = program.angles
    motions = program.motions
    return {
        "lower": _literal(list(program.signature.lower)),
        "upper": _literal(list(program.signature.upper)),
        "constants": _literal([list(lanes) for _, lanes in program.constants]),
        "lane_scales": _literal(list(program.lane_scales)),
        "angle_offsets": _literal(list(angles.offsets) if angles and angles.offsets else []),
        "angle_map": _literal(
            [list(row) for row in angles.matrix] if angles and angles.matrix else []
        ),
        "q_map": _literal([list(row) for row in motions.q_map]),
        "subtree": _literal([list(row) for row in motions.subtree]),
        "pair_scale": _literal([scale for _, _, _, scale in motions.pairs]),
    }


def jacobian_slots(program: Program) -> tuple[dict[int, int], bool]:
    """Per pair of a tip and a motion, its slot: a pair of a tip and a column of q. Pairs share a
    slot when a mimic joint and its source (or two mimic joints) are above one tip."""
    slot_of_target: dict[tuple[int, int], int] = {}
    slots = {}
    for k, (t, _, column, _) in enumerate(program.motions.pairs):
        slots[k] = slot_of_target.setdefault((t, column), len(slot_of_target))
    return slots, len(slot_of_target) < len(slots)


def _jacobian_is_dense(program: Program) -> bool:
    """Whether the pairs' columns, rows first, already are the Jacobians' entries in order (one tip
    with a column for every joint of q, in q's order): then nothing needs gathering."""
    motions, n = program.motions, len(program.signature.joint_names)
    return len(program.signature.tips) == 1 and [
        column for _, _, column, _ in motions.pairs
    ] == list(range(n))


def _index_tables(program: Program, slots: dict[int, int], mimic: bool) -> dict[str, str]:
    """Python literals of the module's index tables (see the templates for their shapes), with the
    pairs' ``slots`` and whether any ``mimic`` pairs share one (from :func:`jacobian_slots`)."""
    motions = program.motions
    n, tips = len(program.signature.joint_names), len(program.signature.tips)
    count = len(set(slots.values()))
    target_slot = {(motions.pairs[k][0], motions.pairs[k][2]): slot for k, slot in slots.items()}
    # Entry (t, r, column) of the Jacobians reads entry (r, slot) of the slots' columns, or the zero after them.
    source = [
        r * count + target_slot[(t, column)] if (t, column) in target_slot else 6 * count
        for t in range(tips)
        for r in range(6)
        for column in range(n)
    ]
    return {
        "motion_prismatic": _literal([int(p) for p in motions.prismatic]),
        "pair_tip": _literal([t for t, _, _, _ in motions.pairs]),
        "pair_motion": _literal([m for _, m, _, _ in motions.pairs]),
        "pair_slot": _literal(list(slots.values()) if mimic else []),
        "jacobian_source": _literal(source),
        "pair_prismatic": _literal([int(motions.prismatic[m]) for _, m, _, _ in motions.pairs]),
    }


def _literal(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    return float_literal(value)


def number_literal(value: sp.Expr) -> str:
    """A SymPy number as Python source: an integer as such, anything else as :func:`float_literal`."""
    return str(int(value)) if value.is_Integer else float_literal(float(value))


def float_literal(value: float) -> str:
    """A float as Python source that reads back bit for bit (``float("inf")`` for infinities)."""
    if math.isinf(value):
        return 'float("inf")' if value > 0 else '-float("inf")'
    return repr(float(value) + 0.0)


def unpack(names: list[str], value: Code, indent: int, width: int = LINE_WIDTH) -> str:
    """The statement ``names..., = value``, the names wrapped in parentheses when the line is too long."""
    pad = " " * indent
    line = f"{pad}{', '.join(names)}, = {one_line(value)}"
    if len(line) <= width:
        return line
    inner = listing(" " * (indent + 4), ", ".join(names), ",", width=width)
    return f"{pad}(\n{inner}\n" + layout(value, indent, prefix=") = ", width=width)


def listing(
    prefix: str,
    text: str,
    suffix: str = "",
    separator: str = ", ",
    continuation: str | None = None,
    width: int = LINE_WIDTH,
) -> str:
    """``prefix + text + suffix`` with ``text`` broken after each ``separator`` where a line would be
    too long. Continuation lines start with ``continuation``, by default four spaces deeper than
    ``prefix``; for a comment, pass ``"#   "`` (or the comment's indentation and that)."""
    if continuation is None:
        continuation = " " * (len(prefix) - len(prefix.lstrip()) + 4)
    kept = separator.rstrip()
    pieces = text.split(separator)
    lines, current = [], prefix + pieces[0]
    for k, piece in enumerate(pieces[1:], start=1):
        tail = len(suffix) if k == len(pieces) - 1 else len(kept)
        if len(current) + len(separator) + len(piece) + tail > width:
            lines.append(current + kept)
            current = continuation + piece
        else:
            current = f"{current}{separator}{piece}"
    lines.append(current + suffix)
    return "\n".join(lines)


def _template_folder():
    """The installed ``symkin.templates`` package, or ``templates/`` beside the package in a source checkout."""
    try:
        return resources.files("symkin.templates")
    except ModuleNotFoundError:
        return resources.files("symkin").joinpath("..", "templates")


def _environment() -> jinja2.Environment:
    templates = _template_folder()

    def load(name: str) -> str:
        folder = templates
        for part in name.split("/"):
            folder = folder.joinpath(part)
        return folder.read_text(encoding="utf-8")

    environment = jinja2.Environment(
        loader=jinja2.FunctionLoader(load),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["literal"] = lambda value: ascii(str(value))
    environment.filters["comment"] = comment_text
    environment.filters["float"] = float_literal
    environment.globals["layout"] = layout
    environment.globals["unpack"] = unpack
    environment.globals["listing"] = listing
    return environment
