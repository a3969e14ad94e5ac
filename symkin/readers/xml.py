"""Reading XML robot descriptions safely: no entities resolved, no DTD loaded, no network; a
document that declares a DTD or uses entities is refused outright. Defects of widely used files
(an XML declaration after a comment, version 0.0, a default namespace, xacro left outside the
kinematics) are read with a note."""

from __future__ import annotations

import re

from lxml import etree

from symkin.errors import Notes, SymkinError

_XACRO_NAMESPACES = ("http://www.ros.org/wiki/xacro", "http://ros.org/wiki/xacro")


def parse_xml(data: bytes, notes: Notes) -> etree._Element:
    if not data.strip():
        raise SymkinError("the file is empty")
    if b"<!DOCTYPE" in data:
        # Refused before parsing: no entity is declared, expanded or fetched, whatever the libxml2
        # build.
        raise SymkinError(
            "the document declares a DTD; symkin refuses DTDs and entities in URDF files"
        )
    data = _mended_declaration(data, notes)
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
    )
    try:
        document = etree.fromstring(data, parser).getroottree()
    except etree.XMLSyntaxError as error:
        raise SymkinError(f"not well-formed XML: {error.msg}") from None
    if document.docinfo.doctype or document.docinfo.internalDTD is not None:
        raise SymkinError(
            "the document declares a DTD; symkin refuses DTDs and entities in URDF files"
        )
    root = document.getroot()
    if any(isinstance(node, etree._Entity) for node in root.iter()):
        raise SymkinError(
            "the document uses XML entities; symkin refuses DTDs and entities in URDF files"
        )
    return root


_DECLARATION = re.compile(rb"<\?xml\s[^>]*?\?>")


def _mended_declaration(data: bytes, notes: Notes) -> bytes:
    """The document with its XML declaration fixed where widely used files get it wrong: after a
    comment or blank lines (dropped), or with a version other than 1.0 or 1.1 (read as 1.0)."""
    found = _DECLARATION.search(data)
    if found is None:
        return data
    declaration = found.group()
    line = data.count(b"\n", 0, found.start()) + 1
    version = re.search(rb"version\s*=\s*[\"']([^\"']*)[\"']", declaration)
    if found.start() > 0 and data[: found.start()].lstrip(b"\xef\xbb\xbf"):
        encoding = re.search(rb"encoding\s*=\s*[\"']([^\"']*)[\"']", declaration)
        notes(f"the XML declaration is not at the start of the file (line {line}): read without it")
        rest = data[: found.start()] + data[found.end() :]
        if encoding and encoding.group(1).lower() not in (b"utf-8", b"utf8", b"us-ascii", b"ascii"):
            rest = rest.decode(encoding.group(1).decode("ascii", "replace"), "replace").encode(
                "utf-8"
            )
        return rest
    if version and version.group(1) not in (b"1.0", b"1.1"):
        notes(
            f"the XML declaration says version {version.group(1).decode('ascii', 'replace')!r}: "
            "read as XML 1.0"
        )
        mended = declaration[: version.start(1)] + b"1.0" + declaration[version.end(1) :]
        return data[: found.start()] + mended + data[found.end() :]
    return data


def drop_default_namespace(root: etree._Element, notes: Notes) -> None:
    """A ``<robot xmlns="…">`` (an older schema) read as plain URDF: its elements lose that
    namespace."""
    namespace = etree.QName(root).namespace
    if namespace is None or namespace in _XACRO_NAMESPACES:
        return
    notes(f"<robot> has the XML namespace {namespace!r}: read as plain URDF")
    for element in root.iter():
        if isinstance(element.tag, str) and etree.QName(element).namespace == namespace:
            element.tag = etree.QName(element).localname
    etree.cleanup_namespaces(root)


def _is_kinematics(element: etree._Element, root: etree._Element) -> bool:
    """Whether ``element`` is part of the tree: ``<robot>``, a ``<link>`` element itself, or a
    ``<joint>`` and anything in it; a xacro element right under ``<robot>`` may make links or
    joints. What lies inside a link (visual, collision, inertial) and other top-level elements
    (gazebo, transmission, material) is not."""
    lineage = []
    while element is not root and element is not None:
        lineage.append(element)
        element = element.getparent()
    if not lineage:
        return True
    top = lineage[-1]
    if not isinstance(top.tag, str):
        return False
    name = etree.QName(top)
    if name.namespace in _XACRO_NAMESPACES:
        return True
    return name.localname == "joint" or (name.localname == "link" and len(lineage) == 1)


def refuse_xacro(root: etree._Element, notes: Notes) -> None:
    """Refuse xacro that touches the kinematic tree; note xacro left elsewhere (it is ignored)."""
    ignored = []
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        is_xacro = etree.QName(element).namespace in _XACRO_NAMESPACES
        expressions = [(a, v) for a, v in element.attrib.items() if "${" in v or "$(" in v]
        if not is_xacro and not expressions:
            continue
        where = f"line {element.sourceline}"
        if _is_kinematics(element, root):
            if is_xacro:
                raise SymkinError(
                    f"{where}: <xacro:{etree.QName(element).localname}> found: "
                    "this is a xacro file; expand it first (xacro ROBOT.urdf.xacro > ROBOT.urdf)"
                )
            attribute, value = expressions[0]
            raise SymkinError(
                f"{where}: <{etree.QName(element).localname} {attribute}={value!r}> is a xacro "
                "expression; "
                "expand the file with xacro first"
            )
        ignored.append(
            f"<{'xacro:' if is_xacro else ''}{etree.QName(element).localname}> ({where})"
        )
    if ignored:
        shown = ", ".join(ignored[:4]) + (
            f" and {len(ignored) - 4} more" if len(ignored) > 4 else ""
        )
        notes(f"xacro left outside links and joints ignored: {shown}")
