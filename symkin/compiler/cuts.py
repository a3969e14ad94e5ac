"""Cutting tables and packed tensors into the named views the frame program reads, one split
per tensor where it can, and the angle table made from the joints."""

from __future__ import annotations

import itertools

import sympy as sp

from symkin.compiler.program import AngleTable, Assignment, Block, Split, Statement, View


def prologue(
    sines: tuple[str, ...],
    cosines: tuple[str, ...],
    constants: list[str],
    lane_scales: int,
    views: list[View],
    read: set[str],
) -> tuple[Split | View, ...]:
    """The tables cut into what the frame program reads, one split per table: the named ``sines``
    and ``cosines`` (rows of ``trig``), the constant columns read (``constants`` names the table's
    columns), and ``views`` of rows or lanes of the tables."""
    rows = len(sines)
    wanted: dict[str, list[tuple[str, int, int, int]]] = {}
    for r, name in enumerate(sines):
        wanted.setdefault("trig", []).append((name, r, r + 1, 1))
    for r, name in enumerate(cosines):
        wanted.setdefault("trig", []).append((name, rows + r, rows + r + 1, 1))
    for k, name in enumerate(constants):
        if name in read:
            wanted.setdefault("constants", []).append((name, k, k + 1, 1))
    for view in views:
        wanted.setdefault(view.base, []).append((view.name, view.start, view.stop, view.step))
    sizes = {
        "trig": 2 * rows,
        "angles": rows,
        "constants": len(constants),
        "lane_scales": lane_scales,
    }
    axes = {"trig": 0, "angles": 0, "constants": 1, "lane_scales": 0}
    statements: list[Split | View] = []
    for base in ("trig", "angles", "constants", "lane_scales"):
        if base in wanted:
            statements += cut(base, axes[base], sizes[base], wanted[base])
    return tuple(statements)


def cut(
    base: str, axis: int, size: int, wanted: list[tuple[str, int, int, int]]
) -> list[Split | View]:
    """Views ``(name, start, stop, step)`` of ``base`` as one split into consecutive chunks (every
    view that is exactly a chunk), then slices for the rest (strided, or spanning chunks)."""
    contiguous = [
        (name, start, stop) for name, start, stop, step in wanted if step == 1 and name != "_"
    ]
    bounds = sorted(
        {0, size} | {start for _, start, _ in contiguous} | {stop for _, _, stop in contiguous}
    )
    chunks = list(itertools.pairwise(bounds))
    chunk_name: dict[tuple[int, int], str] = {}
    rest: list[View] = []
    for name, start, stop, step in wanted:
        if name == "_":
            continue
        if step == 1 and (start, stop) in chunks and (start, stop) not in chunk_name:
            chunk_name[(start, stop)] = name
        else:
            rest.append(View(name, base, axis, start, stop, step))
    names = tuple(chunk_name.get(chunk, "_") for chunk in chunks)
    split = [Split(names, base, axis, tuple(b - a for a, b in chunks))] if chunk_name else []
    return [*split, *rest]


def split_lanes(blocks: tuple[Block, ...]) -> tuple[Block, ...]:
    """Lanes of packed tensors viewed once, right after the tensor is made: one split for all."""
    wanted: dict[str, list[tuple[str, int, int, int]]] = {}
    width: dict[str, int] = {}
    for block in blocks:
        for statement in block.statements:
            if isinstance(statement, View) and statement.axis == 1:
                wanted.setdefault(statement.base, []).append(
                    (statement.name, statement.start, statement.stop, statement.step)
                )
            elif isinstance(statement, Assignment):
                width[statement.target] = len(statement.lanes)
    result = []
    for block in blocks:
        statements: list[Statement] = []
        for statement in block.statements:
            if isinstance(statement, View) and statement.base in width:
                continue
            statements.append(statement)
            if isinstance(statement, Assignment) and statement.target in wanted:
                statements += cut(
                    statement.target, 1, width[statement.target], wanted[statement.target]
                )
        result.append(Block(block.title, tuple(statements)))
    return tuple(result)


def angle_table(angles: tuple[sp.Expr, ...], q: tuple[sp.Symbol, ...]) -> AngleTable:
    """One joint per row: a view of the joints (rows no angle needs come along, cheaper than a
    gather), plus offsets if any row has one. Other rows (q2 + q3, a mimic joint's multiple, the
    same angle twice): one matrix product."""
    n = len(q)
    index = {s: i for i, s in enumerate(q)}
    linear = []
    for angle in angles:
        terms = dict(angle.as_coefficients_dict())
        offset = float(terms.pop(sp.Integer(1), 0))
        linear.append(({index[s]: float(m) for s, m in terms.items()}, offset))
    single = [next(iter(c)) for c, _ in linear if list(c.values()) == [1.0]]
    offsets = tuple(offset for _, offset in linear)
    labels = tuple(sp.sstr(a) for a in angles)
    if len(single) == len(linear) and single == list(range(single[0], single[0] + len(single))):
        lo, hi = single[0], single[-1] + 1
        source: str | tuple[int, int] = "joints" if (lo, hi) == (0, n) else (lo, hi)
        return AngleTable(source, offsets if any(offsets) else None, None, labels)
    matrix = tuple(tuple(c.get(i, 0.0) for i in range(n)) for c, _ in linear)
    return AngleTable("map", offsets if any(offsets) else None, matrix, labels)
