"""The ``symkin`` command line.

Every input problem ends in one line ``symkin: error: FILE: …`` on stderr and exit status 2,
with no traceback and no output file. Remarks about an input that are not errors are
``symkin: note: …`` lines. Commands import what they use when they run: ``--version``,
``info``, ``show`` and ``convert`` never import torch, and ``compile`` does not either.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from collections.abc import Sequence
from typing import NoReturn

from symkin import backends
from symkin._version import __version__
from symkin.errors import SymkinError
from symkin.model.robot import ALL_LEAVES


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise SymkinError(message)


def _robot_arguments(parser: argparse.ArgumentParser, tips: bool = True) -> None:
    parser.add_argument(
        "robot", help="URDF or MJCF file, DH table (.toml), or example-robot-data:PATH"
    )
    parser.add_argument(
        "--couple-joints",
        action="store_true",
        help="MJCF: linear joint equalities become mimic joints (default: every joint in q)",
    )
    if tips:
        parser.add_argument(
            "--tip",
            action="append",
            dest="tips",
            metavar="LINK",
            help="tip link or MJCF site (repeat for several; default: the leaves that move; "
            f"{ALL_LEAVES}: every leaf)",
        )
        parser.add_argument(
            "--base", metavar="LINK", help="base link, any link (default: the root link)"
        )


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="symkin",
        description="Compile robot kinematics to standalone code ("
        + ", ".join(backends.NAMES)
        + ").",
    )
    parser.add_argument("--version", action="version", version=f"symkin {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _compile_command(commands)
    _convert_command(commands)
    _info_command(commands)
    _show_command(commands)
    _report_command(commands)
    return parser


def _compile_command(commands) -> None:
    compile_ = commands.add_parser(
        "compile", help="write a module computing a robot's poses and Jacobians"
    )
    _robot_arguments(compile_)
    compile_.add_argument(
        "--floating-base",
        action="store_true",
        help="the base link is a free body: the module takes its world pose",
    )
    compile_.add_argument(
        "--com",
        action="store_true",
        help="add the centre of mass and its Jacobian (masses from the file)",
    )
    compile_.add_argument(
        "--velocity",
        action="store_true",
        help="add the tips' velocities, their Jacobians' time derivatives, the acceleration bias",
    )
    compile_.add_argument(
        "--dynamics",
        action="store_true",
        help="add inverse and forward dynamics, the mass matrix and gravity (masses from the file)",
    )
    compile_.add_argument(
        "--gravity",
        nargs=3,
        type=float,
        metavar=("X", "Y", "Z"),
        default=None,
        help="gravity in the base (floating: world) frame for --dynamics, m/s² "
        "(default: an MJCF file's, else 0 0 -9.81)",
    )
    compile_.add_argument(
        "--balance-inertia",
        action="store_true",
        help="with --dynamics, make inertias that are not physical isotropic (as MuJoCo's "
        "balanceinertia) instead of refusing them",
    )
    _collision_arguments(compile_)
    compile_.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="file, folder, or - for stdout (default: ROBOT_kinematics.py)",
    )
    compile_.add_argument(
        "--name", metavar="CLASS", help="class name (default: from the robot name)"
    )
    compile_.add_argument(
        "--backend",
        choices=backends.NAMES,
        default=backends.DEFAULT,
        help=f"what the module is written for (default: {backends.DEFAULT})",
    )
    compile_.add_argument(
        "-q", "--quiet", action="store_true", help="no progress messages or notes on stderr"
    )
    compile_.set_defaults(run=_compile)


def _convert_command(commands) -> None:
    convert = commands.add_parser(
        "convert", help="write a robot (a DH table, an MJCF file) as an equivalent URDF"
    )
    _robot_arguments(convert, tips=False)
    convert.add_argument(
        "-o", "--output", metavar="OUT", help="file, folder, or - for stdout (default: ROBOT.urdf)"
    )
    convert.set_defaults(run=_convert)


def _info_command(commands) -> None:
    info = commands.add_parser(
        "info",
        help="print the kinematic tree (with example-robot-data: alone, list its robot files)",
    )
    _robot_arguments(info, tips=False)
    _collision_arguments(info)
    info.set_defaults(run=_info)


def _collision_arguments(parser: argparse.ArgumentParser) -> None:
    from symkin.collision import DEFAULT_TOLERANCE
    from symkin.collision.pairs import SAMPLES

    parser.add_argument(
        "--collision",
        action="store_true",
        help="cover the links' collision geometry with spheres: their distances to each other "
        "and to obstacles (info: list the spheres and the pairs checked)",
    )
    parser.add_argument(
        "--sphere-tolerance",
        type=float,
        metavar="METRES",
        default=None,
        help=f"how far a sphere may reach outside the geometry (default {DEFAULT_TOLERANCE})",
    )
    parser.add_argument(
        "--srdf",
        metavar="FILE",
        default=None,
        help="leave out the pairs its <disable_collisions> names (default: example-robot-data's "
        "SRDF beside its URDF)",
    )
    parser.add_argument(
        "--package-dir",
        metavar="DIR",
        action="append",
        default=[],
        help="a folder holding ROS packages, for package:// mesh files (repeatable)",
    )
    parser.add_argument(
        "--collision-samples",
        type=int,
        metavar="N",
        default=SAMPLES,
        help="configurations sampled to leave out pairs in collision at all of them "
        f"(default {SAMPLES})",
    )


def _show_command(commands) -> None:
    show = commands.add_parser(
        "show", help="print closed-form expressions of a tip's pose or Jacobian"
    )
    _robot_arguments(show)
    show.add_argument(
        "--what",
        choices=("pose", "position", "rotation", "jacobian", "com"),
        default="pose",
        help="which quantity (default: pose); com: the centre of mass, once for the robot",
    )
    show.add_argument(
        "--format",
        choices=("pretty", "latex", "python"),
        default="pretty",
        help="output format (default: pretty)",
    )
    show.add_argument(
        "--form",
        choices=("auto", "expanded", "frames"),
        default="auto",
        help="every entry written out, or built through the frames along the way "
        "(default: auto, frames beyond 7 moving joints)",
    )
    show.set_defaults(run=_show)


def _report_command(commands) -> None:
    report = commands.add_parser(
        "report", help="write a Markdown report with formulas and pictures (needs symkin[report])"
    )
    _robot_arguments(report)
    report.add_argument(
        "-o", "--output", required=True, metavar="DIR", help="folder for report.md and its pictures"
    )
    report.add_argument(
        "-q", "--quiet", action="store_true", help="no progress messages or notes on stderr"
    )
    report.set_defaults(run=_report)


def _progress(arguments: argparse.Namespace):
    if getattr(arguments, "quiet", False):
        return lambda message: None
    return lambda message: print(f"symkin: {message}", file=sys.stderr, flush=True)


def _notes(arguments: argparse.Namespace):
    if getattr(arguments, "quiet", False):
        return lambda message: None
    return lambda message: print(f"symkin: note: {message}", file=sys.stderr, flush=True)


def _load(arguments: argparse.Namespace):
    from symkin.errors import read_input
    from symkin.readers.load import load, resolve_robot_path
    from symkin.readers.mjcf import is_mjcf, load_mjcf

    notes = _notes(arguments)
    if not arguments.couple_joints:
        return load(arguments.robot, notes=notes)
    path = resolve_robot_path(arguments.robot)
    if not is_mjcf(read_input(path)):
        raise SymkinError("--couple-joints applies to MJCF files only")
    return load_mjcf(path, couple_joints=True, notes=notes)


def _kinematics(arguments: argparse.Namespace, floating_base: bool | None = None):
    """The model and its kinematics for the tips and outputs asked for (noting leaves left out)."""
    from symkin.compiler.derive import derive
    from symkin.compiler.outputs import (
        Output,
        Velocities,
        center_of_mass,
        rigid_bodies,
    )

    model = _load(arguments)
    tips = arguments.tips[0] if arguments.tips == [ALL_LEAVES] else arguments.tips
    outputs: list[Output] = []
    if getattr(arguments, "com", False) or getattr(arguments, "what", None) == "com":
        outputs.append(center_of_mass(model))
    if getattr(arguments, "velocity", False):
        outputs.append(Velocities())
    gravity = getattr(arguments, "gravity", None)
    notes = _notes(arguments)
    if getattr(arguments, "dynamics", False):
        gravity = tuple(gravity) if gravity else None
        outputs.append(rigid_bodies(model, gravity, arguments.balance_inertia, notes))
    elif gravity is not None or getattr(arguments, "balance_inertia", False):
        raise SymkinError("--gravity and --balance-inertia are for --dynamics")
    if getattr(arguments, "collision", False):
        outputs.append(_collision(arguments, model)[0])
    return model, derive(model, tips, arguments.base, floating_base, outputs, notes)


def _collision(arguments: argparse.Namespace, model):
    """The collision output and its report, as the collision arguments ask."""
    from pathlib import Path

    from symkin.collision import DEFAULT_TOLERANCE, collision_output
    from symkin.collision.pairs import default_srdf
    from symkin.readers.load import resolve_robot_path

    path = resolve_robot_path(arguments.robot)
    srdf = Path(arguments.srdf) if arguments.srdf else default_srdf(path)
    if srdf is not None and not arguments.srdf:
        _notes(arguments)(f"pairs left out as {srdf.name} says (another with --srdf)")
    if arguments.collision_samples < 0:
        raise SymkinError("--collision-samples must be 0 or more")
    return collision_output(
        model,
        arguments.sphere_tolerance if arguments.sphere_tolerance is not None else DEFAULT_TOLERANCE,
        srdf,
        path.parent,
        [Path(folder) for folder in arguments.package_dir],
        arguments.collision_samples,
        # compile reports its progress (quiet with -q); info prints its listing only.
        _progress(arguments) if arguments.command == "compile" else None,
    )


def _check_collision_arguments(arguments: argparse.Namespace) -> None:
    given = [
        flag
        for flag, value in (
            ("--sphere-tolerance", arguments.sphere_tolerance is not None),
            ("--srdf", arguments.srdf is not None),
            ("--package-dir", bool(arguments.package_dir)),
        )
        if value
    ]
    if given and not arguments.collision:
        raise SymkinError(f"{', '.join(given)}: for --collision")


def _compile(arguments: argparse.Namespace, argv: Sequence[str]) -> int:
    from symkin.compiler.emit import EmitOptions, check_class_name, default_class_name
    from symkin.compiler.generate import generate
    from symkin.files import write_output
    from symkin.names import sanitize

    progress = _progress(arguments)
    chosen = backends.backend(arguments.backend)
    if arguments.name is not None:
        try:
            check_class_name(arguments.name, chosen.reserved)
        except SymkinError as error:
            raise SymkinError(f"--name {error.message}") from None
    _check_collision_arguments(arguments)
    started = time.perf_counter()
    progress(f"parsing {arguments.robot}")
    model, kinematics = _kinematics(arguments, floating_base=arguments.floating_base or None)
    tips, joints = _count(kinematics.tips, "tip"), _count(kinematics.joint_names, "joint")
    progress(f"derived the column program: {tips}, {joints} of {model.name!r}")
    source = generate(
        kinematics,
        EmitOptions(arguments.name, shlex.join(["symkin", *argv])),
        progress,
        arguments.backend,
    )
    default_name = f"{sanitize(model.name).lower()}_kinematics{chosen.file_suffix}.py"
    written = write_output(arguments.output, default_name, source)
    seconds = time.perf_counter() - started
    contents = (
        f"class {arguments.name or default_class_name(model.name)}"
        if chosen.module_class
        else f"{chosen.name} functions"
    )
    progress(f"wrote {written}: {contents} ({joints}, {tips}, {seconds:.1f} s)")
    return 0


def _convert(arguments: argparse.Namespace, argv: Sequence[str]) -> int:
    from symkin.files import write_output
    from symkin.names import sanitize
    from symkin.readers.urdf_writer import to_urdf

    model = _load(arguments)
    write_output(arguments.output, f"{sanitize(model.name).lower()}.urdf", to_urdf(model))
    return 0


def _info(arguments: argparse.Namespace, argv: Sequence[str]) -> int:
    from symkin.readers.load import EXAMPLE_ROBOT_DATA, example_robot_data_files

    if arguments.robot == EXAMPLE_ROBOT_DATA:
        print("\n".join(example_robot_data_files()))
        return 0
    from symkin.inspection.describe import describe

    _check_collision_arguments(arguments)
    model = _load(arguments)
    lines = [describe(model)]
    if arguments.collision:
        from symkin.collision import describe_collision

        lines += describe_collision(_collision(arguments, model)[1])
    print("\n".join(lines))
    return 0


def _show(arguments: argparse.Namespace, argv: Sequence[str]) -> int:
    from symkin.inspection.formulas import formula

    _, kinematics = _kinematics(arguments)
    tips = kinematics.tips[:1] if arguments.what == "com" else kinematics.tips
    texts = [
        formula(kinematics, tip, arguments.what, arguments.form).render(arguments.format)
        for tip in tips
    ]
    print("\n\n".join(text.rstrip("\n") for text in texts))
    return 0


def _report(arguments: argparse.Namespace, argv: Sequence[str]) -> int:
    from pathlib import Path

    from symkin.inspection.report import write_report

    progress = _progress(arguments)
    model, kinematics = _kinematics(arguments)
    path = write_report(model, kinematics, Path(arguments.output), progress)
    progress(f"wrote {path}")
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
    except BrokenPipeError:
        # Whoever read stdout stopped (`symkin show … | head`): not an error, and nothing left to
        # say.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _count(items: Sequence[object], noun: str) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"
