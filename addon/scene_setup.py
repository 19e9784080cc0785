"""Scene timing and the voice in the timeline: fps and frame range from the clip, one sound strip."""

from __future__ import annotations

import bpy

SOUND_STRIP = "VividTalk audio"
FRAME_START = 1


def _strips(sed):
    return sed.strips if hasattr(sed, "strips") else sed.sequences  # 5.0 renamed sequences to strips


def set_timing(scene: bpy.types.Scene, fps: float, n_frames: int) -> None:
    whole = max(1, round(fps))
    scene.render.fps = whole
    scene.render.fps_base = whole / fps  # 29.97 = 30 / 1.001
    scene.frame_start = FRAME_START
    scene.frame_end = FRAME_START + max(1, n_frames) - 1


def replace_sound(scene: bpy.types.Scene, path: str) -> bpy.types.Strip:
    """The take's audio as the only VividTalk sound strip, starting at the first frame, synced for scrubbing."""
    sed = scene.sequence_editor or scene.sequence_editor_create()
    strips = _strips(sed)
    old = strips.get(SOUND_STRIP)
    if old is not None:
        strips.remove(old)
    strip = strips.new_sound(SOUND_STRIP, path, channel=1, frame_start=FRAME_START)
    scene.sync_mode = "AUDIO_SYNC"
    scene.use_audio_scrub = True
    return strip
