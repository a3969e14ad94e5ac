"""Lower the column program into the program a backend prints (:mod:`symkin.compiler.program`).

Two passes: **naming** (:mod:`symkin.compiler.naming`) gives every vector the outputs need a name
and an assignment, laid out in parts by the calls that need them; **packing**
(:mod:`symkin.compiler.packing`) computes isomorphic assignments as lanes of one and cuts the
tables. Each output kind's tables come from :mod:`symkin.compiler.kind_tables`.
"""

from __future__ import annotations

from symkin.compiler.column_program import Kinematics
from symkin.compiler.naming import Naming
from symkin.compiler.packing import pack as pack_lanes
from symkin.compiler.program import Program
from symkin.compiler.tables import groups

_SIGN_SEARCH_ROUNDS = 8


def lower(kinematics: Kinematics, pack: bool = True) -> Program:
    """The program of ``kinematics``: every output's columns, and every moving joint's axis and
    origin.

    A vector that the outputs use negated more often than not is stored negated when that costs
    nothing (a negated output is an operation of its own); a negated axis costs nothing at all,
    its sign goes into the motion tables. With ``pack``, isomorphic assignments become lanes of
    one (see :mod:`symkin.compiler.packing`).
    """
    roots = groups(kinematics)
    trial = Naming(kinematics, roots, frozenset())
    preferred = trial.negated_outputs(trial.run())
    naming = Naming(kinematics, roots, preferred)
    named = naming.run()
    # An output whose terms are all negative is stored negated and costs a negation; storing one of
    # its sources negated instead may spare it. Try that, greedily, while it helps.
    for _ in range(_SIGN_SEARCH_ROUNDS):
        improved = False
        for index in naming.sources_of_negated_outputs(named):
            trial = Naming(kinematics, roots, preferred ^ {index})
            candidate = trial.run()
            if candidate.negations() < named.negations():
                preferred, naming, named, improved = preferred ^ {index}, trial, candidate, True
                break
        if not improved:
            break
    return pack_lanes(named, pack)
