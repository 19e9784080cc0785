"""Atomic output: write to a temporary file beside the target, then rename over it.

A crash, a cancel or a full disk never leaves a half-written file, and an existing file is only
replaced once the new one is complete.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from ..errors import OutputError


def check_writable_target(path: str | os.PathLike) -> Path:
    """Fail early, before any expensive work, if ``path`` cannot be written."""
    target = Path(path).expanduser()
    folder = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise OutputError(f"Output path '{target}' is a folder; give a file name, e.g. '{target / 'out'}'.")
    if target.exists() and not target.is_file():
        raise OutputError(f"Output path '{target}' is a device, pipe or socket, not a file; give a file name.")
    if not folder.exists():
        raise OutputError(f"Output folder '{folder}' does not exist; create it or choose another path.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"Output folder '{folder}' is not writable; choose a folder you can write to.")
    if target.exists() and not os.access(target, os.W_OK):
        raise OutputError(f"Output file '{target}' is read-only; remove the protection or choose another name.")
    return target


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success it replaces ``path`` in one rename."""
    target = check_writable_target(path)
    binary = "b" in mode
    fd, tmp = temp_file_beside(target)
    try:
        with os.fdopen(fd, mode, encoding=None if binary else encoding, newline=None if binary else "") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        replace_with(tmp, target)
    except OSError as e:  # writing failed (disk full, ...)
        remove_quietly(tmp)
        raise OutputError(f"Could not write '{target}': {e.strerror or e}.") from e
    except BaseException:
        remove_quietly(tmp)
        raise


def atomic_write_bytes(path: str | os.PathLike, write: Callable[[IO[bytes]], object]) -> None:
    """``write(buffer)`` into memory, then the bytes into ``path`` atomically. Library writers (zip archives,
    libsndfile) that fail part-way through a real file leave half-closed objects that complain at exit; in
    memory they cannot fail that way, and the one real write reports a full disk cleanly."""
    buffer = io.BytesIO()
    write(buffer)
    with atomic_open(path, "wb") as f:
        f.write(buffer.getbuffer())


def temp_file_beside(target: Path) -> tuple[int, str]:
    """(open descriptor, path) of a new hidden temporary file in ``target``'s folder, for a later rename."""
    try:
        return tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent or ".")
    except OSError as e:
        raise OutputError(f"Cannot create a file in '{target.parent}': {e.strerror}.") from e


def replace_with(tmp: str | os.PathLike, target: Path) -> None:
    """Rename the finished ``tmp`` over ``target`` in one step, with the permission bits ``target`` had (or the
    umask's defaults: mkstemp makes files 0600)."""
    try:
        if target.exists():
            os.chmod(tmp, target.stat().st_mode & 0o7777)
        else:
            os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, target)
    except OSError as e:
        raise OutputError(f"Could not write '{target}': {e.strerror or e}.") from e


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def remove_quietly(path: str | os.PathLike) -> None:
    with contextlib.suppress(OSError):
        os.remove(path)
