"""The frame program printed line by line through a backend's printer: what the printer must
provide, the statements every array library prints alike, and the program's lines with their
guards by group, the arrays freed after last use, and the tensor operations each call dispatches.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Protocol

import sympy as sp

from symkin.compiler.layout import LINE_WIDTH, Call, Code, layout, listing, pack, slice_code, unpack
from symkin.compiler.program import AngleTable, Assignment, Program, Ref, Split, View
from symkin.compiler.tables import Table
from symkin.names import comment_text


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


class FrameProgram:
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
