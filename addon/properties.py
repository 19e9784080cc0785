"""The panel's settings (on the scene, saved with the .blend) and the running job's state (on the window
manager: never saved, never tied to a scene the user may switch away from).

Every engine option here is built from the engine's contract (contract.py): its label, default, range and
choices are the engine's own, so the panel offers exactly what the engine accepts.
"""

from __future__ import annotations

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty, PointerProperty, StringProperty

from .contract import option

RIG_ITEMS = [
    ("HEAD", "Head from photo", "The complete head (skull, eyes, teeth, tongue; ICT-FaceKit) shaped and textured "
     "like the face in the portrait photo; the built-in head without one"),
    ("PORTRAIT", "Face mask", "The face in the portrait photo as a mask (478 points, the photo as its texture, a "
     "camera that sees it as photographed); the built-in face without one"),
    ("ICT", "ICT-FaceKit head", "The complete ICT-FaceKit head (skull, eyes, teeth, tongue) with its artist-made "
     "ARKit shapes: the one that ships with VividTalk, or your checkout"),
    ("FLAME", "FLAME", "A FLAME 2020/2023 model file; ARKit curves map exactly to FLAME expressions"),
    ("SELECTED", "Selected mesh", "The selected mesh, driven through its ARKit or viseme shape keys"),
]


ENGINE_ITEMS = [
    ("BUILTIN", "Built-in", "Phone timing by the built-in aligner on the CPU: no model to download"),
    ("A2F", "Audio2Face-3D", "Lips and jaw from an NVIDIA Audio2Face-3D v2.3 model folder (GPU when present); "
     "head, blinks and brows stay VividTalk's"),
    ("WAV2VEC2", "wav2vec2 phonemes", "Phone timing from a wav2vec2 phoneme model folder (GPU when present), "
     "in every language espeak-ng speaks"),
]


def enum_items(group: str, name: str) -> list[tuple[str, str, str]]:
    """Blender enum items (upper-case identifiers) for one of the contract's choices."""
    return [(c.upper(), c.capitalize(), f"{option(group, name)['label']}: {c}")
            for c in option(group, name)["choices"]]


def contract_property(group: str, name: str, **extra):
    """A bpy property for the contract's option ``group.name`` (``extra``: options such as SKIP_SAVE)."""
    spec = option(group, name)
    common = {"name": spec["label"], "description": spec["help"][:1].upper() + spec["help"][1:], **extra}
    if spec["type"] == "float":
        return FloatProperty(default=spec["default"], min=spec["min"], max=spec["max"], **common)
    if spec["type"] == "int":
        return IntProperty(default=spec["default"] or spec["min"], min=spec["min"], max=spec["max"], **common)
    if spec["type"] == "enum":
        return EnumProperty(items=enum_items(group, name), default=str(spec["default"]).upper(), **common)
    if spec["type"] == "path":
        return StringProperty(default=spec["default"] or "", subtype="DIR_PATH", **common)
    return StringProperty(default=spec["default"] or "", **common)


class VIVIDTALK_PG_settings(bpy.types.PropertyGroup):
    audio_path: StringProperty(name="Audio", subtype="FILE_PATH",
                               description="Voice recording: WAV, FLAC, OGG, MP3, M4A, AIFF or a video file")
    transcript: StringProperty(name="Transcript", description="What is said: the text, or a path to a UTF-8 "
                               ".txt file. The biggest lever for lip-sync quality")
    language: contract_property("animate_options", "lang")
    rig: EnumProperty(name="Target rig", items=RIG_ITEMS, default="HEAD")
    portrait_path: StringProperty(name="Portrait", subtype="FILE_PATH",
                                  description="Photo of the face to animate (optional: a built-in face otherwise)")
    ict_path: StringProperty(name="ICT folder", subtype="DIR_PATH",
                             description="An ICT-FaceKit checkout (optional: the head that ships with VividTalk)")
    flame_path: StringProperty(name="FLAME model", subtype="FILE_PATH",
                               description="FLAME 2020/2023 generic_model.pkl or .npz")
    mouth_gain: contract_property("animate_options", "mouth_gain")
    jaw_gain: contract_property("animate_options", "jaw_gain")
    lip_gain: contract_property("animate_options", "lip_gain")
    head_gain: contract_property("animate_options", "head_gain")
    head_style: contract_property("animate_options", "head_style")
    head_from: StringProperty(name="Head motion from video", subtype="FILE_PATH",
                              description="Optional: a video of a speaker (20 s or more); the head moves in their "
                              "style instead of the head style's")
    emotion: contract_property("animate_options", "emotion")
    emotion_strength: contract_property("animate_options", "emotion_strength")
    seed: contract_property("animate_options", "seed")
    engine: EnumProperty(name="Engine", items=ENGINE_ITEMS, default="BUILTIN",
                         description="What makes the lip sync: the built-in aligner or a learned model")
    a2f_model: contract_property("engine_options", "a2f_model")
    a2f_actor: contract_property("engine_options", "a2f_actor")
    phone_model: contract_property("engine_options", "phone_model")
    device: contract_property("engine_options", "device")


class VIVIDTALK_PG_job(bpy.types.PropertyGroup):
    """The job in flight (one at a time): shown by the panel, never saved with a file."""

    running: BoolProperty(default=False)
    scene_name: StringProperty(description="The scene the job was started in; its result goes there")
    progress: FloatProperty(default=0.0, min=0.0, max=1.0, subtype="FACTOR")
    status: StringProperty(default="")
    cancel_requested: BoolProperty(default=False)


class VIVIDTALK_PG_install(bpy.types.PropertyGroup):
    """The preferences' engine install in flight, shown by the preferences."""

    running: BoolProperty(default=False)
    progress: FloatProperty(default=0.0, min=0.0, max=1.0, subtype="FACTOR")
    status: StringProperty(default="")
    cancel_requested: BoolProperty(default=False)


def job_state(context) -> VIVIDTALK_PG_job:
    return context.window_manager.vividtalk_job


class CancelsJob:
    """What a Cancel button does, for a job whose state ``state(context)`` has ``running`` and
    ``cancel_requested``: ask; the job's own loop stops it and cleans up."""

    idle_message = "Nothing is running"

    @staticmethod
    def state(context):
        raise NotImplementedError

    @classmethod
    def poll(cls, context):
        if not cls.state(context).running:
            cls.poll_message_set(cls.idle_message)
            return False
        return True

    def execute(self, context):
        self.state(context).cancel_requested = True
        return {"FINISHED"}


def install_state(context) -> VIVIDTALK_PG_install:
    return context.window_manager.vividtalk_install


CLASSES = (VIVIDTALK_PG_settings, VIVIDTALK_PG_job, VIVIDTALK_PG_install)


_register_classes, _unregister_classes = bpy.utils.register_classes_factory(CLASSES)


def register() -> None:
    _register_classes()
    bpy.types.Scene.vividtalk = PointerProperty(type=VIVIDTALK_PG_settings)
    bpy.types.WindowManager.vividtalk_job = PointerProperty(type=VIVIDTALK_PG_job)
    bpy.types.WindowManager.vividtalk_install = PointerProperty(type=VIVIDTALK_PG_install)


def unregister() -> None:
    del bpy.types.WindowManager.vividtalk_install
    del bpy.types.WindowManager.vividtalk_job
    del bpy.types.Scene.vividtalk
    _unregister_classes()
