"""Reading the project's own .npz files (rigs, meshes): never pickles, a clear message for anything else."""

from __future__ import annotations

import os

import numpy as np

from ..errors import InputError


def read_npz(path: str | os.PathLike, what: str, fmt: str, max_version: int, remedy: str) -> dict[str, np.ndarray]:
    """All arrays of ``path`` after checking its ``format`` is ``fmt`` and its ``version`` is known.

    ``what`` names the file in messages ("rig", "meshes"); ``remedy`` says how to make a right one."""
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except FileNotFoundError as e:
        raise InputError(f"The {what} file '{path}' does not exist.") from e
    except (OSError, ValueError) as e:
        raise InputError(f"'{path}' is not a readable {what} file (.npz without pickles): {e}.") from e
    if str(data.get("format", "")) != fmt:
        raise InputError(f"'{path}' is not a vividtalk {what} file ({remedy}).")
    try:
        version = int(data.get("version", 0))
    except (TypeError, ValueError) as e:
        raise InputError(f"'{path}' has a damaged version field.") from e
    if version > max_version:
        raise InputError(f"'{path}' is {what} format version {version}; update vividtalk.")
    return data
