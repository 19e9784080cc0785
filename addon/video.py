"""Render Video's Blender side: the edited portrait rig evaluated per frame, and the result in the sequencer.

The engine renders (``vividtalk render``); Blender hands it what the animator sees: the rig's evaluated
vertices per frame (shape keys, drivers, bones, corrective shapes, any edit) in rig space, written as a
meshes file (docs/formats.md). Other rigs hand over their ARKit curves instead, which drive the portrait rig.
"""

from __future__ import annotations

from pathlib import Path

import bpy
import numpy as np

from . import rig_builder
from .contract import format_header
from .scene_setup import SOUND_STRIP, strips


def portrait_photo(armature: bpy.types.Object | None) -> tuple[bool, str]:
    """(is the rig the portrait face mask, the photo it was made from or '' for the built-in face or none) from
    the rig's source tag. The mask hands the renderer its own meshes; a head from a photo hands over its curves,
    which drive the mask of the same photo."""
    tag = str(armature.get(rig_builder.RIG_TAG, "")) if armature is not None else ""
    kind, _, path = tag.partition(":")
    if kind not in ("PORTRAIT", "HEAD"):
        return False, ""
    return kind == "PORTRAIT", "" if path == "built-in" else path


def write_meshes(context, mesh: bpy.types.Object, path: Path) -> int:
    """Evaluate ``mesh`` on every frame of the scene and write the meshes file; returns the frame count."""
    scene = context.scene
    frames = range(scene.frame_start, scene.frame_end + 1)
    n = len(mesh.data.vertices)
    verts = np.empty((len(frames), n, 3), np.float32)
    close = np.zeros(len(frames), np.float32)
    jaw = np.zeros(len(frames), np.float32)
    keys = mesh.data.shape_keys.key_blocks
    buf = np.empty(n * 3, np.float32)
    current = scene.frame_current
    try:
        for i, f in enumerate(frames):
            scene.frame_set(f)
            evaluated = mesh.evaluated_get(context.evaluated_depsgraph_get())
            data = evaluated.to_mesh()
            try:
                data.vertices.foreach_get("co", buf)
            finally:
                evaluated.to_mesh_clear()
            verts[i] = rig_builder.from_blender(buf.reshape(n, 3))
            close[i] = keys["mouthClose"].value if "mouthClose" in keys else 0.0
            jaw[i] = keys["jawOpen"].value if "jawOpen" in keys else 0.0
    finally:
        scene.frame_set(current)
    header = format_header("meshes")
    np.savez(path, format=np.array(header["format"]), version=np.array(header["version"]), vertices=verts,
             fps=np.array(scene.render.fps / scene.render.fps_base), mouth_close=close, jaw_open=jaw)
    return len(frames)


def take_audio(scene: bpy.types.Scene) -> str:
    """The voice in the timeline (the take's sound strip), or ''."""
    sed = scene.sequence_editor
    strip = strips(sed).get(SOUND_STRIP) if sed is not None else None
    if strip is None or strip.sound is None:
        return ""
    return bpy.path.abspath(strip.sound.filepath)
