"""The program a backend prints: named column tensors, views, tables and outputs.

Nothing here knows a tensor library; :mod:`symkin.compiler.lower` makes a program from the column
program of :mod:`symkin.compiler.derive`, and a backend's printer and template print it. The program
computes, over a batch of B configurations:

- the angle table, ``angles`` (rows, B), from the joint values ``joints`` (n, B), and the sines
  and cosines of its rows, ``trig`` (2·rows, B): sines first;
- assignments ``target = Σ coefficient · source`` over column tensors of shape (4, L, B): L lanes,
  each a homogeneous 4-vector of some frame (w = 0 for directions, 1 for points). A coefficient is
  a number, or a number times a scalar name: a row of ``trig`` or ``joints``, a compound
  coefficient ``k…``, or, for L > 1, a view of L rows of a table (one per lane);
- views: lanes of a column tensor, or rows of a table, given a name where they are first needed;
- the outputs: every tip's columns, and every moving joint's axis and origin.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from symkin.compiler.derive import Signature

Lanes = tuple[float, float, float, float]


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
    """``name = base[start:stop:step]`` along ``axis``: rows of a table (0), or lanes of columns (1)."""

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
    """The statements made while crossing some joints (``title`` says which), or at tips."""

    title: str
    statements: tuple[Statement, ...]

    @property
    def assignments(self) -> tuple[Assignment, ...]:
        return tuple(s for s in self.statements if isinstance(s, Assignment))


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
class MotionTables:
    """Index tables of the moving joints (M of them, in program order) and their pairs with tips.

    Attributes:
        joint_names: the moving joint of each motion.
        prismatic: per motion, whether it slides (else it turns).
        q_map: (M × n): motion m's rate per unit rate of q column i (mimic multiplier, −1 when
            crossed upward, −1 when its axis is stored negated).
        subtree: (M × T): 1 where the motion moves the tip.
        pairs: per (tip, motion) pair: ``(tip, motion, q column, scale)``, scale as in ``q_map``.
    """

    joint_names: tuple[str, ...]
    prismatic: tuple[bool, ...]
    q_map: tuple[tuple[float, ...], ...]
    subtree: tuple[tuple[float, ...], ...]
    pairs: tuple[tuple[int, int, int, float], ...]


@dataclass(frozen=True)
class Program:
    """The straight-line program a backend prints: poses of every tip, and joint axes and origins.

    Attributes:
        signature: robot, base, tips, joints and limits.
        joints: ``(row, name)`` of the joint rows used directly as coefficients (prismatic joints).
        angles: the angle table, None when there is no angle.
        scalars: ``(name, expression)`` compound coefficients, in joint, sine and cosine names.
        constants: ``(name, lanes)`` constant columns, in table order (``"_"`` for columns only
            read as lanes of several).
        lane_scales: per-lane numbers, in table order: rows of them scale packed terms.
        prologue: the tables cut into what the frame program reads: single sines and cosines
            (``s1``, ``c23``), rows of several (one per lane), constant columns, lane scales.
        pose_blocks: the statements the poses need.
        motion_blocks: the statements only the joint axes and origins need.
        pose_columns: per tip its rotation columns 0, 1, 2 and its origin, flattened.
        axes, origins: per motion, its axis and its origin.
        motions: the index tables of the Jacobian and the backward.
        symbol_names: the identifier of every scalar symbol used in coefficients.
    """

    signature: Signature
    joints: tuple[tuple[int, str], ...]
    angles: AngleTable | None
    scalars: tuple[tuple[str, sp.Expr], ...]
    constants: tuple[tuple[str, Lanes], ...]
    lane_scales: tuple[float, ...]
    prologue: tuple[Split | View, ...]
    pose_blocks: tuple[Block, ...]
    motion_blocks: tuple[Block, ...]
    pose_columns: tuple[Ref, ...]
    axes: tuple[Ref, ...]
    origins: tuple[Ref, ...]
    motions: MotionTables
    symbol_names: dict[sp.Symbol, str]

    @property
    def assignments(self) -> tuple[Assignment, ...]:
        """Every assignment, pose part first."""
        return tuple(
            a for block in (*self.pose_blocks, *self.motion_blocks) for a in block.assignments
        )

    def lane_operations(self, motions: bool) -> int:
        """Multiplications and additions per configuration on the 4-lane columns of the frame program
        (with ``motions``, including what only the joint axes and origins need)."""
        blocks = (*self.pose_blocks, *self.motion_blocks) if motions else self.pose_blocks
        count = 0
        for assignment in (a for block in blocks for a in block.assignments):
            for k, (coefficient, _) in enumerate(assignment.terms):
                number, symbol = coefficient.as_coeff_Mul()
                count += len(assignment.lanes) * ((symbol != 1) + (number not in (1, -1)) + (k > 0))
        return 4 * count
