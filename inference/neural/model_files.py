"""Reading the files of a downloaded model folder defensively: every file is checked to lie inside the
folder, JSON is size-limited and must be an object, and .npz archives are read without pickles after their
declared sizes are checked (a hostile archive can declare gigabytes in a few bytes)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..io.npz import load_arrays

JSON_MAX_BYTES = 16 << 20
NPZ_MAX_BYTES = 4 << 30  # the largest real file (Mark's model_data.npz) holds about 210 MB


def inside(folder: Path, relative: str, what: str) -> Path:
    """``relative`` resolved in ``folder``; a path that leaves the folder (absolute, '..', a link out) is refused."""
    if not isinstance(relative, str) or not relative.strip():
        raise InputError(f"The model folder '{folder}' names its {what} with an empty or non-text path.")
    path = (folder / relative).resolve()
    if not path.is_relative_to(folder.resolve()):
        raise InputError(f"The model folder '{folder}' names its {what} as '{relative}', outside the folder; "
                         "a model's files must lie inside its folder.")
    return path


def need(path: Path, what: str, remedy: str) -> Path:
    if not path.is_file():
        raise InputError(f"The model folder '{path.parent}' has no {what} ('{path.name}'). {remedy}")
    return path


def read_json(path: Path, what: str) -> dict[str, Any]:
    """A JSON object from ``path`` (at most 16 MB), or an InputError naming the file."""
    size = path.stat().st_size
    if size > JSON_MAX_BYTES:
        raise InputError(f"'{path}' ({what}) is {size / 1e6:.0f} MB; a model's JSON files are a few kB.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"'{path}' ({what}) is not valid JSON: {e}.") from e
    if not isinstance(data, dict):
        raise InputError(f"'{path}' ({what}) does not hold a JSON object.")
    return data


def read_npz(path: Path, what: str) -> dict[str, np.ndarray]:
    """Every array of an .npz (plain or compressed), without pickles, after checking the declared sizes."""
    try:
        with zipfile.ZipFile(path) as z:
            declared = sum(info.file_size for info in z.infolist())
    except (OSError, zipfile.BadZipFile) as e:
        raise InputError(f"'{path}' is not a readable {what} (.npz): {e}.") from e
    if declared > NPZ_MAX_BYTES:
        raise InputError(f"'{path}' ({what}) declares {declared / 2**30:.1f} GiB of arrays; refusing to unpack "
                         "it. A real model's files are far smaller: the download is damaged or not a model.")
    return load_arrays(path, what)


def field(data: dict[str, Any], path: Path, *keys: str, kind: type | tuple[type, ...] = object) -> Any:
    """``data[keys[0]][keys[1]]...`` of the JSON file ``path``, of type ``kind``, or a message naming it."""
    value: Any = data
    for i, key in enumerate(keys):
        if not isinstance(value, dict) or key not in value:
            raise InputError(f"'{path}' lacks '{'.'.join(keys[:i + 1])}'; the file is incomplete or of another "
                             "model version.")
        value = value[key]
    numeric = kind in (int, float) or (isinstance(kind, tuple) and float in kind)
    if (isinstance(value, bool) and numeric) or not isinstance(value, kind):
        raise InputError(f"'{path}': '{'.'.join(keys)}' is {value!r}; expected {getattr(kind, '__name__', kind)}.")
    return value


def names(array: np.ndarray) -> list[str]:
    """Text from a NumPy array of names: the SDK writes bytes (``|S``); str arrays are accepted too."""
    return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in np.asarray(array).reshape(-1).tolist()]


def count(value: Any, path: Path, key: str, low: int = 0, high: int = 10_000_000) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InputError(f"'{path}': '{key}' is {value!r}; expected a whole number {low}-{high}.")
    return value
