"""What a generated module copies of its backend's runtime modules: the definitions it uses, with
those they use in turn, and their imports, so that generated files stay standalone."""

from __future__ import annotations

import ast
from importlib import resources

NAMESPACE_IMPORT = "import numpy as xp"


def runtime_source(modules: tuple[str, ...], namespace: str | None, used: set[str]) -> str:
    """What a generated module copies of a backend's runtime modules: their imports and the
    definitions the module uses (``used`` names them), with those they use in turn, each as written
    with the comments before it; ``namespace`` replaces the line that imports ``xp``. A runtime
    module's imports of another (``from symkin...``) are left out: the definitions sit together;
    the names several import from one module are imported in one line, as far as they are used."""
    sources = []
    for module in modules:
        package, _, name = module.rpartition(".")
        text = resources.files(package).joinpath(f"{name}.py").read_text(encoding="utf-8")
        sources.append((text.splitlines(), ast.parse(text).body[1:]))  # below the docstring
    defined = {_defined_name(node): node for _, body in sources for node in body}
    defined.pop(None, None)
    wanted, stack = set(), [name for name in used if name in defined]
    while stack:
        found = stack.pop()
        if found not in wanted:
            wanted.add(found)
            references = {n.id for n in ast.walk(defined[found]) if isinstance(n, ast.Name)}
            stack += [name for name in references if name in defined]
    referenced = used | {
        n.id for found in wanted for n in ast.walk(defined[found]) if isinstance(n, ast.Name)
    }
    imports = _RuntimeImports(referenced)
    definitions = []
    for lines, body in sources:
        imports.next_module()
        for node in body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                imports.add(node, lines[node.lineno - 1].split("  #")[0])
            elif _defined_name(node) in wanted:
                decorators = getattr(node, "decorator_list", [])
                start = min([node.lineno, *(d.lineno for d in decorators)]) - 1
                while start > 0 and lines[start - 1].startswith("#"):  # comments leading in
                    start -= 1
                definitions.append("\n".join(lines[start : node.end_lineno]))
    import_lines = imports.lines()
    if namespace is not None:
        import_lines = [namespace if s.startswith(NAMESPACE_IMPORT) else s for s in import_lines]
    return "\n".join(import_lines) + "\n\n" + "\n\n\n".join(definitions) + "\n"


class _RuntimeImports:
    """The imports runtime modules make of what their copied definitions reference, in the order
    and groups first written; ``from M import ...`` of one M merged into one statement."""

    def __init__(self, referenced: set[str]) -> None:
        self.referenced = referenced
        self.statements: list[str | list[str]] = []  # a line, "" between groups, or [M, names…]
        self.previous = 0  # the line of the module's last import kept

    def next_module(self) -> None:
        self.previous = 0

    def add(self, node: ast.Import | ast.ImportFrom, line: str) -> None:
        module = getattr(node, "module", None) or ""
        if module.startswith("symkin"):
            return
        bound = [(alias.asname or alias.name).split(".")[0] for alias in node.names]
        kept = [name for name in bound if name in self.referenced or module == "__future__"]
        if not kept:
            return
        if isinstance(node, ast.ImportFrom) and all(alias.asname is None for alias in node.names):
            for statement in self.statements:
                if isinstance(statement, list) and statement[0] == module:
                    statement += [name for name in kept if name not in statement[1:]]
                    return
            self._append([module, *kept], node.lineno)
        elif line not in self.statements:
            self._append(line, node.lineno)

    def _append(self, statement: str | list[str], lineno: int) -> None:
        if self.statements and lineno > self.previous + 1:  # groups stay apart, as written
            self.statements.append("")
        self.statements.append(statement)
        self.previous = lineno

    def lines(self) -> list[str]:
        return [
            s if isinstance(s, str) else f"from {s[0]} import {', '.join(sorted(s[1:]))}"
            for s in self.statements
        ]


def _defined_name(node: ast.stmt) -> str | None:
    """The name a top-level statement defines (a function, a class, one assigned name)."""
    if isinstance(node, ast.FunctionDef | ast.ClassDef):
        return node.name
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target = node.targets[0]
        return target.id if isinstance(target, ast.Name) else None
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return node.target.id
    return None
