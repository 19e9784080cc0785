"""The declared engine <-> add-on contract: the engine's command line, formats and readers follow it, and the
add-on carries no hand-made copy of it. (The add-on's panel and operators are checked against it inside Blender,
tests/blender/test_addon_contract.py.)"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from inference.cli import build_parser
from inference.contract import CONTRACT_PATH, contract, file_format

REPO = Path(__file__).resolve().parents[1]


def _subparser(command: str) -> argparse.ArgumentParser:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[command]


def _option(parser: argparse.ArgumentParser, flag: str) -> argparse.Action:
    return next(a for a in parser._actions if flag in a.option_strings)


def test_every_command_in_the_contract_exists_and_takes_progress():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert sorted(sub.choices) == sorted(contract()["commands"])
    for name in contract()["commands"]:  # the add-on passes --progress json to every step it runs
        action = _option(sub.choices[name], "--progress")
        assert list(action.choices) == contract()["progress"]["choices"], name


@pytest.mark.parametrize("group,command", [("animate_options", "animate"), ("render_options", "render")])
def test_the_command_line_takes_exactly_the_contracts_options(group, command):
    parser = _subparser(command)
    for name, spec in contract()[group].items():
        action = _option(parser, f"--{name.replace('_', '-')}")
        assert action.default == spec["default"], name
        if spec["type"] == "enum":
            assert list(action.choices) == spec["choices"], name
        if spec["type"] in ("int", "float"):
            kind = int if spec["type"] == "int" else float
            assert action.type(str(kind(spec["min"]))) == spec["min"]
            assert action.type(str(kind(spec["max"]))) == spec["max"]
            step = 1 if kind is int else 1e-3
            for outside in (spec["min"] - step, spec["max"] + step):
                with pytest.raises(argparse.ArgumentTypeError, match="out of range"):
                    action.type(str(kind(outside)))


def test_the_library_defaults_are_the_contracts():
    """`render --audio` without a clip animates with AnimateOptions(): the clip `animate` makes with no options."""
    from inference.pipeline import AnimateOptions

    defaults = {name: spec["default"] for group in ("animate_options", "engine_options")
                for name, spec in contract()[group].items()}
    assert AnimateOptions.from_contract(defaults) == AnimateOptions()


def test_library_callers_get_the_same_ranges():
    from inference.errors import InputError
    from inference.pipeline import AnimateOptions

    spec = contract()["animate_options"]
    AnimateOptions(mouth_gain=spec["mouth_gain"]["max"], seed=spec["seed"]["max"]).validate()
    for field, value in (("mouth_gain", spec["mouth_gain"]["max"] + 0.01), ("fps", spec["fps"]["min"] - 0.5),
                         ("language", " "), ("emotion", "bored"), ("seed", -1)):
        with pytest.raises(InputError):
            AnimateOptions(**{field: value}).validate()


def test_the_engines_formats_are_the_contracts():
    from inference.motion import clip
    from inference.render import mesh_frames
    from inference.rigs import rig

    assert file_format("motion_clip") == (clip.FORMAT, clip.VERSION)
    assert file_format("rig") == (rig.RIG_FORMAT, rig.RIG_VERSION)
    assert file_format("meshes") == (mesh_frames.MESHES_FORMAT, mesh_frames.MESHES_VERSION)


def test_retarget_results_carry_their_format():
    import numpy as np

    from inference.motion.clip import MotionClip
    from inference.rigs.retarget import retarget_clip

    clip = MotionClip(fps=30.0, duration=0.3, channels={"jawOpen": np.linspace(0, 1, 10)}, head={})
    result = retarget_clip(clip, ["jawOpen", "Basis"])
    assert (result["format"], result["version"]) == file_format("retarget")


def test_the_addon_holds_no_copy_of_the_contract():
    """Format names, option ranges and choices live in the contract file only; the add-on reads them from it."""
    formats = [spec["format"] for spec in contract()["formats"].values()]
    emotions = contract()["animate_options"]["emotion"]["choices"]
    numeric = [s for g in ("animate_options", "render_options") for s in contract()[g].values() if "max" in s]
    ranges = {f"max={s['max']}" for s in numeric} | {f"max={float(s['max'])}" for s in numeric}
    for source in (REPO / "addon").glob("*.py"):
        text = source.read_text(encoding="utf-8")
        for name in formats:
            assert f'"{name}"' not in text, f"{source.name} spells out the format {name}"
        assert not [r for r in ranges if re.search(rf"\b{re.escape(r)}\b", text)], f"{source.name} hard-codes a range"
        assert not all(f'"{e}"' in text for e in emotions), f"{source.name} lists the emotions itself"


def test_the_extension_build_ships_the_contract():
    text = (REPO / "tools" / "build_extension.py").read_text(encoding="utf-8")
    assert CONTRACT_PATH.relative_to(REPO).as_posix().split("/")[-1] in text
