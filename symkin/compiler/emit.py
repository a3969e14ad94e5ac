"""Print a program as a module's source through a backend's printer, runtime and templates.

The templates hold the structure of the module (the header, the frame program's function, one
fragment per output kind with its functions); the backend's printer turns the program's
statements into code and says what each costs; the backend's runtime (robot-independent helpers,
a plain Python file) is copied in verbatim. Every name that came from an input file reaches the
source only as a Python string literal (``ascii``), in a comment with control characters escaped,
or as an identifier the lowering sanitised; input text is never template source. Templates are
rendered with ``StrictUndefined``.
"""

from __future__ import annotations

import ast
import keyword
from dataclasses import dataclass, field
from importlib import resources
from typing import Protocol

import jinja2
import sympy as sp

from symkin._version import __version__
from symkin.compiler.layout import (
    LINE_WIDTH,
    Call,
    Code,
    doc_entry,
    float_literal,
    layout,
    listing,
    pack,
    slice_code,
    table_entry,
    unpack,
)
from symkin.compiler.program import AngleTable, Assignment, Program, Ref, Split, View
from symkin.compiler.tables import MOTIONS, Table
from symkin.compiler.tree_form import few_configurations, tree_tables
from symkin.errors import SymkinError
from symkin.names import comment_text, sanitize


class Printer(Protocol):
    """What a backend's printer provides: code for the program's statements, each with the number of
    tensor operations it dispatches (which the module's header reports)."""

    def joints(self, count: int, balls: tuple[int, ...]) -> tuple[Code, int]:
        """The joint values as rows, (n, B), from ``q``, each ball joint's quaternion (four rows
        from each of ``balls``) made a unit one."""

    def joint_row(self, index: int) -> tuple[Code, int]:
        """Row ``index`` of ``joints``."""

    def angles(self, table: AngleTable) -> tuple[Code, int]:
        """The angle table, (rows, B), from ``joints`` (and ``angle_offsets``, ``angle_map``)."""

    def trig(self) -> tuple[Code, int]:
        """The sines, then the cosines, of ``angles``."""

    def split(self, split: Split) -> tuple[Code, int]:
        """The right-hand side of a split: a sequence of its chunks."""

    def view(self, view: View) -> tuple[Code, int]:
        """Rows of a table (axis 0) or lanes of columns (axis 1)."""

    def scalar(self, expression: sp.Expr, names: dict[sp.Symbol, str]) -> tuple[Code, int]:
        """A compound coefficient."""

    def combination(self, assignment: Assignment, names: dict[sp.Symbol, str]) -> tuple[Code, int]:
        """An assignment's right-hand side."""

    def concatenation(self, refs: tuple[Ref, ...]) -> tuple[Code, int]:
        """Columns side by side, (4, K, B): negated or broadcast to the batch where needed."""


class SlicingStatements:
    """The statements every array library prints alike: the joints as rows (through the runtime's
    ``_joint_rows``), a row of them, and views by Python slicing."""

    def joints(self, count: int, balls: tuple[int, ...]) -> tuple[Code, int]:
        # q.reshape(-1, n) and a transpose, or for no joints an empty array: see the runtimes.
        rows = f"_joint_rows(q, {count})"
        if not balls:
            return rows, 2 if count else 1
        # Per quaternion, fourteen: the rows before it and its own, squared, summed, the scale (a
        # test, a clamp, a reciprocal square root, a choice), scaled, its w shifted where it was
        # zero; then the rows after the last and one concatenation.
        return Call("_unit_quaternions", (rows, repr(balls))), 2 + 14 * len(balls) + 2

    def joint_row(self, index: int) -> tuple[Code, int]:
        return f"joints[{index}]", 1

    def view(self, view: View) -> tuple[Code, int]:
        return slice_code(view.base, view.axis, view.start, view.stop, view.step), 1


@dataclass(frozen=True)
class Backend:
    """A code generator.

    Attributes:
        name: what ``--backend`` selects.
        printer: turns the program's statements into code.
        library: the one library the generated module imports.
        templates: the folders below ``templates/`` searched for the module's template
            (``module.py.jinja``) and each output kind's fragment (``<kind>.py.jinja``), in order.
        runtime: the modules whose source, below their docstrings, every generated module copies
            (as far as it uses it).
        namespace: for a runtime written against ``xp``, the line that imports it.
        file_suffix: what the default output file name ends with before ``.py``.
        closed_form_gradients: whether the module has its own backward (it needs the tables only
            a gradient uses).
        tree_form: whether the module computes poses and rigid bodies over a few configurations
            in their tree form (:mod:`symkin.compiler.tree_form`) when the program has one.
        reserved: names a generated module's class must not take (they would shadow its imports).
        module_class: whether the module is a class (named by ``EmitOptions.class_name``) rather
            than functions at module level.
    """

    name: str
    printer: Printer
    library: str
    templates: tuple[str, ...]
    runtime: tuple[str, ...]
    namespace: str | None = None
    file_suffix: str = ""
    closed_form_gradients: bool = False
    tree_form: bool = False
    reserved: tuple[str, ...] = field(default=())
    module_class: bool = False


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
    """The robot's name in CamelCase, word boundaries kept where a digit meets a digit, then
    ``Kinematics``: ``panda`` → ``PandaKinematics``, ``g1_29dof_rev_1_0`` →
    ``G1_29dofRev1_0Kinematics``, ``b1-z1`` → ``B1Z1Kinematics``."""
    words = [w for w in sanitize(robot_name).split("_") if w]
    camel = ""
    for word in words:
        # Two words that would run digits together ("1" + "0" → "10") keep their underscore.
        joiner = "_" if camel[-1:].isdigit() and word[0].isdigit() else ""
        camel += joiner + word[0].upper() + word[1:]
    if not camel or camel[0].isdigit():
        camel = "Robot" + camel
    return camel + "Kinematics"


def check_class_name(name: str, reserved: tuple[str, ...] = ()) -> str:
    """``name`` if a generated module may call its class so; SymkinError otherwise."""
    if (
        not name.isidentifier()
        or not name.isascii()
        or keyword.iskeyword(name)
        or name.startswith("_")
    ):
        raise SymkinError(f"{name!r} is not a usable Python class name (ASCII letters, digits, _)")
    if name in reserved:
        raise SymkinError(f"class name {name!r} would shadow a module the generated code uses")
    return name


def emit(program: Program, backend: Backend, options: EmitOptions | None = None) -> str:
    """The source of a module computing ``program`` with ``backend``."""
    options = options or EmitOptions()
    signature = program.signature
    class_name = options.class_name or default_class_name(signature.robot_name)
    frames = _FrameProgram(program, backend.printer)
    # A ball joint's quaternion is not an angle a Jacobian column differentiates by: autograd
    # differentiates the program instead.
    closed_form = backend.closed_form_gradients and not signature.balls
    tables = module_tables(program, closed_form)
    tree = program.tree if backend.tree_form else None
    # Per group, up to how many configurations a call takes the tree form (0 where it saves
    # nothing); no tree form where no group takes it.
    few: dict[str, int] = {}
    if tree is not None:
        groups = ("poses", "dynamics", *tree.point_groups)
        few = {
            group: few_configurations(tree, group, frames.operations((group, MOTIONS)))
            for group in groups
            if group in program.groups
        }
    tree = tree if any(few.values()) else None
    if tree is not None:
        tables |= tree_tables(tree, program.motions)
    environment = _environment(backend.templates)
    source = environment.get_template("module.py.jinja").render(
        version=__version__,
        command=options.command,
        class_name=check_class_name(class_name, backend.reserved),
        signature=signature,
        program=program,
        frames=frames,
        tables=tables,
        runtime=_RUNTIME_PLACEHOLDER,
        costs=frames.costs(),
        floating=signature.floating_base,
        closed_form=closed_form,
        tree=tree,
        few=few,
        # The width of v and a Jacobian's joint columns, as docstrings call it.
        nv="nv" if signature.balls else "n",
        library=backend.library,
    )
    runtime = runtime_source(backend.runtime, backend.namespace, _names_used(source))
    return source.replace(_RUNTIME_PLACEHOLDER + "\n", runtime)


_RUNTIME_PLACEHOLDER = "__symkin_runtime__"
"""Where the runtime goes, in a first rendering that shows which of its definitions are used."""


def _names_used(source: str) -> set[str]:
    return {node.id for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Name)}


def module_tables(program: Program, gradients: bool) -> dict[str, Table]:
    """Every constant table the module needs, by name: joint limits, the frame program's, the
    outputs' (without those only a closed-form gradient uses, unless ``gradients``)."""
    joints = len(program.signature.velocity_names)
    tables = {
        "lower": Table(list(program.signature.lower)),
        "upper": Table(list(program.signature.upper)),
    } | frame_tables(program)
    for output in program.outputs:
        for name, table in output.tables(program.motions, joints).items():
            if name in tables:  # shared by several outputs: only-gradient if it is for all
                table = Table(
                    table.values, table.kind, table.shape, table.gradient and tables[name].gradient
                )
            tables[name] = table
    return {name: table for name, table in tables.items() if gradients or not table.gradient}


def frame_tables(program: Program) -> dict[str, Table]:
    """The tables the frame program reads, in its parameters' order."""
    tables = {}
    read = {statement.base for statement in program.prologue}
    if "constants" in read:
        tables["constants"] = Table([list(c) for _, c in program.constants], "columns")
    angles = program.angles
    if angles is not None and angles.offsets is not None:
        tables["angle_offsets"] = Table(list(angles.offsets), shape=(-1, 1))
    if angles is not None and angles.matrix is not None:
        tables["angle_map"] = Table([list(row) for row in angles.matrix])
    if "lane_scales" in read:
        tables["lane_scales"] = Table(list(program.lane_scales), shape=(-1, 1))
    return tables


def group_constant(group: str) -> str:
    """The generated module's name for a group's bit: ``_POSES``, ``_MOTIONS`` …"""
    return f"_{group.upper()}"


@dataclass
class _Line:
    """A line of the frame program: ``kind`` is ``comment``, ``assign`` (``target = code``) or
    ``unpack`` (``targets... = code``)."""

    kind: str
    target: str | list[str]
    code: Code = ""

    def text(self, indent: int) -> str:
        if self.kind == "comment":
            pad = " " * indent
            return listing(f"{pad}# ", str(self.target), separator=" ", continuation=f"{pad}#   ")
        if self.kind == "unpack":
            assert isinstance(self.target, list)
            return unpack(self.target, self.code, indent)
        return layout(self.code, indent, f"{self.target} = ")


@dataclass
class _PrintedPart:
    """A part's lines, its guard (None: it always runs), its cost, and the concatenations made
    after it: ``(group, line, cost)``, a group of None when every call wants it."""

    guard: str | None
    lines: list[_Line]
    ops: int
    made: list[tuple[str | None, _Line, int]]


class _FrameProgram:
    """The frame program printed line by line, with the tensor operations of every call."""

    def __init__(self, program: Program, printer: Printer) -> None:
        self.program = program
        self.printer = printer
        self.bits = {group: 1 << k for k, group in enumerate(program.groups)}
        self.parameters = list(frame_tables(program))
        self.head: list[_Line] = []
        self.head_ops = self._head()
        self.parts = [self._part(part) for part in program.parts]
        self.returns = [c.name for c in program.concatenations]
        self.bit_names = ", ".join(group_constant(g) for g in program.groups)

    def guard(self, groups: tuple[str, ...]) -> str:
        constants = " | ".join(group_constant(g) for g in groups)
        return f"wanted & ({constants})" if len(groups) > 1 else f"wanted & {constants}"

    def calls(self) -> list[tuple[str, ...]]:
        """Every set of groups some function asks the frame program for, in group order."""
        return list(self.program.calls)

    def costs(self) -> list[tuple[str, int, int]]:
        """Per call: what it asks for (padded for a table), its tensor and lane operations."""
        rows = []
        for call in self.calls():
            label = f"{' + '.join(call)}:"
            rows.append((f"{label:34}", self.operations(call), self.program.lane_operations(call)))
        return rows

    def operations(self, call: tuple[str, ...]) -> int:
        """The tensor operations of a call asking for the groups ``call``."""
        ops = self.head_ops
        for part, printed in zip(self.program.parts, self.parts, strict=True):
            if self.program.runs(part, call):
                ops += printed.ops
            ops += sum(cost for group, _, cost in printed.made if group in (None, *call))
        return ops

    def lines(self) -> list[str]:
        """The body of the frame program's function, its return aside. A concatenation made under
        a guard is None until then; every other name is deleted after its last use."""
        return _freeing(self._guarded_lines(), keep={*self.returns, "batch"})

    def _guarded_lines(self) -> list[str]:
        text = [line.text(4) for line in self.head]
        for part in self.parts:
            later: dict[str, list[_Line]] = {}
            if part.guard is None:
                text += [line.text(4) for line in part.lines]
                text += [line.text(4) for group, line, _ in part.made if group is None]
            made_here = []
            for group, line, _ in part.made:
                if group is None:
                    continue
                if part.guard is not None and self.guard((group,)) == part.guard:
                    made_here.append(line)
                else:
                    later.setdefault(group, []).append(line)
            if part.guard is not None:
                body = [line.text(8) for line in (*part.lines, *made_here)]
                text += _defaults(made_here)
                if body:
                    text += [f"    if {part.guard}:", *body]
            for group, lines in later.items():
                text += _defaults(lines)
                text += [f"    if {self.guard((group,))}:", *(line.text(8) for line in lines)]
        return text

    def _part(self, part) -> _PrintedPart:
        lines, ops = self._part_lines(part.blocks)
        made: list[tuple[str | None, _Line, int]] = []
        # the views made for the concatenations come under their title already
        titles = [comment_text(block.title) for block in part.blocks if block.statements][-1:]
        for concatenation in part.concatenations:
            always = all(concatenation.group in call for call in self.calls())
            group = None if always else concatenation.group
            title = comment_text(concatenation.title)
            if title not in (*titles, *(line.target for _, line, _ in made)):
                made.append((group, _Line("comment", title), 0))
            code, cost = self.printer.concatenation(concatenation.refs)
            made.append((group, _Line("assign", concatenation.name, code), cost))
        guard = None if part.always else self.guard(part.groups)
        return _PrintedPart(guard, lines, ops, made)

    def _head(self) -> int:
        """Joints, angles, sines and cosines, the tables cut, compound coefficients."""
        program, printer, ops = self.program, self.printer, 0
        signature = program.signature
        code, cost = printer.joints(
            len(signature.joint_names), tuple(start for _, start, _ in signature.balls)
        )
        self.head.append(_Line("assign", "joints", code))
        ops += cost
        made = program.concatenations
        if any(not c.refs or any(ref.constant for ref in c.refs) for c in made):
            self.head.append(_Line("assign", "batch", "joints.shape[1]"))
        for index, name in program.joints:
            code, cost = printer.joint_row(index)
            self.head.append(_Line("assign", name, code))
            ops += cost
        if program.angles is not None:
            rows = ", ".join(program.angles.labels)
            self.head.append(_Line("comment", f"angles, row by row: {comment_text(rows)}"))
            code, cost = printer.angles(program.angles)
            self.head.append(_Line("assign", "angles", code))
            code, trig_cost = printer.trig()
            self.head.append(_Line("assign", "trig", code))
            ops += cost + trig_cost
        if program.prologue:
            comment = "the tables cut into what the frame program reads"
            self.head.append(_Line("comment", comment))
        for statement in program.prologue:
            line, cost = self._cut(statement)
            self.head.append(line)
            ops += cost
        if program.scalars:
            self.head.append(_Line("comment", "compound coefficients: general axes, mimic joints"))
        for name, expression in program.scalars:
            code, cost = printer.scalar(expression, program.symbol_names)
            self.head.append(_Line("assign", name, code))
            ops += cost
        return ops

    def _cut(self, statement: Split | View) -> tuple[_Line, int]:
        if isinstance(statement, Split):
            code, cost = self.printer.split(statement)
            return _Line("unpack", list(statement.names), code), cost
        code, cost = self.printer.view(statement)
        return _Line("assign", statement.name, code), cost

    def _part_lines(self, blocks) -> tuple[list[_Line], int]:
        lines, ops = [], 0
        names = self.program.symbol_names
        for block in blocks:
            if not block.statements:
                continue
            lines.append(_Line("comment", comment_text(block.title)))
            for statement in block.statements:
                if not isinstance(statement, Assignment):
                    line, cost = self._cut(statement)
                    lines.append(line)
                    ops += cost
                    continue
                code, cost = self.printer.combination(statement, names)
                if len(statement.lanes) > 1:
                    lines.append(_Line("comment", f"lanes: {', '.join(statement.lanes)}"))
                lines.append(_Line("assign", statement.target, code))
                ops += cost
        return lines, ops


def _freeing(text: list[str], keep: set[str]) -> list[str]:
    """The function body ``text`` (statements of one or more lines, at an indent of 4, guarded
    ones under ``if``) with a ``del`` after each statement that is the last to read a name it or
    an earlier statement assigned, except the names in ``keep``. Over many configurations a
    column freed early is memory the allocator gives the next one while it is still in cache,
    instead of more fresh memory (G1's forward at batch 16,384: 32 → 25 ms; at 1,000 the same)."""
    lines = "\n".join(text).split("\n")
    body = ast.parse("def f():\n" + "\n".join(lines)).body[0]
    assert isinstance(body, ast.FunctionDef)
    statements = [
        inner
        for statement in body.body
        for inner in ([statement] if not isinstance(statement, ast.If) else statement.body)
    ]
    assigned = {
        node.id
        for statement in statements
        for node in ast.walk(statement)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)
    }
    last_reader: dict[str, ast.stmt] = {}
    for statement in statements:
        for node in ast.walk(statement):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                last_reader[node.id] = statement
    freed: dict[int, list[str]] = {}  # the line after which names are deleted (1-based in body)
    for name, statement in last_reader.items():
        if name in assigned and name not in keep and statement is not statements[-1]:
            assert statement.end_lineno is not None
            freed.setdefault(statement.end_lineno - 1, []).append(name)
    indents = {
        statement.end_lineno - 1: " " * statement.col_offset
        for statement in statements
        if statement.end_lineno is not None
    }
    result = []
    for number, line in enumerate(lines, 1):
        result.append(line)
        if number in freed:
            names, pad = sorted(freed[number]), indents[number]
            one = f"{pad}del {', '.join(names)}"
            if len(one) > LINE_WIDTH:
                inner = pad + "    "
                one = f"{pad}del (\n{pack(inner, names, ',', continuation=inner)}\n{pad})"
            result.append(one)
    return result


def _defaults(lines: list[_Line]) -> list[str]:
    """``a = b = None`` for the concatenations that ``lines`` make under a guard."""
    names = [str(line.target) for line in lines if line.kind == "assign"]
    return [f"    {' = '.join(names)} = None"] if names else []


NAMESPACE_IMPORT = "import numpy as xp"
"""The line of a runtime that imports its array namespace, which a backend may make its own."""


def runtime_source(modules: tuple[str, ...], namespace: str | None, used: set[str]) -> str:
    """What a generated module copies of a backend's runtime modules: their imports and the
    definitions the module uses (``used`` names them), with those they use in turn, each as written
    with the comments before it; ``namespace`` replaces the line that imports ``xp``. A runtime
    module's imports of another (``from symkin...``) are left out: the definitions sit together."""
    sources = []
    for module in modules:
        package, _, name = module.rpartition(".")
        text = resources.files(package).joinpath(f"{name}.py").read_text(encoding="utf-8")
        sources.append((text.splitlines(), ast.parse(text).body[1:]))  # below the docstring
    defined = {_defined_name(node): node for _, body in sources for node in body}
    defined.pop(None, None)
    wanted, stack = set(), [name for name in used if name in defined]
    while stack:
        found = stack.pop()
        if found not in wanted:
            wanted.add(found)
            references = {n.id for n in ast.walk(defined[found]) if isinstance(n, ast.Name)}
            stack += [name for name in references if name in defined]
    referenced = used | {
        n.id for found in wanted for n in ast.walk(defined[found]) if isinstance(n, ast.Name)
    }
    imports: list[str] = []
    definitions = []
    for lines, body in sources:
        previous = 0
        for node in body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                if (getattr(node, "module", None) or "").startswith("symkin"):
                    continue
                bound = {(alias.asname or alias.name).split(".")[0] for alias in node.names}
                line = lines[node.lineno - 1].split("  #")[0]
                future = getattr(node, "module", None) == "__future__"
                if (future or bound & referenced) and line not in imports:
                    if imports and node.lineno > previous + 1:  # groups stay apart, as written
                        imports.append("")
                    imports.append(line)
                    previous = node.lineno
            elif _defined_name(node) in wanted:
                decorators = getattr(node, "decorator_list", [])
                start = min([node.lineno, *(d.lineno for d in decorators)]) - 1
                while start > 0 and lines[start - 1].startswith("#"):  # comments leading in
                    start -= 1
                definitions.append("\n".join(lines[start : node.end_lineno]))
    if namespace is not None:
        imports = [namespace if line.startswith(NAMESPACE_IMPORT) else line for line in imports]
    return "\n".join(imports) + "\n\n" + "\n\n\n".join(definitions) + "\n"


def _defined_name(node: ast.stmt) -> str | None:
    """The name a top-level statement defines (a function, a class, one assigned name)."""
    if isinstance(node, ast.FunctionDef | ast.ClassDef):
        return node.name
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target = node.targets[0]
        return target.id if isinstance(target, ast.Name) else None
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return node.target.id
    return None


def _template_folder():
    """The installed ``symkin.templates`` package, or ``templates/`` beside the package in a
    source checkout."""
    try:
        return resources.files("symkin.templates")
    except ModuleNotFoundError:
        return resources.files("symkin").joinpath("..", "templates")


def _environment(folders: tuple[str, ...]) -> jinja2.Environment:
    templates = _template_folder()

    def loader(*folder: str) -> jinja2.FunctionLoader:
        def load(name: str) -> str | None:
            path = templates
            for part in (*folder, *name.split("/")):
                path = path.joinpath(part)
            return path.read_text(encoding="utf-8") if path.is_file() else None

        return jinja2.FunctionLoader(load)

    # A name is looked up in the backend's folders in order, then from the top ("common/…").
    search = [loader(folder) for folder in folders]
    environment = jinja2.Environment(
        loader=jinja2.ChoiceLoader([*search, loader()]),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["literal"] = lambda value: ascii(str(value))
    # A tuple's items as literals; one item gets the comma that makes it a tuple.
    environment.filters["tuple_items"] = lambda values: (
        ", ".join(ascii(str(value)) for value in values) + ("," if len(values) == 1 else "")
    )
    # The argument passing table ``name`` from ``present`` (the names a call fetched into
    # ``variable``, in order), or None where the module has no such table.
    environment.globals["table_or_none"] = lambda present, name, variable="tables": (
        f"{variable}[{present.index(name)}]" if name in present else "None"
    )
    environment.filters["comment"] = comment_text
    environment.globals["layout"] = layout
    environment.globals["listing"] = listing
    environment.globals["table_entry"] = table_entry
    environment.globals["entry"] = doc_entry
    environment.filters["float_literal"] = float_literal
    environment.globals["group_constant"] = group_constant
    return environment
