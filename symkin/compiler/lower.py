"""Lower the column program into the program a backend prints (:mod:`symkin.compiler.program`).

Two passes:

1. **Naming.** Every vector the outputs need gets a name (``R_<link>_0`` rotation column 0,
   ``p_<link>`` origin, ``axis_<joint>``, ``neg_…`` stored negated) and becomes an assignment
   from earlier ones, in blocks, one block per joint crossed; what only the joint axes and origins
   need comes after what the poses need, so that a pose-only evaluation stops early. Sines and
   cosines get their textbook names (``s1``, ``c23``); compound coefficients (general axes, mimic
   joints) are named once (``k0, k1 …``); constant vectors are a table.
2. **Packing.** At small batch sizes a tensor operation costs its dispatch whatever its size, so
   assignments that play the same role in blocks of the same shape (a humanoid's two legs, a hand's
   fingers, siblings fixed to one link) become lanes of one assignment on (4, L, B) tensors, when
   their sources line up: the same column, constants, or lanes of one earlier packed tensor in the
   same order. Differing numbers become per-lane tables; a sine whose sign differs between lanes
   is taken of the negated angle, ``sin(−q) = −sin q``. Nothing is computed differently.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import sympy as sp

from symkin.compiler.derive import Kinematics, Vector
from symkin.compiler.program import (
    AngleTable,
    Assignment,
    Block,
    Lanes,
    MotionTables,
    Program,
    Ref,
    Split,
    Statement,
    View,
)
from symkin.names import joint_label, sanitize, unique_name


def lower(kinematics: Kinematics, pack: bool = True) -> Program:
    """The program of ``kinematics``: every tip's pose, and every moving joint's axis and origin.

    A vector that the pose outputs use negated more often than not is stored negated when that
    costs nothing (a negated output is an operation of its own); a negated axis costs nothing at
    all, its sign goes into the motion tables. With ``pack``, isomorphic assignments become lanes
    of one (see the module docstring).
    """
    trial = _Naming(kinematics, frozenset())
    preferred = trial.negated_outputs(trial.run())
    naming = _Naming(kinematics, preferred)
    named = naming.run()
    # An output whose terms are all negative is stored negated and costs a negation; storing one of
    # its sources negated instead may spare it. Try that, greedily, while it helps.
    for _ in range(_SIGN_SEARCH_ROUNDS):
        improved = False
        for index in naming.sources_of_negated_outputs(named):
            trial = _Naming(kinematics, preferred ^ {index})
            candidate = trial.run()
            if _negations(candidate) < _negations(named):
                preferred, naming, named, improved = preferred ^ {index}, trial, candidate, True
                break
        if not improved:
            break
    return _Packer(named, pack).run()


_SIGN_SEARCH_ROUNDS = 8


def _negations(named: _Named) -> int:
    return sum(ref.negated for ref in named.pose_columns)


# --- pass 1: naming ------------------------------------------------------------------------------


@dataclass
class _Named:
    """The result of naming: one lane per assignment, and what packing needs to know of the scalars."""

    kinematics: Kinematics
    pose_blocks: list[tuple[str, list[Assignment]]]
    motion_blocks: list[tuple[str, list[Assignment]]]
    pose_columns: tuple[Ref, ...]
    axes: tuple[Ref, ...]
    origins: tuple[Ref, ...]
    constants: dict[str, Lanes]
    scalars: tuple[tuple[sp.Symbol, sp.Expr], ...]
    trig: dict[sp.Symbol, tuple[str, sp.Expr]]  # s1 -> ("sin", q1)
    angle_labels: dict[sp.Expr, str]  # q2 + q3 -> "23", q7 - pi/4 -> "_angle7"
    motions: MotionTables
    index_of: dict[str, int] = field(default_factory=dict)
    negated: dict[str, bool] = field(default_factory=dict)


class _Naming:
    def __init__(self, kinematics: Kinematics, prefer_negated: frozenset[int]) -> None:
        self.kinematics = kinematics
        self.vectors = kinematics.vectors
        self.prefer_negated = prefer_negated
        self.ref: dict[int, Ref] = {}
        self.constants: dict[Lanes, str] = {}
        self.taken: set[str] = set()
        self.frame_identifiers: dict[str, str] = {}
        self.trig: dict[sp.Expr, sp.Symbol] = {}
        self.compound: dict[sp.Expr, sp.Expr] = {}
        self.index_of: dict[str, int] = {}

    def run(self) -> _Named:
        kinematics = self.kinematics
        pose_roots = [i for tip in kinematics.tip_frames for i in tip.columns]
        motion_roots = [i for m in kinematics.motions for i in (m.axis, m.origin)]
        pose_needed = kinematics.dependencies(pose_roots)
        motion_needed = sorted(set(kinematics.dependencies(motion_roots)) - set(pose_needed))
        coefficients = [c for i in pose_needed + motion_needed for c, _ in self.vectors[i].terms]
        angles = _angles(coefficients, kinematics.q)
        labels = [_angle_label(a, kinematics.q, k) for k, a in enumerate(angles)]
        sines = [sp.Symbol(f"s{label}", real=True) for label in labels]
        cosines = [sp.Symbol(f"c{label}", real=True) for label in labels]
        self.trig = {sp.sin(a): s for a, s in zip(angles, sines)} | {
            sp.cos(a): c for a, c in zip(angles, cosines)
        }
        scalars, self.compound = _coefficient_cse([c.xreplace(self.trig) for c in coefficients])
        self.taken |= {s.name for s in (*kinematics.q, *sines, *cosines)} | {
            s.name for s, _ in scalars
        }
        pose_blocks = self._blocks(pose_needed)
        motion_blocks = self._blocks(motion_needed)
        axes = tuple(self._output(m.axis) for m in kinematics.motions)
        return _Named(
            kinematics=kinematics,
            pose_blocks=pose_blocks,
            motion_blocks=motion_blocks,
            pose_columns=tuple(
                self._output(i) for tip in kinematics.tip_frames for i in tip.columns
            ),
            axes=tuple(Ref(r.name, False, r.constant) for r in axes),
            origins=tuple(self._output(m.origin) for m in kinematics.motions),
            constants={name: lanes for lanes, name in self.constants.items()},
            scalars=scalars,
            trig={s: (type(call).__name__, call.args[0]) for call, s in self.trig.items()},
            angle_labels=dict(zip(angles, labels)),
            motions=self._motion_tables([r.negated for r in axes]),
            index_of=self.index_of,
            negated={ref.name: ref.negated for ref in self.ref.values()},
        )

    def negated_outputs(self, named: _Named) -> frozenset[int]:
        """The vectors that the pose outputs use negated more often than as they are.

        Signs are taken relative to each vector's value, not to how this run stored it.
        """
        balance: dict[int, int] = {}
        for ref in named.pose_columns:
            if ref.name in self.index_of:
                index = self.index_of[ref.name]
                wants_negative = ref.negated != self.ref[index].negated
                balance[index] = balance.get(index, 0) + (1 if wants_negative else -1)
        return frozenset(index for index, b in balance.items() if b > 0)

    def sources_of_negated_outputs(self, named: _Named) -> list[int]:
        """The vectors (not constants) that negated pose outputs are made from."""
        found: dict[int, None] = {}
        for ref in named.pose_columns:
            if ref.negated and ref.name in self.index_of:
                for _, source in self.vectors[self.index_of[ref.name]].terms:
                    stored = self.ref[source].name  # through aliases, to the vector that is stored
                    if stored in self.index_of:
                        found.setdefault(self.index_of[stored], None)
        return list(found)

    def _blocks(self, indices: list[int]) -> list[tuple[str, list[Assignment]]]:
        blocks: list[tuple[str, list[Assignment]]] = []
        for index in indices:
            assignment = self._resolve(index)
            if assignment is None:
                continue
            title = self._title(self.vectors[index])
            if not blocks or blocks[-1][0] != title:
                blocks.append((title, []))
            blocks[-1][1].append(assignment)
        return blocks

    def _title(self, vector: Vector) -> str:
        motion = next((m for m in self.kinematics.motions if m.joint == vector.joint), None)
        if motion is None:
            return (
                f"{vector.frame}: tip frame" if vector.joint is None else f"{vector.joint}: fixed"
            )
        kind = "revolute" if motion.revolute else "prismatic"
        if motion.upward:
            return f"{motion.joint} ({kind}, crossed upward): {motion.child} -> {motion.parent}"
        return f"{motion.joint} ({kind}): {motion.parent} -> {motion.child}"

    def _resolve(self, index: int) -> Assignment | None:
        """Record vector ``index`` as a constant, a (negated) alias, or a new assignment (returned)."""
        vector = self.vectors[index]
        if vector.constant is not None:
            lanes: Lanes = tuple(float(v) for v in vector.constant)  # type: ignore[assignment]
            if lanes not in self.constants:
                self.constants[lanes] = self._vector_name(vector)
            self.ref[index] = Ref(self.constants[lanes], constant=True)
            return None
        terms: list[tuple[sp.Expr, str]] = []
        for coefficient, source in vector.terms:
            replaced = coefficient.xreplace(self.trig)
            replaced = self.compound.get(replaced, replaced)
            ref = self._output(source)
            terms.append((-replaced if ref.negated else replaced, ref.name))
        if len(terms) == 1 and terms[0][0] in (1, -1):
            source_ref = next(r for r in self.ref.values() if r.name == terms[0][1])
            self.ref[index] = Ref(
                terms[0][1], negated=terms[0][0] == -1, constant=source_ref.constant
            )
            return None
        signs = [c.as_coeff_Mul()[0] < 0 for c, _ in terms]
        negated = all(signs) or (index in self.prefer_negated and any(signs))
        if negated:
            # Store the negative: a use absorbs the sign in its coefficient, a negation is an op.
            # With a negative term left to start from, the negative is as cheap as the vector.
            terms = [(-c, source) for c, source in terms]
        name = self._vector_name(vector, prefix="neg_" if negated else "")
        self.ref[index] = Ref(name, negated)
        self.index_of[name] = index
        return Assignment(name, tuple(terms), (name,))

    def _output(self, index: int) -> Ref:
        if index not in self.ref:
            assert self.vectors[index].constant is not None, "a vector is used before it is defined"
            self._resolve(index)
        return self.ref[index]

    def _vector_name(self, vector: Vector, prefix: str = "") -> str:
        if vector.frame not in self.frame_identifiers:
            self.frame_identifiers[vector.frame] = unique_name(
                sanitize(vector.frame), set(self.frame_identifiers.values())
            )
        frame = self.frame_identifiers[vector.frame]
        quantity = vector.quantity
        if quantity == "offset":
            is_point = vector.constant is not None and vector.constant[3] == 1
            name = f"{'p' if is_point else 'u'}_{frame}_offset"
        elif quantity == "axis":
            name = f"axis_{frame}"
        elif quantity == "p":
            name = f"p_{frame}"
        else:
            name = f"R_{frame}_{quantity[1:]}"
        name = unique_name(prefix + name, self.taken)
        self.taken.add(name)
        return name

    def _motion_tables(self, axis_negated: list[bool]) -> MotionTables:
        kinematics = self.kinematics
        n, tips = len(kinematics.q), kinematics.tip_frames
        q_map = [[0.0] * n for _ in kinematics.motions]
        scales = []
        for m, motion in enumerate(kinematics.motions):
            scale = float(motion.scale) * (-1.0 if axis_negated[m] else 1.0)
            q_map[m][motion.column] += scale
            scales.append(scale)
        subtree = [
            [float(m in tip.motions) for tip in tips] for m in range(len(kinematics.motions))
        ]
        pairs = tuple(
            (t, m, kinematics.motions[m].column, scales[m])
            for t, tip in enumerate(tips)
            for m in tip.motions
        )
        return MotionTables(
            joint_names=tuple(m.joint for m in kinematics.motions),
            prismatic=tuple(not m.revolute for m in kinematics.motions),
            q_map=tuple(tuple(row) for row in q_map),
            subtree=tuple(tuple(row) for row in subtree),
            pairs=pairs,
        )


# --- pass 2: packing -----------------------------------------------------------------------------

_KIND_ORDER = ("number", "sin", "cos", "joint", "compound")


@dataclass(frozen=True)
class _Slice:
    """Rows of the angle table, one per lane: ``angles`` (the joint values themselves, for
    ``"joint"``) or their sines or cosines."""

    function: str  # "sin", "cos" or "joint"
    angles: tuple[sp.Expr, ...]


class _Packer:
    def __init__(self, named: _Named, pack: bool) -> None:
        self.named = named
        self.pack = pack
        self.q = named.kinematics.q
        self.names: dict[sp.Symbol, str] = {s: s.name for s in self.q} | {
            s: s.name for s, _ in named.scalars
        }
        self.names |= {s: s.name for s in named.trig}
        self.taken: set[str] = set(self.names.values()) | set(named.constants)
        self.taken |= {
            a.target for _, block in (*named.pose_blocks, *named.motion_blocks) for a in block
        }
        self.lane_of: dict[str, tuple[str, int]] = {}  # a vector's name -> (tensor, lane)
        self.width: dict[str, int] = {}
        self.views: dict[tuple, str] = {}
        self.slices: dict[_Slice, sp.Symbol] = {}
        self.scale_tables: dict[tuple[float, ...], sp.Symbol] = {}
        self.lane_scales: list[float] = []
        self.constant_lanes: list[tuple[str, Lanes]] = list(named.constants.items())
        self.constant_tables: dict[tuple[Lanes, ...], str] = {}
        self.pending_views: list[
            View
        ] = []  # lanes viewed out of packed tensors, before their first use
        self.table_views: list[View] = []  # rows or lanes of the constant tables
        self.lane_name: dict[tuple[str, int], str] = {}

    def run(self) -> Program:
        named = self.named
        pose_blocks = self._pack_part(named.pose_blocks)
        pose_columns = self._outputs(named.pose_columns)
        pose_blocks = self._flush_into(pose_blocks, "every tip's columns")
        motion_blocks = self._pack_part(named.motion_blocks)
        axes, origins = self._outputs(named.axes), self._outputs(named.origins)
        motion_blocks = self._flush_into(motion_blocks, "every moving joint's axis and origin")
        assignments = [a for block in (*pose_blocks, *motion_blocks) for a in block.assignments]
        used = {s for a in assignments for c, _ in a.terms for s in c.free_symbols}
        used |= {s for _, e in named.scalars for s in e.free_symbols}
        table, sines, cosines, trig_views = self._angle_table(used)
        read = {source for a in assignments for _, source in a.terms}
        read |= {ref.name for ref in (*pose_columns, *axes, *origins)}
        return Program(
            signature=named.kinematics.signature,
            joints=tuple((i, self.names[s]) for i, s in enumerate(self.q) if s in used),
            angles=table,
            scalars=tuple((self.names[s], e) for s, e in named.scalars),
            constants=tuple(self.constant_lanes),
            lane_scales=tuple(self.lane_scales),
            prologue=self._prologue(sines, cosines, trig_views + self.table_views, read),
            pose_blocks=_split_lanes(pose_blocks),
            motion_blocks=_split_lanes(motion_blocks),
            pose_columns=pose_columns,
            axes=axes,
            origins=origins,
            motions=named.motions,
            symbol_names=self.names,
        )

    # --- grouping ---

    def _pack_part(
        self, blocks: list[tuple[str, list[Assignment]]]
    ) -> list[tuple[str, list[Statement]]]:
        """Pack the assignments of one part (pose, or motions only) and lay them out in blocks."""
        items = [(title, a) for title, assignments in blocks for a in assignments]
        role = {}
        for title, assignments in blocks:
            signature = tuple(self._shape(a) for a in assignments)
            for k, a in enumerate(assignments):
                role[a.target] = (signature, k)
        done: set[str] = set()
        laid_out: list[tuple[str, list[Statement]]] = []
        for i, (title, seed) in enumerate(items):
            if seed.target in done:
                continue
            group = [(title, seed)]
            if self.pack and self._packable(seed):
                for other_title, other in items[i + 1 :]:
                    if (
                        other.target in done
                        or role[other.target] != role[seed.target]
                        or not self._available(other)
                    ):
                        continue
                    if self._plan([a for _, a in group] + [other]) is not None:
                        group.append((other_title, other))
            assignment = self._emit([a for _, a in group])
            done.update(a.target for _, a in group)
            titles = list(dict.fromkeys(t for t, _ in group))
            heading = titles[0] if len(titles) == 1 else "; ".join(titles)
            if not laid_out or laid_out[-1][0] != heading:
                laid_out.append((heading, []))
            laid_out[-1][1].extend([*self.pending_views, assignment])
            self.pending_views = []
        return laid_out

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

    def _packable(self, assignment: Assignment) -> bool:
        return all(self._kind(c) != "compound" for c, _ in assignment.terms)

    def _available(self, assignment: Assignment) -> bool:
        return all(
            source in self.named.constants or source in self.lane_of
            for _, source in assignment.terms
        )

    # --- planning a packed assignment ---

    def _plan(self, lanes: list[Assignment]) -> list[tuple[str, object, object]] | None:
        """How to compute ``lanes`` as one assignment, or None when they do not line up.

        Returns per term ``(kind, coefficient plan, source plan)``.
        """
        signs = self._sine_signs(lanes)
        if signs is None:
            return None
        plan = []
        for p, (coefficient, _) in enumerate(lanes[0].terms):
            kind = self._kind(coefficient)
            numbers = [a.terms[p][0].as_coeff_Mul()[0] for a in lanes]
            symbols = [a.terms[p][0].as_coeff_Mul()[1] for a in lanes]
            sources = [a.terms[p][1] for a in lanes]
            if all(s in self.named.constants for s in sources):
                # Numbers, and the sign of a sine taken of a negated angle, go into the constant table.
                factors = [
                    float(n) * (signs[k] if kind == "sin" else 1) for k, n in enumerate(numbers)
                ]
                columns = tuple(
                    tuple(f * v for v in self.named.constants[s]) for f, s in zip(factors, sources)
                )
                plan.append((kind, (1.0, symbols), ("constants", columns)))
                continue
            if any(s in self.named.constants for s in sources):
                return None
            source = self._line_up(sources)
            if source is None:
                return None
            if kind == "number":
                plan.append(
                    (
                        kind,
                        (
                            numbers[0]
                            if len(set(numbers)) == 1
                            else tuple(float(n) for n in numbers),
                            None,
                        ),
                        source,
                    )
                )
                continue
            base = numbers[0]
            expected = [base * (signs[k] if kind == "sin" else 1) for k in range(len(lanes))]
            if any(n != e for n, e in zip(numbers, expected)):
                return None
            plan.append((kind, (base, symbols), source))
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

    def _line_up(self, sources: list[str]) -> tuple | None:
        """The sources of one term, one per lane, as one tensor: ``("broadcast", name)`` when every
        lane uses the same column, ``("lanes", tensor, start, step)`` for lanes of one packed tensor
        in order; None otherwise."""
        if all(s == sources[0] for s in sources):
            return ("broadcast", sources[0])
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
        return ("lanes", tensor, lanes[0], step)

    # --- emitting ---

    def _emit(self, lanes: list[Assignment]) -> Assignment:
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
        assert plan is not None
        signs = self._sine_signs(lanes)
        terms = []
        for (kind, (number, symbols), source), (_, _) in zip(plan, lanes[0].terms):
            if source[0] == "constants":
                source_name = self._constant_table(source[1])
            elif source[0] == "broadcast":
                source_name = self._column(source[1])
            else:
                _, tensor, start, step = source
                source_name = self._lanes_view(tensor, start, step, len(lanes))
            if kind == "number":
                coefficient = (
                    sp.Float(number) if not isinstance(number, tuple) else self._scale_table(number)
                )
                if not isinstance(number, tuple) and float(number).is_integer():
                    coefficient = sp.Integer(int(number))
            else:
                angles = tuple(
                    (signs[k] if kind in ("sin", "cos") else 1)
                    * (self.named.trig[s][1] if kind in ("sin", "cos") else s)  # type: ignore[index]
                    for k, s in enumerate(symbols)
                )
                coefficient = self._slice(_Slice(kind, angles)) * (
                    sp.Integer(int(number)) if float(number).is_integer() else sp.Float(number)
                )
            terms.append((coefficient, source_name))
        target = unique_name(f"{lanes[0].target}_lanes{len(lanes)}", self.taken)
        self.taken.add(target)
        self.width[target] = len(lanes)
        for k, a in enumerate(lanes):
            self.lane_of[a.target] = (target, k)
            self.lane_name[(target, k)] = a.target
        return Assignment(target, tuple(terms), tuple(a.target for a in lanes))

    def _column(self, name: str) -> str:
        """A single column by its own name, viewed out of its packed tensor the first time it is needed."""
        if name in self.named.constants:
            return name
        tensor, lane = self.lane_of[name]
        if self.width[tensor] == 1:
            return tensor
        key = (tensor, 1, lane, lane + 1, 1)
        if key not in self.views:
            self.views[key] = name
            self.pending_views.append(View(name, tensor, 1, lane, lane + 1))
        return self.views[key]

    def _lanes_view(self, tensor: str, start: int, step: int, count: int) -> str:
        if start == 0 and step == 1 and count == self.width[tensor]:
            return tensor
        key = (tensor, 1, start, start + step * (count - 1) + 1, step)
        if key not in self.views:
            name = unique_name(
                f"{tensor}_{start}_{key[3]}" + (f"_{step}" if step != 1 else ""), self.taken
            )
            self.taken.add(name)
            self.views[key] = name
            self.pending_views.append(View(name, tensor, 1, start, key[3], step))
        return self.views[key]

    def _constant_table(self, columns: tuple[Lanes, ...]) -> str:
        """Lanes of constant columns, one per lane: appended to the constant table, viewed by name."""
        if columns not in self.constant_tables:
            start = len(self.constant_lanes)
            self.constant_lanes.extend(("_", c) for c in columns)
            name = unique_name(f"constants_{start}_{start + len(columns)}", self.taken)
            self.taken.add(name)
            self.constant_tables[columns] = name
            self.table_views.append(View(name, "constants", 1, start, start + len(columns)))
        return self.constant_tables[columns]

    def _scale_table(self, numbers: tuple[float, ...]) -> sp.Symbol:
        if numbers not in self.scale_tables:
            start = len(self.lane_scales)
            self.lane_scales.extend(numbers)
            symbol = sp.Symbol(
                unique_name(f"scales_{start}_{start + len(numbers)}", self.taken), real=True
            )
            self.taken.add(symbol.name)
            self.names[symbol] = symbol.name
            self.scale_tables[numbers] = symbol
            self.table_views.append(
                View(symbol.name, "lane_scales", 0, start, start + len(numbers))
            )
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
        """The outputs as pieces to concatenate: runs of consecutive lanes of one tensor become one view."""
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

    def _prologue(
        self, sines, cosines, views: list[View], read: set[str]
    ) -> tuple[Split | View, ...]:
        """The tables cut into what the frame program reads, one split per table."""
        rows = len(sines)
        wanted: dict[str, list[tuple[str, int, int, int]]] = {}
        for r, name in enumerate(sines):
            wanted.setdefault("trig", []).append((name, r, r + 1, 1))
        for r, name in enumerate(cosines):
            wanted.setdefault("trig", []).append((name, rows + r, rows + r + 1, 1))
        for k, (name, _) in enumerate(self.constant_lanes):
            if name in read:
                wanted.setdefault("constants", []).append((name, k, k + 1, 1))
        for view in views:
            wanted.setdefault(view.base, []).append((view.name, view.start, view.stop, view.step))
        sizes = {
            "trig": 2 * rows,
            "angles": rows,
            "constants": len(self.constant_lanes),
            "lane_scales": len(self.lane_scales),
        }
        axes = {"trig": 0, "angles": 0, "constants": 1, "lane_scales": 0}
        statements: list[Split | View] = []
        for base in ("trig", "angles", "constants", "lane_scales"):
            if base in wanted:
                statements += _cut(base, axes[base], sizes[base], wanted[base])
        return tuple(statements)

    def _lane_label(self, angle: sp.Expr) -> str:
        """How a lane's angle reads in a slice's name: ``1``, ``m7`` (for −q7), ``4_5`` (q4 + q5)."""
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
            base, offset = (
                ("angles", 0)
                if wanted.function == "joint"
                else ("trig", 0 if wanted.function == "sin" else len(rows))
            )
            views.append(
                View(symbol.name, base, 0, offset + start, offset + start + len(wanted.angles))
            )
        if not rows:
            return None, (), (), views
        return _angle_table(tuple(rows), self.q), tuple(sines), tuple(cosines), views


def _cut(
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
    chunks = list(zip(bounds, bounds[1:]))
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


def _split_lanes(blocks: tuple[Block, ...]) -> tuple[Block, ...]:
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
                statements += _cut(
                    statement.target, 1, width[statement.target], wanted[statement.target]
                )
        result.append(Block(block.title, tuple(statements)))
    return tuple(result)


def _angles(coefficients: Iterable[sp.Expr], q: tuple[sp.Symbol, ...]) -> tuple[sp.Expr, ...]:
    """Every sine or cosine argument: the plain joints in q order, then the others as first met."""
    found: dict[sp.Expr, None] = {}
    for expr in coefficients:
        for call in sorted(expr.atoms(sp.sin, sp.cos), key=sp.default_sort_key):
            found.setdefault(call.args[0], None)
    plain = [s for s in q if s in found]
    return tuple(plain + [a for a in found if a not in plain])


def _angle_label(angle: sp.Expr, q: tuple[sp.Symbol, ...], position: int) -> str:
    """What follows ``s``/``c`` in the names of the angle's sine and cosine: ``23`` or ``_angle8``."""
    return joint_label(angle, q, "_") or f"_angle{position + 1}"


def _angle_table(angles: tuple[sp.Expr, ...], q: tuple[sp.Symbol, ...]) -> AngleTable:
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
    if len(single) == len(linear) and single == list(range(single[0], single[0] + len(single))):
        offsets = tuple(offset for _, offset in linear)
        lo, hi = single[0], single[-1] + 1
        source: str | tuple[int, int] = "joints" if (lo, hi) == (0, n) else (lo, hi)
        return AngleTable(
            source, offsets if any(offsets) else None, None, tuple(sp.sstr(a) for a in angles)
        )
    matrix = tuple(tuple(c.get(i, 0.0) for i in range(n)) for c, _ in linear)
    offsets = tuple(offset for _, offset in linear)
    return AngleTable(
        "map", offsets if any(offsets) else None, matrix, tuple(sp.sstr(a) for a in angles)
    )


def _coefficient_cse(
    coefficients: list[sp.Expr],
) -> tuple[tuple[tuple[sp.Symbol, sp.Expr], ...], dict[sp.Expr, sp.Expr]]:
    """Name every compound coefficient (anything but a number times one symbol) once.

    Returns the scalar assignments and a map from each compound coefficient to its
    replacement (a number times a new symbol).
    """
    compound = sorted({c for c in coefficients if not _is_simple(c)}, key=sp.default_sort_key)
    if not compound:
        return (), {}
    replacements, reduced = sp.cse(compound, symbols=sp.numbered_symbols("k", real=True))
    assignments = list(replacements)
    mapping: dict[sp.Expr, sp.Expr] = {}
    counter = len(assignments)
    for original, value in zip(compound, reduced):
        if not _is_simple(value):
            symbol = sp.Symbol(f"k{counter}", real=True)
            counter += 1
            assignments.append((symbol, value))
            value = symbol
        mapping[original] = value
    return tuple(assignments), mapping


def _is_simple(coefficient: sp.Expr) -> bool:
    """A number, or a number times a single symbol: a coefficient printed without an op of its own."""
    _, rest = coefficient.as_coeff_Mul()
    return rest == 1 or rest.is_Symbol
