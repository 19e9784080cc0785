"""Time spent inside Blender for a 60-second line on a rig, beyond the engine's own time.

Makes a 60 s voice line (espeak-ng) and runs the engine once for the clip and the rig, then, in the bpy
module, times building the rig objects and writing the take (keys, handles, groups). Run with the
interpreter that has bpy: ``python -m benchmarks.blender_keying [--rig portrait|ict]`` (ict: the complete head
that ships with vividtalk).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rig", choices=("portrait", "ict"), default="portrait")
    rig_args = ["--ict"] if ap.parse_args().rig == "ict" else []
    os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="vividtalk_bench_"))
    import bpy

    from inference.demo import DEMO_TEXT, write_demo_voice

    work = Path(tempfile.mkdtemp(prefix="vividtalk_bench_"))
    text = " ".join([DEMO_TEXT] * 5)
    write_demo_voice(work / "minute.wav", text)
    engine = [sys.executable, "-m", "inference"]
    started = time.perf_counter()
    subprocess.run([*engine, "animate", str(work / "minute.wav"), "-t", text, "-o", str(work / "clip.json"),
                    "--progress", "quiet"], check=True)
    subprocess.run([*engine, "rig", *rig_args, "-o", str(work / "rig.npz"), "--progress", "quiet"], check=True)
    engine_s = time.perf_counter() - started

    sys.path.insert(0, str(REPO / "tools"))
    from build_extension import build

    bpy.ops.extensions.package_install_files(filepath=str(build(work / "dist")), repo="user_default",
                                             enable_on_install=True)
    rb = sys.modules["bl_ext.user_default.vividtalk.rig_builder"]
    kf = sys.modules["bl_ext.user_default.vividtalk.keyframes"]
    clip = json.loads((work / "clip.json").read_text())
    t0 = time.perf_counter()
    objs = rb.build_rig_objects(rb.RigData.load(str(work / "rig.npz")), "bench")
    bpy.context.scene.collection.children.link(objs.collection)
    t1 = time.perf_counter()
    head = {a: clip["keys"][a] for a in ("pitch", "yaw", "roll") if a in clip["keys"]}
    shapes = {c: k for c, k in clip["keys"].items() if c not in head}
    kf.write_take("bench", objs.mesh.data.shape_keys, objs.armature, shapes, clip["channel_groups"], head,
                  json.loads(objs.armature["vividtalk_head_drivers"]), clip["fps"], 1)
    t2 = time.perf_counter()
    n_keys = sum(len(k) for k in clip["keys"].values())
    print(f"clip {clip['duration']:.1f} s, {n_keys} keys on {len(clip['keys'])} channels; engine {engine_s:.1f} s")
    print(f"inside Blender {bpy.app.version_string}: build rig {1000 * (t1 - t0):.0f} ms, write take "
          f"{1000 * (t2 - t1):.0f} ms ({1e6 * (t2 - t1) / n_keys:.1f} µs per key), total {1000 * (t2 - t0):.0f} ms")


if __name__ == "__main__":
    main()
