"""The lowering and emit stages: parts that run only for the calls that need them, each kind's
tables, and generated text that carries only what it uses."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

from helpers import robot_file
from hypothesis import given, settings
from hypothesis import strategies as st

import symkin
from symkin.compiler.frame_printing import _freeing
from symkin.compiler.kind_tables import _ROW_GROUP_COST, _collision_tables, _row_groups
from symkin.compiler.layout import table_entry

PANDA = str(robot_file("panda_description/urdf/panda.urdf"))


def test_a_pose_call_skips_what_only_jacobians_need():
    program = symkin.lower(symkin.derive(symkin.load(PANDA), ("panda_hand_tcp",)))
    assert program.groups == ("poses", "motions")
    always, jacobians_only = program.parts
    assert always.always and not jacobians_only.always and jacobians_only.groups == ("motions",)
    assert program.runs(always, ("poses",)) and not program.runs(jacobians_only, ("poses",))
    assert [c.name for c in program.concatenations] == ["pose_columns", "axes", "origins"]
    (poses,) = program.outputs
    assert poses.kind == "poses" and poses.pairs.dense and not poses.pairs.shared


def test_a_centre_of_mass_call_skips_the_tips():
    model = symkin.load(PANDA)
    mass = symkin.WeightedPoints(
        "center_of_mass", (symkin.Point("panda_link3"), symkin.Point("panda_link5")), (1.0, 1.0)
    )
    program = symkin.lower(symkin.derive(model, ("panda_hand_tcp",), outputs=(mass,)))
    assert program.groups == ("poses", "center_of_mass", "motions")
    tip_only = [part for part in program.parts if part.groups == ("poses",)]
    assert tip_only and not any(program.runs(part, ("center_of_mass",)) for part in tip_only)


def test_generated_text_has_no_empty_table_and_only_the_runtime_it_uses():
    fixed = symkin.generate(symkin.derive(symkin.load(PANDA), ("panda_hand_tcp",)))
    assert not re.search(r": \[\],", fixed)  # no empty tables (the Panda has no lane scales)
    assert "def _with_base" not in fixed and "def _points_in_world" not in fixed
    floating = symkin.generate(
        symkin.derive(symkin.load(PANDA), ("panda_hand_tcp",), floating_base=True)
    )
    # The poses take the base through _with_base; _base_pose (the (..., 4, 4) form the other
    # outputs use) is not copied.
    assert "def _with_base(" in floating and "def _base_pose(" not in floating
    jax = symkin.generate(symkin.derive(symkin.load(PANDA), ("panda_hand_tcp",)), backend="jax")
    assert "pose_subtree" not in jax and "q_map" not in jax  # closed-form gradient tables: torch


def test_the_runtime_modules_imports_meet_in_one_statement_each():
    """Several torch runtime modules import from collections.abc: the module imports what its
    copied definitions use, once, and nothing from symkin (the definitions sit together)."""
    source = (Path(__file__).parents[2] / "generated" / "panda_collision.py").read_text()
    imports = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    assert imports.count("from collections.abc import Callable, Iterator, Sequence") == 1
    assert len(imports) == len(set(imports)) and not any("symkin" in line for line in imports)
    assert "def _nearest_sphere_pairs(" in source and "def _q_gradient(" in source


def test_a_nested_table_never_wraps_into_the_next_row():
    rows = [[float(i) + 0.123456789 * k for k in range(9)] for i in range(4)]
    text = table_entry("long_table", rows)
    lines = text.splitlines()
    assert lines[0] == "    'long_table': [" and lines[-1] == "    ],"
    for line in lines[1:-1]:
        assert len(line) <= 100
        assert line.startswith("        [") or not line.strip().startswith("[")
    assert eval("{" + text + "}")["long_table"] == rows


def test_the_frame_program_deletes_each_name_after_its_last_reader():
    """Names die after their last read (in the guarded block that reads them last), never a
    returned one nor one read further down; a long list breaks over lines and stays Python."""
    body = [
        "    a = q + 1",
        "    b = a * 2",
        "    c = b + a",
        "    out = None",
        "    if wanted & _MOTIONS:",
        "        out = c * b",
        "        d = c + 1",
        "    return_me = d",
    ]
    freed = _freeing(body, keep={"out", "return_me"})
    assert freed[:4] == ["    a = q + 1", "    b = a * 2", "    c = b + a", "    del a"]
    assert freed[5:8] == ["    if wanted & _MOTIONS:", "        out = c * b", "        del b"]
    assert freed[8:] == ["        d = c + 1", "        del c", "    return_me = d"]
    names = [f"column_{k}_with_a_long_name" for k in range(8)]
    long = [f"    {name} = q" for name in names]
    long += [f"    out = sum([{', '.join(names)}])", "    x = 1"]
    text = "\n".join(_freeing(long, keep={"out"}))
    deleting = text.split("    del (\n")[1].split("\n    )\n")[0]
    assert max(map(len, deleting.splitlines())) <= 100
    assert sorted(deleting.replace(",", " ").split()) == names
    namespace: dict = {}
    exec("def f(q):\n" + text + "\n    return out, x", namespace)
    assert namespace["f"](1) == (8, 1)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 200), min_size=1, max_size=8))
def test_rows_of_sphere_pairs_are_grouped_at_least_cost(lengths):
    """_row_groups against every way of cutting the sorted rows into consecutive groups."""
    lengths = sorted(lengths)
    groups = _row_groups(lengths)
    assert sum(count for count, _ in groups) == len(lengths)
    start = 0
    for count, width in groups:
        assert width == max(lengths[start : start + count])
        start += count

    def cost(cuts):
        bounds = [0, *cuts, len(lengths)]
        return sum(
            (end - begin) * lengths[end - 1] + _ROW_GROUP_COST
            for begin, end in itertools.pairwise(bounds)
        )

    inner = range(1, len(lengths))
    best = min(cost(cuts) for k in range(len(lengths)) for cuts in itertools.combinations(inner, k))
    assert sum(count * width + _ROW_GROUP_COST for count, width in groups) == best


def test_each_pair_of_links_reads_its_own_sphere_pairs():
    """The padded rows, their starts and order: pair p's row holds every pair of its spheres and
    nothing else (padding repeats one of them)."""
    links = ["a", "a", "a", "b", "c", "c", "d", "d", "d", "d", "d"]
    spheres = tuple((link, (0.0, 0.0, float(k)), 0.1) for k, link in enumerate(links))
    pairs = (("a", "c"), ("b", "d"), ("a", "d"), ("b", "c"), ("c", "d"))
    tables = _collision_tables(symkin.CollisionSpheres(spheres, pairs), ())
    widths = [width for count, width in tables.groups for _ in range(count)]
    for p, (first, second) in enumerate(pairs):
        row = tables.order[p]
        start = tables.starts[row]
        read = set(
            zip(
                tables.first[start : start + widths[row]],
                tables.second[start : start + widths[row]],
                strict=True,
            )
        )
        on = {link: {k for k, name in enumerate(links) if name == link} for link in links}
        assert read == {(i, j) for i in on[first] for j in on[second]}
    assert tables.sphere_pairs == 3 * 2 + 1 * 5 + 3 * 5 + 1 * 2 + 2 * 5
