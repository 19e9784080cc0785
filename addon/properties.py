"""The panel's settings and the running job's state, stored on the scene (saved with the .blend)."""

from __future__ import annotations

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty, PointerProperty, StringProperty

RIG_ITEMS = [
    ("PORTRAIT", "Portrait face", "The face in the portrait photo (or the built-in face without one)"),
    ("ICT", "ICT-FaceKit", "ICT-FaceKit head with 53 ARKit shapes, from its folder"),
    ("FLAME", "FLAME", "A FLAME 2020/2023 model file; ARKit curves map exactly to FLAME expressions"),
    ("SELECTED", "Selected mesh", "The selected mesh, driven through its ARKit or viseme shape keys"),
]
EMOTION_ITEMS = [(e.upper(), e.capitalize(), f"{e.capitalize()} expression offset")
                 for e in ("neutral", "happy", "sad", "angry", "surprised")]


class VIVIDTALK_PG_settings(bpy.types.PropertyGroup):
    audio_path: StringProperty(name="Audio", subtype="FILE_PATH",
                               description="Voice recording: WAV, FLAC, OGG, MP3, M4A, AIFF or a video file")
    transcript: StringProperty(name="Transcript", description="What is said: the text, or a path to a UTF-8 "
                               ".txt file. The biggest lever for lip-sync quality")
    language: StringProperty(name="Language", default="en",
                             description="ISO 639-1 code (en, de, es, fr, ja, sv, zh, ...) or an espeak-ng voice")
    rig: EnumProperty(name="Target rig", items=RIG_ITEMS, default="PORTRAIT")
    portrait_path: StringProperty(name="Portrait", subtype="FILE_PATH",
                                  description="Photo of the face to animate (optional: a built-in face otherwise)")
    ict_path: StringProperty(name="ICT folder", subtype="DIR_PATH", description="Folder holding ict_arkit.npz")
    flame_path: StringProperty(name="FLAME model", subtype="FILE_PATH",
                               description="FLAME 2020/2023 generic_model.pkl or .npz")
    mouth_gain: FloatProperty(name="Mouth", default=1.0, min=0.0, max=3.0, description="Mouth amplitude")
    head_gain: FloatProperty(name="Head", default=1.0, min=0.0, max=3.0, description="Head motion amplitude")
    emotion: EnumProperty(name="Emotion", items=EMOTION_ITEMS, default="NEUTRAL")
    emotion_strength: FloatProperty(name="Strength", default=1.0, min=0.0, max=2.0)
    seed: IntProperty(name="Seed", default=0, min=0, description="Blinks, gaze and idle head motion")

    # job state, shown by the panel while the engine runs
    running: BoolProperty(default=False, options={"SKIP_SAVE"})
    progress: FloatProperty(default=0.0, min=0.0, max=1.0, subtype="FACTOR", options={"SKIP_SAVE"})
    status: StringProperty(default="", options={"SKIP_SAVE"})
    cancel_requested: BoolProperty(default=False, options={"SKIP_SAVE"})


CLASSES = (VIVIDTALK_PG_settings,)


_register_classes, _unregister_classes = bpy.utils.register_classes_factory(CLASSES)


def register() -> None:
    _register_classes()
    bpy.types.Scene.vividtalk = PointerProperty(type=VIVIDTALK_PG_settings)


def unregister() -> None:
    del bpy.types.Scene.vividtalk
    _unregister_classes()
