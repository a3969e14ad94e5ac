"""Bad inputs: a corpus of broken files, hostile names, hardened XML, quirks of real files."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import compile_model, sample_q
from reference import JointSpec, joint_values, pose, urdf_text

import symkin
from symkin.cli import main

BAD_INPUTS = Path(__file__).parent / "bad_inputs"
CORPUS = sorted(p for p in BAD_INPUTS.iterdir() if p.suffix in (".urdf", ".toml"))


def test_the_corpus_is_large_and_every_file_says_what_it_expects():
    assert len(CORPUS) >= 30
    assert all(p.with_name(p.name + ".expect").is_file() for p in CORPUS)


@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_bad_input_is_one_line_error_and_writes_nothing(path, tmp_path, capsys):
    expected = path.with_name(path.name + ".expect").read_text().strip()
    out = tmp_path / "out.py"
    started = time.perf_counter()
    status = main(["compile", str(path), "-o", str(out), "-q"])
    captured = capsys.readouterr()
    assert time.perf_counter() - started < 10, "a bad input must fail fast"
    assert status == 2 and captured.out == ""
    assert captured.err.startswith(f"symkin: error: {path}: ") and captured.err.count("\n") == 1, (
        captured.err
    )
    assert expected in captured.err, captured.err
    assert list(tmp_path.iterdir()) == []


HOSTILE = [
    "x'); import os; os.system('touch PWNED'); ('",
    'x""" + __import__("os").system("touch PWNED") + """',
    "line\nbreak",
    "back\\slash",
    "{{ 7*7 }}",
    "{% raw %}",
    "class",
    "__init__",
    "ünïcødé",
    "has space",
    "9lives",
    "torch",
    "q",
    "self",
    "\u2028sep",
]


def _xml_attribute(text: str) -> str:
    escaped = (
        text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
    )
    return escaped.replace("\n", "&#10;").replace("\u2028", "&#8232;")


def test_hostile_names_are_kept_verbatim_and_never_executed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    links = ["base", *HOSTILE[:8]]
    joints = [
        JointSpec(
            HOSTILE[8 + i % 7] + str(i),
            "revolute" if i % 2 == 0 else "prismatic",
            links[i],
            links[i + 1],
            xyz=(0.1, 0.0, 0.05 * i),
            axis=(0, 0, 1) if i % 3 else (1, 0, 0),
        )
        for i in range(len(links) - 1)
    ]
    text = urdf_text("robot", links, joints)
    for name in {*HOSTILE, "robot"}:
        text = text.replace(f'"{name}"', f'"{_xml_attribute(name)}"')
    text = text.replace('<robot name="robot">', f'<robot name="{_xml_attribute(HOSTILE[0])}">')
    path = tmp_path / "hostile.urdf"
    path.write_text(text)
    assert main(["compile", str(path), "-o", "hostile.py", "-q"]) == 0
    source = (tmp_path / "hostile.py").read_text()
    compile(source, "hostile.py", "exec")  # valid Python
    module_type = symkin.module_class(symkin.load_module(source))
    module = module_type()
    assert not (tmp_path / "PWNED").exists()
    assert module.robot_name == HOSTILE[0]
    assert module.joint_names == tuple(j.name for j in joints)
    assert module.tip_names == (links[-1],)
    q = sample_q(module, 4)
    for i in range(4):
        expected = pose(
            joints, "base", links[-1], joint_values(joints, module.joint_names, q[i].numpy())
        )
        np.testing.assert_allclose(module(q[i]).numpy(), expected, atol=1e-12)
    # Input text reaches the source only inside string literals and comments, and never as a raw
    # line separator.
    import io
    import tokenize

    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if any(marker in token.string for marker in ("PWNED", "7*7", "raw %", "sep")):
            assert token.type in (tokenize.STRING, tokenize.COMMENT, tokenize.NAME), (
                token
            )  # names: sanitised identifiers
    assert "\u2028" not in source


def test_entity_bomb_is_refused_fast():
    bomb = (BAD_INPUTS / "entity_bomb.urdf").read_bytes()
    started = time.perf_counter()
    with pytest.raises(symkin.SymkinError, match="DTD"):
        symkin.parse_urdf(bomb)
    assert time.perf_counter() - started < 1


def test_external_entities_are_not_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    entity = f'<!DOCTYPE r [<!ENTITY x SYSTEM "{secret.as_uri()}">]>'
    document = f'<?xml version="1.0"?>{entity}<robot name="&x;"><link name="a"/></robot>'
    with pytest.raises(symkin.SymkinError) as error:
        symkin.parse_urdf(document)
    assert "TOP SECRET" not in str(error.value)


# --- quirks of real files -------------------------------------------------------------------------

CLEAN = """<robot name="r">
  <link name="a"><visual><geometry><box size="1 1 1"/></geometry></visual></link>
  <link name="b"/>
  <joint name="j" type="revolute"><parent link="a"/><child link="b"/>
    <origin xyz="0.1 0 0.2" rpy="0 0.3 0"/>
    <axis xyz="0 1 0"/><limit lower="-1" upper="1" effort="1" velocity="1"/></joint>
</robot>
"""
QUIRKS = {
    "a default XML namespace": (
        CLEAN.replace('<robot name="r">', '<robot name="r" xmlns="http://www.ros.org/wiki/urdf">'),
        "XML namespace",
    ),
    "xacro left in a visual": (
        CLEAN.replace(
            '<robot name="r">', '<robot name="r" xmlns:xacro="http://www.ros.org/wiki/xacro">'
        ).replace(
            '<geometry><box size="1 1 1"/></geometry>',
            '<xacro:box_material color="${grey}"/><origin xyz="${offset} 0 0"/>',
        ),
        "xacro left outside links and joints ignored: <xacro:box_material> (line 2), <origin> "
        "(line 2)",
    ),
    "a comment before the XML declaration": (
        '<!-- exported -->\n<?xml version="1.0" encoding="utf-8"?>\n' + CLEAN,
        "not at the start of the file (line 2)",
    ),
    "XML version 0.0": ('<?xml version="0.0"?>\n' + CLEAN, "version '0.0': read as XML 1.0"),
}


@pytest.mark.parametrize("quirk", QUIRKS)
def test_harmless_defects_of_real_files_are_read_with_a_note(quirk):
    text, expected_note = QUIRKS[quirk]
    notes: list[str] = []
    model = symkin.parse_urdf(text, notes=notes.append)
    assert any(expected_note in note for note in notes), notes
    clean = compile_model(symkin.parse_urdf(CLEAN, notes=lambda message: None))
    q = sample_q(clean, 4)
    torch.testing.assert_close(
        compile_model(model).forward_and_jacobian(q), clean.forward_and_jacobian(q), rtol=0, atol=0
    )


def test_xacro_that_touches_the_tree_is_still_refused():
    inside_a_joint = CLEAN.replace(
        '<robot name="r">', '<robot name="r" xmlns:xacro="http://www.ros.org/wiki/xacro">'
    ).replace('<axis xyz="0 1 0"/>', '<axis xyz="0 ${y} 0"/>')
    with pytest.raises(
        symkin.SymkinError, match=r"line 6: <axis xyz='0 \$\{y\} 0'> is a xacro expression"
    ):
        symkin.parse_urdf(inside_a_joint)
    macro = CLEAN.replace(
        '<robot name="r">',
        '<robot name="r" xmlns:xacro="http://www.ros.org/wiki/xacro"><xacro:arm prefix="l"/>',
    )
    with pytest.raises(symkin.SymkinError, match="<xacro:arm> found: this is a xacro file"):
        symkin.parse_urdf(macro)


def _two_link_urdf(inertial: str) -> str:
    """An arm whose forearm carries ``inertial`` (the upper arm weighs 1 kg)."""
    return f"""<robot name="arm">
  <link name="base"/>
  <link name="upper"><inertial><mass value="1"/></inertial></link>
  <link name="forearm">{inertial}</link>
  <joint name="shoulder" type="continuous"><parent link="base"/><child link="upper"/></joint>
  <joint name="elbow" type="continuous"><parent link="upper"/><child link="forearm"/>
    <origin xyz="0.3 0 0"/></joint>
</robot>"""


BAD_MASSES = [
    ('<inertial><mass value="-2"/></inertial>', "link 'forearm': mass -2.0 is negative"),
    (
        '<inertial><mass value="nan"/></inertial>',
        "link 'forearm': <inertial> (line 4): <mass value>: 'nan' is not",
    ),
    (
        '<inertial><mass value="heavy"/></inertial>',
        "link 'forearm': <inertial> (line 4): <mass value>",
    ),
    (
        '<inertial><origin xyz="inf 0 0"/><mass value="1"/></inertial>',
        "link 'forearm': <inertial> (line 4): <origin xyz>: 'inf' is not a finite number",
    ),
]


@pytest.mark.parametrize("inertial, message", BAD_MASSES)
def test_bad_mass_is_an_error_naming_the_link_only_when_the_com_needs_it(
    inertial, message, tmp_path, capsys
):
    path = tmp_path / "arm.urdf"
    path.write_text(_two_link_urdf(inertial))
    assert main(["compile", str(path), "-o", str(tmp_path / "kinematics.py"), "-q"]) == 0
    out = tmp_path / "with_com.py"
    status = main(["compile", str(path), "--com", "-o", str(out), "-q"])
    err = capsys.readouterr().err
    assert status == 2 and err.startswith(f"symkin: error: {path}: ") and err.count("\n") == 1
    assert message in err, err
    assert not out.exists()


@pytest.mark.parametrize(
    "text, message",
    [
        (_two_link_urdf("").replace('<inertial><mass value="1"/></inertial>', ""), "has no mass"),
        (
            _two_link_urdf('<inertial><mass value="0"/></inertial>').replace('"1"', '"0"'),
            "has no mass",
        ),
    ],
)
def test_com_of_a_robot_without_mass_is_an_error(text, message, tmp_path, capsys):
    path = tmp_path / "arm.urdf"
    path.write_text(text)
    assert main(["compile", str(path), "--com", "-o", str(tmp_path / "out.py"), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"symkin: error: {path}: ") and message in err, err


@pytest.mark.parametrize(
    "row, message",
    [
        ("mass = -1.0", "mass -1.0 is negative"),
        ("mass = 'heavy'", "field 'mass'"),
        ("com = [0.1, 0, 0]", "'com' or 'inertia' without 'mass'"),
        ("mass = 1.0\ncom = [0.1, 0]", "field 'com'"),
        ("mass = 1.0\ninertia = [1, 0, 0]", "expected [ixx, ixy, ixz, iyy, iyz, izz]"),
    ],
)
def test_bad_dh_mass_table(row, message, tmp_path, capsys):
    path = tmp_path / "arm.toml"
    path.write_text(
        f"convention = 'standard'\n[[joints]]\na = 0.3\nalpha = 0\nd = 0\ntheta = 0\n{row}\n"
    )
    status = main(["compile", str(path), "--com", "-o", str(tmp_path / "out.py"), "-q"])
    err = capsys.readouterr().err
    assert status == 2 and err.startswith(f"symkin: error: {path}: ") and message in err, err


BAD_INERTIAS = [
    (
        'ixx="1" iyy="1" izz="3"',
        "link 'forearm': its principal moments 3, 1, 1 violate the triangle",
    ),
    (
        'ixx="1" iyy="1" izz="1" ixy="2"',
        "link 'forearm': its inertia is not positive semi-definite",
    ),
    ('ixx="nan" iyy="1" izz="1"', "link 'forearm': <inertial> (line 4): <inertia ixx>"),
]


@pytest.mark.parametrize("moments, message", BAD_INERTIAS)
def test_unphysical_inertia_is_an_error_naming_the_link_only_when_dynamics_need_it(
    moments, message, tmp_path, capsys
):
    path = tmp_path / "arm.urdf"
    path.write_text(_two_link_urdf(f'<inertial><mass value="1"/><inertia {moments}/></inertial>'))
    assert main(["compile", str(path), "--com", "-o", str(tmp_path / "com.py"), "-q"]) == (
        2 if "nan" in moments else 0
    )
    capsys.readouterr()
    out = tmp_path / "dynamics.py"
    assert main(["compile", str(path), "--dynamics", "-o", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"symkin: error: {path}: ") and err.count("\n") == 1 and message in err
    assert not out.exists()
    if "nan" not in moments:  # repaired on request, with a note naming the link
        assert main(["compile", str(path), "--dynamics", "--balance-inertia", "-o", str(out)]) == 0
        assert "symkin: note: link 'forearm': inertia" in capsys.readouterr().err


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--gravity", "0", "0", "-9.81"], "--gravity and --balance-inertia are for --dynamics"),
        (["--balance-inertia"], "--gravity and --balance-inertia are for --dynamics"),
        (["--dynamics", "--base", "upper"], "dynamics are the robot's on its root link 'base'"),
        (["--dynamics", "--gravity", "0", "nan", "0"], "gravity (0.0, nan, 0.0) is not finite"),
    ],
)
def test_dynamics_arguments(arguments, message, tmp_path, capsys):
    path = tmp_path / "arm.urdf"
    path.write_text(_two_link_urdf('<inertial><mass value="1"/></inertial>'))
    status = main(["compile", str(path), *arguments, "-o", str(tmp_path / "out.py"), "-q"])
    err = capsys.readouterr().err
    assert status == 2 and message in err, err
