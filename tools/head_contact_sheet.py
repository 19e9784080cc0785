"""The fitted head's contact sheet for docs/rigs.md, rendered from the real Blender scene (Cycles, CPU).

    .venv/bin/python tools/head_contact_sheet.py [PHOTO ...] [-o docs/images/head_contact_sheet.jpg]

One row per photo (default: the shared portraits): the photo | the head Generate builds from it (ICT-FaceKit
head, shaped and textured from the photo), front | turned 30° | jaw open, teeth showing. The extension is built
and installed into the bpy module exactly as a user installs it, and Generate is pressed for each photo.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SIZE = 256
VIEWS = (("front", 0.0, 0.0), ("turned 30°", 30.0, 0.0), ("jaw open", 0.0, 0.7))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("photos", nargs="*", type=Path)
    ap.add_argument("-o", "--output", type=Path, default=REPO / "docs" / "images" / "head_contact_sheet.jpg")
    args = ap.parse_args()
    photos = args.photos or sorted((REPO.parent / "shared" / "data" / "portraits").glob("*.png"))
    sys.path.insert(0, str(REPO))
    sys.path.insert(0, str(REPO / "tools"))
    os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="vividtalk_sheet_"))
    os.environ.setdefault("VIVIDTALK_ENGINE_PYTHON", sys.executable)
    import cv2
    from blender_batch import _install_extension

    from inference.demo import write_demo_voice

    bpy, addon_utils, module = _install_extension()
    work = Path(tempfile.mkdtemp(prefix="vividtalk_sheet_"))
    voice = write_demo_voice(work / "line.wav", "Hello there.")
    rows = []
    try:
        for photo in photos:
            bpy.ops.wm.read_factory_settings(use_empty=True)
            addon_utils.enable(module, default_set=True)
            bpy.ops.vividtalk.generate(audio_path=str(voice), rig="ICT", portrait_path=str(photo.resolve()))
            cells = [_photo_cell(photo, cv2)]
            for _name, yaw, jaw in VIEWS:
                cells.append(_render(bpy, work / f"{photo.stem}_{yaw:.0f}_{jaw}.png", yaw, jaw, cv2))
            rows.append(np.hstack(cells))
            print(f"{photo.name}: rendered")
    finally:
        addon_utils.disable(module, default_set=True)
    sheet = np.vstack(rows)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.output), sheet, [cv2.IMWRITE_JPEG_QUALITY, 88])
    print(f"wrote {args.output}")


def _photo_cell(photo: Path, cv2) -> np.ndarray:
    """The photo cropped square around the face (MediaPipe's face oval), as BGR."""
    from inference.io.images import load_rgb
    from inference.rigs.landmarks import detect_landmarks

    rgb = load_rgb(photo)
    p = detect_landmarks(rgb, photo).points[:, :2]
    centre, half = (p.min(0) + p.max(0)) / 2, (p.max(0) - p.min(0)).max() * 0.8
    x0, y0 = (centre - half).astype(int)
    x1, y1 = (centre + half).astype(int)
    crop = rgb[max(0, y0):y1, max(0, x0):x1]
    return cv2.cvtColor(cv2.resize(crop, (SIZE, SIZE), interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2BGR)


def _render(bpy, path: Path, yaw_deg: float, jaw: float, cv2) -> np.ndarray:
    scene = bpy.context.scene
    arm = next(o for o in scene.objects if o.type == "ARMATURE")
    mesh = next(o for o in scene.objects if o.type == "MESH" and o.parent == arm)
    keys = mesh.data.shape_keys
    keys.animation_data.action = None  # the pose is the view's, not the take's
    arm.animation_data.action = None
    for kb in keys.key_blocks[1:]:
        kb.value = 0.0
    keys.key_blocks["jawOpen"].value = jaw
    if scene.camera is None:
        cam = bpy.data.objects.new("sheet camera", bpy.data.cameras.new("sheet camera"))
        cam.data.lens = 85
        scene.collection.objects.link(cam)
        scene.camera = cam
        sun = bpy.data.objects.new("sheet light", bpy.data.lights.new("sheet light", "SUN"))
        sun.data.energy = 3.0
        sun.rotation_euler = (math.radians(55), 0.0, math.radians(25))
        scene.collection.objects.link(sun)
        world = bpy.data.worlds.new("sheet world")
        world.use_nodes = True
        world.node_tree.nodes["Background"].inputs[1].default_value = 0.7
        scene.world = world
        scene.render.engine = "CYCLES"
        scene.cycles.samples = 24
        scene.cycles.device = "CPU"
        scene.render.resolution_x = scene.render.resolution_y = SIZE
    yaw = math.radians(yaw_deg)
    distance, height = 0.62, 0.025
    scene.camera.location = (distance * math.sin(yaw), -distance * math.cos(yaw), height)
    scene.camera.rotation_euler = (math.radians(90), 0.0, yaw)
    bpy.context.view_layer.update()
    scene.render.filepath = str(path)
    bpy.ops.render.render(write_still=True)
    return cv2.imread(str(path))


if __name__ == "__main__":
    main()
