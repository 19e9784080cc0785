"""Scene timing and the voice in the timeline: fps and frame range from the clip, one sound strip."""

from __future__ import annotations

import bpy

SOUND_STRIP = "VividTalk audio"
VIDEO_STRIP = "VividTalk video"
FRAME_START = 1


def strips(sed):
    return sed.strips if hasattr(sed, "strips") else sed.sequences  # 5.0 renamed sequences to strips


def set_timing(scene: bpy.types.Scene, fps: float, n_frames: int) -> None:
    whole = max(1, round(fps))
    scene.render.fps = whole
    scene.render.fps_base = whole / fps  # 29.97 = 30 / 1.001
    scene.frame_start = FRAME_START
    scene.frame_end = FRAME_START + max(1, n_frames) - 1


def replace_sound(scene: bpy.types.Scene, path: str) -> bpy.types.Strip:
    """The take's audio as the only VividTalk sound strip, starting at the first frame, synced for scrubbing."""
    strip = _replace_strip(scene, SOUND_STRIP, lambda s: s.new_sound(SOUND_STRIP, path, channel=1,
                                                                       frame_start=FRAME_START))
    scene.sync_mode = "AUDIO_SYNC"
    scene.use_audio_scrub = True
    return strip


def replace_video(scene: bpy.types.Scene, path: str) -> bpy.types.Strip:
    """The rendered video as the only VividTalk movie strip, above the sound, from the first frame."""
    return _replace_strip(scene, VIDEO_STRIP, lambda s: s.new_movie(VIDEO_STRIP, path, channel=2,
                                                                     frame_start=FRAME_START))


def _replace_strip(scene: bpy.types.Scene, name: str, create) -> bpy.types.Strip:
    sed = scene.sequence_editor or scene.sequence_editor_create()
    all_strips = strips(sed)
    old = all_strips.get(name)
    if old is not None:
        all_strips.remove(old)
    return create(all_strips)
