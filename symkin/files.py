"""Writing outputs: whole files or nothing, to the path a user means.

- ``-`` is standard output (written in one piece at the end, so an error leaves nothing);
- a folder (an existing one, or a path ending in ``/``) gets the default file name inside it;
- a symbolic link is followed: its target is replaced, the link stays;
- an existing path that is not a regular file (a device, a FIFO, a socket) is refused;
- a file is written to a temporary file beside it and renamed over it, so an existing file is
  replaced only by a complete new one; missing folders are created.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from symkin.errors import SymkinError

STDOUT = "-"


def output_path(spelling: str | None, default_name: str) -> Path | None:
    """Where ``-o spelling`` writes (None: standard output); ``default_name`` if none is given."""
    if spelling == STDOUT:
        return None
    if spelling is None:
        return Path(default_name)
    path = Path(spelling)
    if spelling.endswith(("/", os.sep)) or path.is_dir():
        return path / default_name
    return path


def write_output(spelling: str | None, default_name: str, text: str) -> str:
    """Write ``text`` where ``-o spelling`` says (see the module docstring); returns what was
    written, for messages."""
    path = output_path(spelling, default_name)
    if path is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return "standard output"
    write_atomically(path, text)
    return str(path)


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` (its target, if it is a symbolic link) through a temporary file
    in the same folder and a rename. SymkinError if the path cannot be written."""
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as error:
        raise SymkinError(f"cannot write {path}: {error.strerror or error}") from None
    if mode is not None and not stat.S_ISREG(mode):
        kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file (a device, FIFO or socket)"
        raise SymkinError(f"cannot write {path}: it is {kind}")
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(temporary, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(temporary, stat.S_IMODE(mode))  # a replaced file keeps its permissions
        os.replace(temporary, target)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise SymkinError(f"cannot write {path}: {error.strerror or error}") from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
