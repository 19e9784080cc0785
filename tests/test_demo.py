"""The quick start's main job: `vividtalk demo` writes every result from the built-in voice and portrait."""

from __future__ import annotations

import importlib.util
import subprocess
import sys


def test_the_demo_writes_every_result(tmp_path):
    out = tmp_path / "vividtalk demo"
    run = subprocess.run([sys.executable, "-m", "inference", "demo", "-o", str(out)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    files = {p.name: p.stat().st_size for p in out.iterdir()}
    for name in ("demo_voice.wav", "demo_voice.txt", "demo_clip.json", "demo_curves.csv", "demo_face_rig.npz",
                 "demo_video.mp4"):
        assert files.get(name, 0) > 0, (name, files)
    if importlib.util.find_spec("bpy") is not None:  # the Blender step: the textured head keyed, and its FBX
        assert files.get("demo_take.blend", 0) > 1_000_000 and files.get("demo_take.fbx", 0) > 1_000_000, files
        assert "textured from the portrait" in run.stdout
    assert not [n for n in files if n.startswith(".")]  # nothing temporary left
