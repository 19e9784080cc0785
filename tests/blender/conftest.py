"""Blender tests: the built extension zip installed into the real bpy module (5.0.1 or 4.5 LTS from PyPI).

The engine runs out of process, as in Blender: $VIVIDTALK_ENGINE_PYTHON, else the checkout's .venv.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="vividtalk_blender_"))
_engine = REPO / ".venv" / "bin" / "python"
os.environ.setdefault("VIVIDTALK_ENGINE_PYTHON", str(_engine if _engine.exists() else sys.executable))

bpy = pytest.importorskip("bpy", reason="the Blender tests need the bpy module (pip install bpy==5.0.1)")


@pytest.fixture(scope="session")
def addon(tmp_path_factory):
    """Build the zip with Blender's extension tool, install and enable it; disable it at the end (bpy 4.5
    hangs at exit while operator classes are registered)."""
    import addon_utils

    sys.path.insert(0, str(REPO / "tools"))
    from build_extension import build

    zip_path = build(tmp_path_factory.mktemp("dist"))
    result = bpy.ops.extensions.package_install_files(filepath=str(zip_path), repo="user_default",
                                                      enable_on_install=True)
    assert result == {"FINISHED"}
    module = "bl_ext.user_default.vividtalk"
    assert module in sys.modules
    yield sys.modules[module]
    addon_utils.disable(module, default_set=True)


def reset_scene(addon) -> None:
    """Empty factory scene; factory settings also reset the preferences, so enable the extension again."""
    import addon_utils

    bpy.ops.wm.read_factory_settings(use_empty=True)
    if not hasattr(bpy.types, "VIVIDTALK_PT_main"):
        addon_utils.enable(addon.__name__, default_set=True)


@pytest.fixture
def scene(addon):
    reset_scene(addon)
    return bpy.context.scene


@pytest.fixture(scope="session")
def speech(shared_data) -> tuple[Path, str]:
    wav = shared_data / "speech" / "en" / "librivox_ss01_0930.wav"
    return wav, (wav.with_suffix(".txt")).read_text(encoding="utf-8").strip()
