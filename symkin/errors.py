"""The one exception type symkin raises for bad input, and reading input files."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

Notes = Callable[[str], None]
"""Where loaders send remarks about what they read: an ignored element, a harmless defect."""


class SymkinNote(UserWarning):
    """A remark about an input file that is not an error (see :data:`Notes`)."""


def warn_note(message: str) -> None:
    """The default :data:`Notes`: a :class:`SymkinNote` warning."""
    warnings.warn(message, SymkinNote, stacklevel=4)


class SymkinError(ValueError):
    """A problem with the user's input: a file, a table, a tip or base name. A ``ValueError``, so
    that code catching bad values catches it too.

    ``str(error)`` is a single line that names the offending element and the
    problem; the CLI prefixes it with ``symkin: error: FILE:``.

    Attributes:
        source: the file (or other input) the problem was found in, if known.
        message: the problem, without the source.
    """

    def __init__(self, message: str, source: str | None = None) -> None:
        self.message = " ".join(message.split()) if "\n" in message else message
        self.source = source
        super().__init__(self.message if source is None else f"{source}: {self.message}")

    def with_source(self, source: str) -> SymkinError:
        """The same error attributed to ``source`` (kept if already attributed)."""
        return self if self.source is not None else SymkinError(self.message, source)


def read_input(path: Path) -> bytes:
    """The bytes of an input file; a SymkinError naming the file if it cannot be read."""
    try:
        return path.read_bytes()
    except OSError as error:
        raise SymkinError(f"cannot read file: {error.strerror or error}", str(path)) from None
