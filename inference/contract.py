"""The declared engine <-> add-on contract (``data/engine_contract.json``): options, ranges, enums, formats.

The command line is built from it, the file readers check their format versions against it, and the Blender
add-on ships a copy (tools/build_extension.py) from which its panel and operators are built. Nothing here is
copied by hand to the other side: tests/test_contract.py fails when the two drift.
"""

from __future__ import annotations

import argparse
import json
import math
from functools import cache
from pathlib import Path
from typing import Any

CONTRACT_PATH = Path(__file__).with_name("data") / "engine_contract.json"


@cache
def contract() -> dict[str, Any]:
    return json.loads(CONTRACT_PATH.read_text(encoding="utf-8"))


def file_format(kind: str) -> tuple[str, int]:
    """(format name, current version) of one of the files the engine and the add-on exchange."""
    spec = contract()["formats"][kind]
    return spec["format"], int(spec["version"])


def limit(name: str) -> float:
    return float(contract()["limits"][name])


def exit_code(name: str) -> int:
    return int(contract()["exit_codes"][name])


def add_options(parser: argparse.ArgumentParser, group: str, names: tuple[str, ...] | None = None) -> None:
    """Add ``--name`` options of a contract group (``animate_options``, ``engine_options``, ``render_options``)
    with their ranges."""
    for name, spec in contract()[group].items():
        if names is None or name in names:
            parser.add_argument(f"--{name.replace('_', '-')}", dest=name, default=spec["default"],
                                help=spec["help"], **_parse_kwargs(name, spec))


def parse_option(group: str, name: str, text: str) -> Any:
    """One option of a contract group from text (a manifest cell, say): its type, range and choices checked.
    Raises ValueError with a message that gives the range or the choices."""
    spec = contract()[group][name]
    kwargs = _parse_kwargs(name, spec)
    try:
        value = kwargs["type"](text)
    except argparse.ArgumentTypeError as e:
        raise ValueError(f"{name} {e}") from None
    if "choices" in kwargs and value not in kwargs["choices"]:
        raise ValueError(f"{name} '{text}' is not one of {', '.join(kwargs['choices'])}")
    return value


def add_progress(parser: argparse.ArgumentParser) -> None:
    spec = contract()["progress"]
    parser.add_argument(spec["option"], choices=spec["choices"], default=spec["default"],
                        help="progress output: a bar on a terminal, JSON lines for tools, or nothing")


def _parse_kwargs(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    if spec["type"] == "enum":
        return {"choices": spec["choices"], "type": _lower}
    if spec["type"] in ("str", "path"):
        return {"type": _non_empty(name)}
    return {"type": _in_range(name, int if spec["type"] == "int" else float, spec["min"], spec["max"])}


def _in_range(name: str, kind: type, lo: float, hi: float):
    """An argparse type: a finite number of ``kind`` within [lo, hi], or a message that gives the range."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not {'a whole' if kind is int else 'a'} number") from None
        if not math.isfinite(value) or not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{text} is out of range; use {lo:g}-{hi:g}")
        return value

    parse.__name__ = name  # argparse names the type in its messages
    return parse


def _lower(text: str) -> str:
    return text.strip().lower()


def _non_empty(name: str):
    def parse(text: str) -> str:
        if not text.strip():
            raise argparse.ArgumentTypeError("must not be empty")
        return text.strip()

    parse.__name__ = name
    return parse
