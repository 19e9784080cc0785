"""Reading the JSON files users hand the engine (motion clips, shape-key lists): size and nesting bounded, one
clear message for anything that is not readable JSON."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..contract import limit
from ..errors import InputError


def read_json(path: str | os.PathLike, what: str) -> Any:
    """The parsed JSON of ``path``; ``what`` names the file in messages ("motion clip")."""
    p = Path(path).expanduser()
    if not p.exists():
        raise InputError(f"The {what} '{p}' does not exist; check the path.")
    if not p.is_file():
        raise InputError(f"The {what} '{p}' is not a regular file.")
    if p.stat().st_size > limit("json_max_bytes"):
        raise InputError(f"The {what} '{p}' is {p.stat().st_size / 2**20:.0f} MB; that is not a file vividtalk "
                         "wrote. Check the path.")
    try:
        return json.loads(p.read_text(encoding="utf-8"), parse_constant=_no_constant)
    except (OSError, ValueError) as e:  # ValueError: bad UTF-8, bad JSON, NaN
        raise InputError(f"'{p}' is not a readable {what} (UTF-8 JSON): {e}.") from e
    except RecursionError as e:
        raise InputError(f"'{p}' is not a {what}: its JSON is nested far too deeply.") from e


def _no_constant(name: str) -> Any:
    """NaN, Infinity and -Infinity are not JSON; Python's reader would accept them silently."""
    raise ValueError(f"'{name}' is not a number JSON allows")
