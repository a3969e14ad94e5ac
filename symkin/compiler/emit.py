"""Print a program as a module's source through a backend's printer, runtime and templates.

The templates hold the structure of the module (the header, the frame program's function, one
fragment per output kind with its functions); the backend's printer turns the program's
statements into code and says what each costs (:mod:`symkin.compiler.frame_printing`); of the
backend's runtime (robot-independent helpers, plain Python files) the module copies what it uses
(:mod:`symkin.compiler.runtime_copy`). Every name that came from an input file reaches the
source only as a Python string literal (``ascii``), in a comment with control characters escaped,
or as an identifier the lowering sanitised; input text is never template source. Templates are
rendered with ``StrictUndefined``.
"""

from __future__ import annotations

import ast
import keyword
from dataclasses import dataclass, field
from importlib import resources

import jinja2

from symkin._version import __version__
from symkin.compiler.frame_printing import FrameProgram, Printer, frame_tables, group_constant
from symkin.compiler.layout import doc_entry, float_literal, layout, listing, table_entry
from symkin.compiler.program import Program
from symkin.compiler.runtime_copy import runtime_source
from symkin.compiler.tables import MOTIONS, Table
from symkin.compiler.tree_form import few_configurations, tree_tables
from symkin.errors import SymkinError
from symkin.names import comment_text, sanitize


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
    frames = FrameProgram(program, backend.printer)
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


"""The line of a runtime that imports its array namespace, which a backend may make its own."""


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
