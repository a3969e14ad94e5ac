"""The program a backend prints: named column tensors, views, tables, and each output's tables.

Nothing here knows a tensor library; :mod:`symkin.compiler.lower` makes a program from the column
program, and a backend's printer and templates print it. The **frame program** computes, over a
batch of B configurations:

- the angle table, ``angles`` (rows, B), from the joint values ``joints`` (n, B), and the sines
  and cosines of its rows, ``trig`` (2·rows, B): sines first;
- assignments ``target = Σ coefficient · source`` over column tensors of shape (4, L, B): L lanes,
  each a homogeneous 4-vector of some frame (w = 0 for directions, 1 for points). A coefficient is
  a number, or a number times a scalar name: a row of ``trig`` or ``joints``, a compound
  coefficient ``k…``, or, for L > 1, a view of L rows of a table (one per lane);
- views: lanes of a column tensor, or rows of a table, given a name where they are first needed;
- concatenations: the roots of each group (the tips' columns, the joints' axes and origins, an
  output's points), each a (4, K, B) tensor.

Statements are laid out in parts; a part runs for the calls whose wanted groups it serves (a
forward pass skips what only Jacobians need). Each output kind's tables (:mod:`symkin.compiler.
tables`) say how its functions turn the concatenations into results.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from symkin.compiler.column_program import Signature
from symkin.compiler.kind_tables import OutputTables
from symkin.compiler.tables import MotionTables
from symkin.compiler.tree_form import TreeForm

Components = tuple[float, float, float, float]
"""The x, y, z, w of a constant column, in float64."""


@dataclass(frozen=True)
class Ref:
    """A column by name (a lane of an assignment, or a constant column), possibly negated."""

    name: str
    negated: bool = False
    constant: bool = False


@dataclass(frozen=True)
class Assignment:
    """``target = Σ coefficient · source``, a (4, L, B) tensor with one lane per name in ``lanes``.

    Each coefficient is a number or a number times one scalar symbol (see the module docstring);
    each source names a column tensor of L lanes, a constant table view of L lanes, or a single
    column that every lane uses. Signs are in the coefficients: sources are never negated.
    """

    target: str
    terms: tuple[tuple[sp.Expr, str], ...]
    lanes: tuple[str, ...]


@dataclass(frozen=True)
class View:
    """``name = base[start:stop:step]`` along ``axis``: rows of a table (0), or lanes of columns
    (1)."""

    name: str
    base: str
    axis: int
    start: int
    stop: int
    step: int = 1


@dataclass(frozen=True)
class Split:
    """``names = base`` cut along ``axis`` into consecutive chunks of ``sizes``: one operation for
    many views (``"_"`` for a chunk nothing reads)."""

    names: tuple[str, ...]
    base: str
    axis: int
    sizes: tuple[int, ...]


Statement = Assignment | View | Split


@dataclass(frozen=True)
class Block:
    """The statements made while crossing some joints (``title`` says which), or at outputs."""

    title: str
    statements: tuple[Statement, ...]

    @property
    def assignments(self) -> tuple[Assignment, ...]:
        return tuple(s for s in self.statements if isinstance(s, Assignment))


@dataclass(frozen=True)
class Concatenation:
    """``name``: the columns ``refs`` side by side, a (4, K, B) tensor; made when ``group`` is
    wanted."""

    name: str
    title: str
    group: str
    refs: tuple[Ref, ...]


@dataclass(frozen=True)
class Part:
    """Statements that the same calls need: run when the call wants a group of ``groups`` (always,
    when every call does), then the concatenations whose columns are all made by now."""

    groups: tuple[str, ...]
    always: bool
    blocks: tuple[Block, ...]
    concatenations: tuple[Concatenation, ...]


@dataclass(frozen=True)
class AngleTable:
    """How the (rows, B) angle tensor is made from the (n, B) joint tensor.

    ``source`` is ``"joints"`` (row r is joint r), a slice ``(lo, hi)`` of the joint rows, or
    ``"map"`` (``matrix @ joints``); ``offsets`` (one per row) are added when any is nonzero.
    ``labels`` give each row as text, for a comment.
    """

    source: str | tuple[int, int]
    offsets: tuple[float, ...] | None
    matrix: tuple[tuple[float, ...], ...] | None
    labels: tuple[str, ...]


@dataclass(frozen=True)
class Program:
    """The straight-line program a backend prints, and the tables of each output.

    Attributes:
        signature: robot, base, tips, joints and limits.
        groups: the names of the groups of roots, in bit order (bit k is 2**k).
        calls: every set of groups some function of the module asks the frame program for.
        returns: the concatenations' names, in the order the frame program returns them.
        joints: ``(row, name)`` of the joint rows used directly as coefficients (prismatic joints).
        angles: the angle table, None when there is no angle.
        scalars: ``(name, expression)`` compound coefficients, in joint, sine and cosine names.
        constants: ``(name, components)`` constant columns, in table order (``"_"`` for columns
            only read as lanes of several).
        lane_scales: per-lane numbers, in table order: rows of them scale packed terms.
        prologue: the tables cut into what the frame program reads: single sines and cosines
            (``s1``, ``c23``), rows of several (one per lane), constant columns, lane scales.
        parts: the frame program's statements, in the order they run.
        motions: the moving joints, for every Jacobian.
        outputs: each output kind's tables (:mod:`symkin.compiler.tables`), in output order.
        symbol_names: the identifier of every scalar symbol used in coefficients.
        tree: the tree form of the poses and rigid bodies (:mod:`symkin.compiler.tree_form`), for
            backends that take it over a few configurations; None where there is none.
    """

    signature: Signature
    groups: tuple[str, ...]
    calls: tuple[tuple[str, ...], ...]
    returns: tuple[str, ...]
    joints: tuple[tuple[int, str], ...]
    angles: AngleTable | None
    scalars: tuple[tuple[str, sp.Expr], ...]
    constants: tuple[tuple[str, Components], ...]
    lane_scales: tuple[float, ...]
    prologue: tuple[Split | View, ...]
    parts: tuple[Part, ...]
    motions: MotionTables
    outputs: tuple[OutputTables, ...]
    symbol_names: dict[sp.Symbol, str]
    tree: TreeForm | None = None

    @property
    def blocks(self) -> tuple[Block, ...]:
        return tuple(block for part in self.parts for block in part.blocks)

    @property
    def assignments(self) -> tuple[Assignment, ...]:
        """Every assignment, in program order."""
        return tuple(a for block in self.blocks for a in block.assignments)

    @property
    def concatenations(self) -> tuple[Concatenation, ...]:
        """Every concatenation, in group order: what the frame program returns."""
        made = [c for part in self.parts for c in part.concatenations]
        return tuple(sorted(made, key=lambda c: self.returns.index(c.name)))

    def concatenation(self, name: str) -> Concatenation:
        return next(c for c in self.concatenations if c.name == name)

    def runs(self, part: Part, wanted: tuple[str, ...]) -> bool:
        """Whether ``part`` runs in a call wanting the groups ``wanted``."""
        return part.always or any(group in wanted for group in part.groups)

    def lane_operations(self, wanted: tuple[str, ...]) -> int:
        """Multiplications and additions per configuration on the 4-lane columns of the frame
        program, in a call wanting the groups ``wanted``."""
        count = 0
        for part in self.parts:
            if not self.runs(part, wanted):
                continue
            for assignment in (a for block in part.blocks for a in block.assignments):
                for k, (coefficient, _) in enumerate(assignment.terms):
                    number, symbol = coefficient.as_coeff_Mul()
                    ops = (symbol != 1) + (number not in (1, -1)) + (k > 0)
                    count += len(assignment.lanes) * ops
        return 4 * count
