"""The lowering's second pass: isomorphic assignments packed into lanes of one, and the tables cut.

At small batch sizes a tensor operation costs its dispatch whatever its size, so assignments that
play the same role in blocks of the same shape (a humanoid's two legs, a hand's fingers, siblings
fixed to one link) become lanes of one assignment on (4, L, B) tensors, when their sources line
up: the same column, constants, or lanes of one earlier packed tensor in the same order. An
assignment with no such partner is packed with the assignments of its own block that read the
same sources with constant coefficients (a link's points, spheres or inertia axes).
Differing numbers become per-lane tables; a sine whose sign differs between lanes is taken of the
negated angle, ``sin(−q) = −sin q``. Nothing is computed differently.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from symkin.compiler.cuts import angle_table, prologue, split_lanes
from symkin.compiler.kind_tables import output_tables
from symkin.compiler.naming import Named
from symkin.compiler.program import (
    AngleTable,
    Assignment,
    Block,
    Components,
    Concatenation,
    Part,
    Program,
    Ref,
    Statement,
    View,
)
from symkin.names import joint_label, unique_name


@dataclass(frozen=True)
class _Slice:
    """Rows of the angle table, one per lane: ``angles`` (the joint values themselves, for
    ``"joint"``) or their sines or cosines."""

    function: str  # "sin", "cos" or "joint"
    angles: tuple[sp.Expr, ...]


@dataclass(frozen=True)
class _Constants:
    """Every lane reads a constant column: the columns (numbers folded in) become a table."""

    columns: tuple[Components, ...]


@dataclass(frozen=True)
class _Broadcast:
    """Every lane reads the same column."""

    name: str


@dataclass(frozen=True)
class _LaneRun:
    """Lane k reads lane ``start + k·step`` of one packed tensor."""

    tensor: str
    start: int
    step: int


@dataclass(frozen=True)
class _TermPlan:
    """How one term of a packed assignment is computed.

    ``kind`` is the coefficient's kind (``number``, ``sin``, ``cos``, ``joint``); ``number`` its
    numeric factor, or one per lane for numbers that differ; ``symbols`` each lane's symbol.
    """

    kind: str
    number: sp.Expr | float | tuple[float, ...]
    symbols: tuple[sp.Expr, ...]
    source: _Constants | _Broadcast | _LaneRun


def pack(named: Named, pack: bool = True) -> Program:
    """The program of ``named``; with ``pack``, isomorphic assignments become lanes of one."""
    return _Packer(named, pack).run()


class _Packer:
    def __init__(self, named: Named, pack: bool) -> None:
        self.named = named
        self.pack = pack
        self.q = named.kinematics.q
        self.names: dict[sp.Symbol, str] = {s: s.name for s in self.q}
        self.names |= {s: s.name for s, _ in named.scalars}
        self.names |= {s: s.name for s in named.trig}
        self.taken: set[str] = set(self.names.values()) | set(named.constants)
        self.taken |= {a.target for part in named.parts for _, block in part.blocks for a in block}
        self.lane_of: dict[str, tuple[str, int]] = {}  # a vector's name -> (tensor, lane)
        self.width: dict[str, int] = {}
        self.views: dict[tuple, tuple[str, int]] = {}  # a view's key -> (name, part made in)
        self.part = 0  # the part being packed
        self.slices: dict[_Slice, sp.Symbol] = {}
        self.scale_tables: dict[tuple[float, ...], sp.Symbol] = {}
        self.lane_scales: list[float] = []
        self.constant_columns: list[tuple[str, Components]] = list(named.constants.items())
        self.constant_tables: dict[tuple[Components, ...], str] = {}
        self.pending_views: list[View] = []  # lanes viewed out of packed tensors, before first use
        self.table_views: list[View] = []  # rows or lanes of the constant tables
        self.lane_name: dict[tuple[str, int], str] = {}

    def run(self) -> Program:
        named = self.named
        parts = []
        for self.part, part in enumerate(named.parts):
            blocks = self._pack_part(part.blocks)
            concatenations = tuple(
                Concatenation(roots.name, roots.title, group, self._outputs(refs))
                for roots, group, refs in part.concatenations
            )
            title = "; ".join(dict.fromkeys(c.title for c in concatenations))
            made = self._flush_into(blocks, title or "views")
            parts.append(Part(part.groups, part.always, split_lanes(made), concatenations))
        assignments = [a for part in parts for block in part.blocks for a in block.assignments]
        used = {s for a in assignments for c, _ in a.terms for s in c.free_symbols}
        used |= {s for _, e in named.scalars for s in e.free_symbols}
        table, sines, cosines, trig_views = self._angle_table(used)
        read = {source for a in assignments for _, source in a.terms}
        read |= {ref.name for part in parts for c in part.concatenations for ref in c.refs}
        return Program(
            signature=named.kinematics.signature,
            groups=tuple(group.name for group in named.groups),
            calls=tuple(dict.fromkeys(call for group in named.groups for call in group.calls)),
            returns=tuple(roots.name for group in named.groups for roots in group.roots),
            joints=tuple((i, self.names[s]) for i, s in enumerate(self.q) if s in used),
            angles=table,
            scalars=tuple((self.names[s], e) for s, e in named.scalars),
            constants=tuple(self.constant_columns),
            lane_scales=tuple(self.lane_scales),
            prologue=prologue(
                sines,
                cosines,
                [name for name, _ in self.constant_columns],
                len(self.lane_scales),
                trig_views + self.table_views,
                read,
            ),
            parts=tuple(parts),
            motions=named.motions,
            outputs=output_tables(named.kinematics, named.motions),
            symbol_names=self.names,
            tree=named.kinematics.tree,
        )

    # --- grouping ---

    def _pack_part(
        self, blocks: list[tuple[str, list[Assignment]]]
    ) -> list[tuple[str, list[Statement]]]:
        """Pack the assignments of one part and lay them out in blocks."""
        items = [
            (title, block, a)
            for block, (title, assignments) in enumerate(blocks)
            for a in assignments
        ]
        role = {}
        for _, assignments in blocks:
            signature = tuple(self._shape(a) for a in assignments)
            for k, a in enumerate(assignments):
                role[a.target] = (signature, k)
        done: set[str] = set()
        laid_out: list[tuple[str, list[Statement]]] = []
        for i, (title, block, seed) in enumerate(items):
            if seed.target in done:
                continue
            group = [(title, seed)]
            if self.pack and self._packable(seed):
                later = [
                    (t, b, a)
                    for t, b, a in items[i + 1 :]
                    if a.target not in done and self._available(a)
                ]
                # First the same role in blocks of one shape (a humanoid's two legs); failing
                # that, the same sources with constant coefficients in one block (points or
                # spheres on one link, where only the numbers differ).
                group = self._grown(
                    group, [(t, a) for t, _, a in later if role[a.target] == role[seed.target]]
                )
                if len(group) == 1 and self._constant_coefficients(seed):
                    alike = [(t, a) for t, b, a in later if b == block and _same_sources(seed, a)]
                    group = self._grown(group, alike)
            assignment = self._packed([a for _, a in group])
            done.update(a.target for _, a in group)
            titles = list(dict.fromkeys(t for t, _ in group))
            heading = titles[0] if len(titles) == 1 else "; ".join(titles)
            if not laid_out or laid_out[-1][0] != heading:
                laid_out.append((heading, []))
            laid_out[-1][1].extend([*self.pending_views, assignment])
            self.pending_views = []
        return laid_out

    def _grown(
        self, group: list[tuple[str, Assignment]], candidates: list[tuple[str, Assignment]]
    ) -> list[tuple[str, Assignment]]:
        """``group`` with each candidate in turn that lines up with it as a further lane."""
        for candidate in candidates:
            if self._plan([a for _, a in group] + [candidate[1]]) is not None:
                group = [*group, candidate]
        return group

    def _flush_into(
        self, blocks: list[tuple[str, list[Statement]]], title: str
    ) -> tuple[Block, ...]:
        if self.pending_views:
            blocks.append((title, list(self.pending_views)))
            self.pending_views = []
        return tuple(Block(t, tuple(statements)) for t, statements in blocks)

    def _kind(self, coefficient: sp.Expr) -> str:
        _, symbol = coefficient.as_coeff_Mul()
        if symbol == 1:
            return "number"
        if symbol in self.named.trig:
            return self.named.trig[symbol][0]
        return "joint" if symbol in self.q else "compound"

    def _shape(self, assignment: Assignment) -> tuple:
        return tuple(
            (self._kind(c), source in self.named.constants) for c, source in assignment.terms
        )

    def _constant_coefficients(self, assignment: Assignment) -> bool:
        return all(self._kind(c) == "number" for c, _ in assignment.terms)

    def _packable(self, assignment: Assignment) -> bool:
        return all(self._kind(c) != "compound" for c, _ in assignment.terms)

    def _available(self, assignment: Assignment) -> bool:
        return all(
            source in self.named.constants or source in self.lane_of
            for _, source in assignment.terms
        )

    # --- planning a packed assignment ---

    def _plan(self, lanes: list[Assignment]) -> list[_TermPlan] | None:
        """How to compute ``lanes`` as one assignment, term by term, or None when they do not
        line up."""
        signs = self._sine_signs(lanes)
        if signs is None:
            return None
        plan = []
        for p, (coefficient, _) in enumerate(lanes[0].terms):
            kind = self._kind(coefficient)
            numbers = [a.terms[p][0].as_coeff_Mul()[0] for a in lanes]
            symbols = tuple(a.terms[p][0].as_coeff_Mul()[1] for a in lanes)
            sources = [a.terms[p][1] for a in lanes]
            if all(s in self.named.constants for s in sources):
                # Numbers, and the sign of a sine taken of a negated angle, go into the table.
                factors = [
                    float(n) * (signs[k] if kind == "sin" else 1) for k, n in enumerate(numbers)
                ]
                columns = tuple(
                    _scaled(self.named.constants[s], f)
                    for f, s in zip(factors, sources, strict=True)
                )
                plan.append(_TermPlan(kind, 1.0, symbols, _Constants(columns)))
                continue
            if any(s in self.named.constants for s in sources):
                return None
            source = self._line_up(sources)
            if source is None:
                return None
            if kind == "number":
                same = len(set(numbers)) == 1
                number = numbers[0] if same else tuple(float(n) for n in numbers)
                plan.append(_TermPlan(kind, number, symbols, source))
                continue
            base = numbers[0]
            expected = [base * (signs[k] if kind == "sin" else 1) for k in range(len(lanes))]
            if any(n != e for n, e in zip(numbers, expected, strict=True)):
                return None
            plan.append(_TermPlan(kind, base, symbols, source))
        return plan

    def _sine_signs(self, lanes: list[Assignment]) -> list[int] | None:
        """Per lane, +1 or −1: whether its sines are taken of its angle or of the negated angle, so
        that every sine term has lane 0's number; None when no choice lines them up."""
        signs = [1] * len(lanes)
        for p, (coefficient, _) in enumerate(lanes[0].terms):
            if self._kind(coefficient) != "sin" or lanes[0].terms[p][1] in self.named.constants:
                continue
            base = coefficient.as_coeff_Mul()[0]
            for k, a in enumerate(lanes):
                number = a.terms[p][0].as_coeff_Mul()[0]
                if abs(number) != abs(base):
                    return None
                signs[k] = 1 if number == base else -1
        angles = [
            {
                self.named.trig[c.as_coeff_Mul()[1]][1]
                for c, _ in a.terms
                if self._kind(c) in ("sin", "cos")
            }
            for a in lanes
        ]
        if len(lanes) > 1 and any(len(a) > 1 for a in angles):
            return None  # one angle per lane: a sign per lane then says which
        return signs

    def _line_up(self, sources: list[str]) -> _Broadcast | _LaneRun | None:
        """The sources of one term, one per lane, as one tensor: the same column for every lane, or
        lanes of one packed tensor in order; None otherwise."""
        if all(s == sources[0] for s in sources):
            return _Broadcast(sources[0])
        places = [self.lane_of[s] for s in sources]
        tensor = places[0][0]
        lanes = [lane for _, lane in places]
        step = lanes[1] - lanes[0]
        if (
            any(t != tensor for t, _ in places)
            or step <= 0
            or any(lanes[k] != lanes[0] + k * step for k in range(len(lanes)))
        ):
            return None
        return _LaneRun(tensor, lanes[0], step)

    # --- making the packed assignment ---

    def _packed(self, lanes: list[Assignment]) -> Assignment:
        """``lanes`` as one assignment (a single one as it is, its sources viewed by name)."""
        if len(lanes) == 1:
            single = lanes[0]
            terms = tuple(
                (c, self._column(s) if s not in self.named.constants else s)
                for c, s in single.terms
            )
            self.lane_of[single.target] = (single.target, 0)
            self.lane_name[(single.target, 0)] = single.target
            self.width[single.target] = 1
            return Assignment(single.target, terms, (single.target,))
        plan = self._plan(lanes)
        signs = self._sine_signs(lanes)
        assert plan is not None and signs is not None
        packed = [(self._coefficient(term, signs), self._source(term, len(lanes))) for term in plan]
        target = unique_name(f"{lanes[0].target}_lanes{len(lanes)}", self.taken)
        self.taken.add(target)
        self.width[target] = len(lanes)
        for k, a in enumerate(lanes):
            self.lane_of[a.target] = (target, k)
            self.lane_name[(target, k)] = a.target
        return Assignment(target, tuple(packed), tuple(a.target for a in lanes))

    def _source(self, term: _TermPlan, count: int) -> str:
        source = term.source
        if isinstance(source, _Constants):
            return self._constant_table(source.columns)
        if isinstance(source, _Broadcast):
            return self._column(source.name)
        return self._lanes_view(source.tensor, source.start, source.step, count)

    def _coefficient(self, term: _TermPlan, signs: list[int]) -> sp.Expr:
        number = term.number
        if term.kind == "number":
            if isinstance(number, tuple):
                return self._scale_table(number)
            return _number(number)
        assert not isinstance(number, tuple)
        trig = term.kind in ("sin", "cos")
        angles = tuple(
            (signs[k] * self.named.trig[symbol][1]) if trig else symbol
            for k, symbol in enumerate(term.symbols)
        )
        return self._slice(_Slice(term.kind, angles)) * _number(number)

    def _column(self, name: str) -> str:
        """A single column by its own name, viewed out of its packed tensor the first time."""
        if name in self.named.constants:
            return name
        tensor, lane = self.lane_of[name]
        if self.width[tensor] == 1:
            return tensor
        key = (tensor, 1, lane, lane + 1, 1)
        return self._view(key, name)

    def _lanes_view(self, tensor: str, start: int, step: int, count: int) -> str:
        if start == 0 and step == 1 and count == self.width[tensor]:
            return tensor
        key = (tensor, 1, start, start + step * (count - 1) + 1, step)
        suffix = f"_{step}" if step != 1 else ""
        return self._view(key, f"{tensor}_{start}_{key[3]}{suffix}")

    def _view(self, key: tuple, name: str) -> str:
        """The view ``key`` (tensor, axis, start, stop, step) by name, made where this part can read
        it: a view made in an earlier part serves only if that part runs whenever this one does."""
        if key in self.views:
            made, part = self.views[key]
            if self._covers(part, self.part):
                return made
        if name in self.taken or key in self.views:
            name = unique_name(name, self.taken)
        self.taken.add(name)
        self.views[key] = (name, self.part)
        tensor, axis, start, stop, step = key
        self.pending_views.append(View(name, tensor, axis, start, stop, step))
        return name

    def _covers(self, earlier: int, later: int) -> bool:
        """Whether part ``earlier`` runs in every call that runs part ``later``."""
        first, second = self.named.parts[earlier], self.named.parts[later]
        if first.always or earlier == later:
            return True
        calls = [call for group in self.named.groups for call in group.calls]
        return all(
            set(call) & set(first.groups) for call in calls if set(call) & set(second.groups)
        )

    def _constant_table(self, columns: tuple[Components, ...]) -> str:
        """Constant columns, one per lane: appended to the constant table, viewed by name."""
        if columns not in self.constant_tables:
            start = len(self.constant_columns)
            self.constant_columns.extend(("_", c) for c in columns)
            name = unique_name(f"constants_{start}_{start + len(columns)}", self.taken)
            self.taken.add(name)
            self.constant_tables[columns] = name
            self.table_views.append(View(name, "constants", 1, start, start + len(columns)))
        return self.constant_tables[columns]

    def _scale_table(self, numbers: tuple[float, ...]) -> sp.Symbol:
        if numbers not in self.scale_tables:
            start = len(self.lane_scales)
            self.lane_scales.extend(numbers)
            name = unique_name(f"scales_{start}_{start + len(numbers)}", self.taken)
            symbol = sp.Symbol(name, real=True)
            self.taken.add(symbol.name)
            self.names[symbol] = symbol.name
            self.scale_tables[numbers] = symbol
            view = View(symbol.name, "lane_scales", 0, start, start + len(numbers))
            self.table_views.append(view)
        return self.scale_tables[numbers]

    def _slice(self, wanted: _Slice) -> sp.Symbol:
        """A symbol naming L rows of the trig (or angle) table; its rows are placed later."""
        if wanted not in self.slices:
            labels = "__".join(self._lane_label(a) for a in wanted.angles)
            prefix = {"sin": "sin", "cos": "cos", "joint": "q"}[wanted.function]
            symbol = sp.Symbol(unique_name(f"{prefix}_{labels}"[:60], self.taken), real=True)
            self.taken.add(symbol.name)
            self.names[symbol] = symbol.name
            self.slices[wanted] = symbol
        return self.slices[wanted]

    def _outputs(self, refs: tuple[Ref, ...]) -> tuple[Ref, ...]:
        """Outputs as pieces to concatenate: runs of consecutive lanes of one tensor, one view."""
        pieces: list[
            tuple[str, int, int, bool, bool]
        ] = []  # tensor, start, stop, negated, constant
        for ref in refs:
            if ref.constant:
                pieces.append((ref.name, 0, 1, ref.negated, True))
                continue
            tensor, lane = self.lane_of[ref.name]
            last = pieces[-1] if pieces else None
            if (
                last
                and not last[4]
                and last[0] == tensor
                and last[2] == lane
                and last[3] == ref.negated
            ):
                pieces[-1] = (tensor, last[1], lane + 1, ref.negated, False)
            else:
                pieces.append((tensor, lane, lane + 1, ref.negated, False))
        result = []
        for tensor, start, stop, negated, constant in pieces:
            if constant:
                result.append(Ref(tensor, negated, True))
            elif stop - start == 1:
                result.append(Ref(self._column(self.lane_name[(tensor, start)]), negated))
            else:
                result.append(Ref(self._lanes_view(tensor, start, 1, stop - start), negated))
        return tuple(result)

    def _lane_label(self, angle: sp.Expr) -> str:
        """How a lane's angle reads in a slice's name: ``1``, ``m7`` (−q7), ``4_5`` (q4 + q5)."""
        if angle in self.named.angle_labels:
            return self.named.angle_labels[angle].lstrip("_")
        if (-angle) in self.named.angle_labels:
            return "m" + self.named.angle_labels[-angle].lstrip("_")
        return joint_label(angle, self.q, "_") or "angle"

    # --- the angle table ---

    def _angle_table(
        self, used: set[sp.Symbol]
    ) -> tuple[AngleTable | None, tuple[str, ...], tuple[str, ...], list[View]]:
        """Rows for every single sine, cosine and joint value the coefficients use (plain joints
        first, in q order), then a run of rows for every slice, which becomes a view of the sines,
        the cosines or the angles."""
        singles: dict[sp.Expr, list[str]] = {}
        for symbol, (function, angle) in self.named.trig.items():
            if symbol in used:
                singles.setdefault(angle, ["_", "_"])[0 if function == "sin" else 1] = symbol.name
        plain = [s for s in self.q if s in singles]
        rows: list[sp.Expr] = plain + [a for a in singles if a not in plain]
        sines = [singles[a][0] for a in rows]
        cosines = [singles[a][1] for a in rows]
        starts: dict[tuple[sp.Expr, ...], int] = {}
        for wanted, symbol in self.slices.items():
            if symbol in used and wanted.angles not in starts:
                starts[wanted.angles] = len(rows)
                rows.extend(wanted.angles)
        sines += ["_"] * (len(rows) - len(sines))
        cosines += ["_"] * (len(rows) - len(cosines))
        views = []
        for wanted, symbol in self.slices.items():
            if symbol not in used:
                continue
            start = starts[wanted.angles]
            if wanted.function == "joint":
                base, offset = "angles", 0
            else:
                base, offset = "trig", (0 if wanted.function == "sin" else len(rows))
            stop = offset + start + len(wanted.angles)
            views.append(View(symbol.name, base, 0, offset + start, stop))
        if not rows:
            return None, (), (), views
        return angle_table(tuple(rows), self.q), tuple(sines), tuple(cosines), views


def _same_sources(first: Assignment, second: Assignment) -> bool:
    """Whether two assignments read the same sources, term by term."""
    return [source for _, source in first.terms] == [source for _, source in second.terms]


def _number(value: sp.Expr | float) -> sp.Expr:
    """A coefficient's number: an Integer when integral, else a Float."""
    return sp.Integer(int(value)) if float(value).is_integer() else sp.Float(value)


def _scaled(components: Components, factor: float) -> Components:
    x, y, z, w = (factor * v for v in components)
    return (x, y, z, w)
