"""The ``symkin`` command line.

Every input problem ends in one line ``symkin: error: FILE: …`` on stderr and
exit status 2, with no traceback and no output file.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from ._compile import generate, load, stderr_note, stderr_progress, write_atomically
from ._derive import derive
from ._emit import EmitOptions, check_class_name
from ._errors import SymkinError
from ._inspect import FORMATS, WHATS, describe, formula
from ._report import write_report
from ._names import sanitize
from ._urdf import to_urdf
from ._version import __version__


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise SymkinError(message)


def _robot_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("robot", help="URDF or MJCF file, DH table (.toml), or example-robot-data:PATH")
    parser.add_argument(
        "--couple-joints", action="store_true", help="MJCF: linear joint equalities become mimic joints (default: all joints in q)"
    )


def _load(arguments: argparse.Namespace):
    return load(arguments.robot, arguments.couple_joints, notes=stderr_note)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="symkin", description="Compile robot kinematics to standalone PyTorch code.")
    parser.add_argument("--version", action="version", version=f"symkin {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    compile_ = commands.add_parser("compile", help="write a PyTorch module for a robot's forward kinematics")
    _robot_arguments(compile_)
    compile_.add_argument("--tip", action="append", dest="tips", metavar="LINK", help="tip link (repeat for several; default every leaf)")
    compile_.add_argument("--base", metavar="LINK", help="base link, any link (default: the root link)")
    compile_.add_argument(
        "--floating-base", action="store_true", help="the base link is a free body: the module takes its world pose"
    )
    compile_.add_argument("-o", "--output", metavar="OUT.py", help="output file (default: ROBOT_kinematics.py)")
    compile_.add_argument("--name", metavar="CLASS", help="class name (default: from the robot name)")
    compile_.add_argument("--backend", choices=("torch", "jax"), default="torch", help="what the module is written for (default: torch)")
    compile_.add_argument("-q", "--quiet", action="store_true", help="no progress messages on stderr")
    compile_.set_defaults(run=_compile)

    convert = commands.add_parser("convert", help="write a robot (e.g. a DH table) as an equivalent URDF")
    _robot_arguments(convert)
    convert.add_argument("-o", "--output", required=True, metavar="OUT.urdf", help="URDF file to write")
    convert.set_defaults(run=_convert)

    info = commands.add_parser("info", help="print the kinematic tree: links, joints, actuated joints, leaves")
    _robot_arguments(info)
    info.set_defaults(run=_info)

    show = commands.add_parser("show", help="print closed-form expressions of a tip's pose or Jacobian")
    _robot_arguments(show)
    show.add_argument("--tip", action="append", dest="tips", metavar="LINK", help="tip link (repeat; default every leaf)")
    show.add_argument("--base", metavar="LINK", help="base link (default: the root link)")
    show.add_argument("--what", choices=WHATS, default="pose", help="which quantity (default: pose)")
    show.add_argument("--format", choices=FORMATS, default="pretty", help="output format (default: pretty)")
    show.set_defaults(run=_show)

    report = commands.add_parser("report", help="write a Markdown report with formulas and pictures (needs symkin[report])")
    _robot_arguments(report)
    report.add_argument("--tip", action="append", dest="tips", metavar="LINK", help="tip link (repeat; default every leaf)")
    report.add_argument("--base", metavar="LINK", help="base link (default: the root link)")
    report.add_argument("-o", "--output", required=True, metavar="DIR", help="folder for report.md and its pictures")
    report.add_argument("-q", "--quiet", action="store_true", help="no progress messages on stderr")
    report.set_defaults(run=_report)
    return parser


def _kinematics(arguments: argparse.Namespace):
    model = _load(arguments)
    return model, derive(model, tuple(arguments.tips) if arguments.tips else None, arguments.base)


def _write(path: Path, text: str) -> None:
    try:
        write_atomically(path, text)
    except OSError as error:
        raise SymkinError(f"cannot write {path}: {error.strerror or error}") from None


def _convert(arguments: argparse.Namespace, argv: Sequence[str]) -> int:
    _write(Path(arguments.output), to_urdf(_load(arguments)))
    return 0


def _info(arguments: argparse.Namespace, argv: Sequence[str]) -> int:
    print(describe(_load(arguments)))
    return 0


def _show(arguments: argparse.Namespace, argv: Sequence[str]) -> int:
    _, kinematics = _kinematics(arguments)
    texts = [formula(kinematics, tip, arguments.what).render(arguments.format) for tip in kinematics.tips]
    print("\n\n".join(text.rstrip("\n") for text in texts))
    return 0


def _report(arguments: argparse.Namespace, argv: Sequence[str]) -> int:
    progress = (lambda message: None) if arguments.quiet else stderr_progress
    model, kinematics = _kinematics(arguments)
    path = write_report(model, kinematics, Path(arguments.output), progress)
    progress(f"wrote {path}")
    return 0


def _compile(arguments: argparse.Namespace, argv: Sequence[str]) -> int:
    progress = (lambda message: None) if arguments.quiet else stderr_progress
    if arguments.name is not None:
        check_class_name(arguments.name)
    started = time.perf_counter()
    progress(f"parsing {arguments.robot}")
    model = _load(arguments)
    tips = tuple(arguments.tips) if arguments.tips else None
    progress(f"deriving the column program of {len(tips) if tips else 'every leaf'} tip(s) of {model.name!r}")
    kinematics = derive(model, tips, arguments.base, floating_base=arguments.floating_base or None)
    command = shlex.join(["symkin", *argv])
    source = generate(kinematics, EmitOptions(arguments.name, command), progress, arguments.backend)
    suffix = "" if arguments.backend == "torch" else f"_{arguments.backend}"
    output = Path(arguments.output or f"{sanitize(model.name).lower()}_kinematics{suffix}.py")
    _write(output, source)
    progress(f"wrote {output} ({len(kinematics.joint_names)} joints, {len(kinematics.tips)} tips, {time.perf_counter() - started:.1f} s)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0, or 2 for bad input)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        arguments = _parser().parse_args(argv)
        try:
            return arguments.run(arguments, argv)
        except SymkinError as error:
            raise error.with_source(arguments.robot) from None
    except SymkinError as error:
        print(f"symkin: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("symkin: interrupted", file=sys.stderr)
        return 130
