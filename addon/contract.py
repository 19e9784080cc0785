"""The engine's declared contract, as the add-on reads it (no bpy here, so it is testable anywhere).

``engine_contract.json`` is the engine's own file (inference/data/), copied into the extension by
tools/build_extension.py: the panel's options, their ranges and choices, and the format versions of every file
the add-on reads come from it, never from copies typed on this side.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

CONTRACT_FILE = Path(__file__).with_name("engine_contract.json")


class FormatError(ValueError):
    """An engine file of the wrong kind or of a version this add-on does not read."""


@cache
def contract() -> dict[str, Any]:
    return json.loads(CONTRACT_FILE.read_text(encoding="utf-8"))


def option(group: str, name: str) -> dict[str, Any]:
    """One option's spec: type, default, min/max or choices, label, help."""
    return contract()[group][name]


def animate_option_names() -> list[str]:
    return list(contract()["animate_options"])


def check_format(fmt: Any, version: Any, kind: str, where: str) -> None:
    """Raise FormatError unless (fmt, version) is a ``kind`` file this add-on reads."""
    spec = contract()["formats"][kind]
    if str(fmt) != spec["format"]:
        raise FormatError(f"'{where}' is not a {spec['format']} file.")
    try:
        number = int(version)
    except (TypeError, ValueError):
        raise FormatError(f"'{where}' has a damaged version ({version!r}).") from None
    if not spec["reads_from"] <= number <= spec["version"]:
        raise FormatError(f"'{where}' is {spec['format']} version {number}; this add-on reads versions "
                          f"{spec['reads_from']}-{spec['version']}. Update the add-on and the engine together.")


def read_json_file(path: Path, kind: str) -> dict[str, Any]:
    """An engine JSON output, version-checked."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise FormatError(f"Could not read the engine's result '{path.name}': {e}.") from e
    if not isinstance(data, dict):
        raise FormatError(f"'{path.name}' is not an engine result.")
    check_format(data.get("format"), data.get("version"), kind, path.name)
    return data


def format_header(kind: str) -> dict[str, Any]:
    """``{"format": ..., "version": ...}`` for a file the add-on writes for the engine."""
    spec = contract()["formats"][kind]
    return {"format": spec["format"], "version": spec["version"]}
