"""What Generate does around the engine: the engine steps to run, then applying their results to the scene.

Nothing touches the scene until the engine has finished: a cancelled or failed job leaves it exactly as
it was. Applying creates the new data first (rig objects in an unlinked collection, the take's action)
and only then links and assigns it, removing what it made if anything fails on the way.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import bpy

from . import keyframes, rig_builder, scene_setup
from .contract import animate_option_names, read_json_file
from .engine import Step

TAKE_PREFIX = "VividTalk"


@dataclass
class Request:
    """Everything one Generate needs, from operator properties or the panel's settings."""

    audio_path: str
    transcript: str = ""
    language: str = "en"
    rig: str = "HEAD"
    portrait_path: str = ""
    ict_path: str = ""
    flame_path: str = ""
    mouth_gain: float = 1.0
    jaw_gain: float = 1.0
    lip_gain: float = 1.0
    head_gain: float = 1.0
    head_style: str = "CONVERSATIONAL"
    emotion: str = "NEUTRAL"
    emotion_strength: float = 1.0
    seed: int = 0
    head_from: str = ""  # a video of a speaker (or a saved head style) the take's head moves like
    engine: str = "BUILTIN"  # BUILTIN, A2F (Audio2Face-3D lips and jaw) or WAV2VEC2 (phone timing)
    a2f_model: str = ""
    a2f_actor: str = ""  # a v3.0 model's identity; empty: its first
    phone_model: str = ""
    device: str = "AUTO"
    target_mesh: str = ""  # SELECTED: the mesh to drive
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="vividtalk_")))

    @property
    def source_tag(self) -> str:
        """Identifies a rig in the scene that can be reused for this request."""
        path = {"HEAD": self.portrait_path, "PORTRAIT": self.portrait_path, "ICT": self.ict_path,
                "FLAME": self.flame_path}.get(self.rig, "")
        extra = f"|ict={_abs(self.ict_path)}" if self.rig == "FLAME" and self.ict_path else ""
        if self.rig == "ICT" and self.portrait_path:
            extra = f"|photo={_abs(self.portrait_path)}"
        return f"{self.rig}:{_abs(path) if path else 'built-in'}{extra}"

    def check(self) -> str | None:
        """A message saying what is missing, or None."""
        if not self.audio_path:
            return "Choose an audio file first."
        audio = Path(_abs(self.audio_path))
        if not audio.exists():
            return f"Audio file '{audio}' does not exist; check the path."
        if audio.is_dir():
            return f"'{audio}' is a folder; choose the audio file inside it."
        if not audio.is_file():
            return f"'{audio}' is not a regular file (a device or a pipe); choose a recording saved as a file."
        needs = {"FLAME": (self.flame_path, "the FLAME model file")}
        if self.rig in needs and not needs[self.rig][0]:
            return f"Choose {needs[self.rig][1]} for this target rig."
        if self.rig == "SELECTED" and not self.target_mesh:
            return "Select the mesh to animate (it needs ARKit or viseme shape keys)."
        if self.head_from and not Path(_abs(self.head_from)).is_file():
            return f"Head motion video '{_abs(self.head_from)}' does not exist; check the path or clear it."
        folder, what = {"A2F": (self.a2f_model, "an Audio2Face-3D model"),
                        "WAV2VEC2": (self.phone_model, "a wav2vec2 phoneme model")}.get(self.engine, ("", ""))
        if what and not folder:
            return f"Choose the folder of {what} for this engine (docs/neural.md says where to get one)."
        if what and not Path(_abs(folder)).is_dir():
            return f"Model folder '{_abs(folder)}' does not exist; check the path or choose the Built-in engine."
        return None

    def cleanup(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)


def _abs(path: str) -> str:
    return bpy.path.abspath(path) if path else ""


def find_rig(scene: bpy.types.Scene, tag: str) -> bpy.types.Object | None:
    for obj in scene.objects:
        if obj.type == "ARMATURE" and obj.get(rig_builder.RIG_TAG) == tag:
            return obj
    return None


def rig_mesh(armature: bpy.types.Object) -> bpy.types.Object | None:
    return next((c for c in armature.children if c.type == "MESH" and c.data.shape_keys), None)


def engine_steps(req: Request, scene: bpy.types.Scene) -> list[Step]:
    fps = scene.render.fps / scene.render.fps_base
    options = {"lang": req.language, "fps": f"{fps:.6f}", "mouth_gain": f"{req.mouth_gain:g}",
               "jaw_gain": f"{req.jaw_gain:g}", "lip_gain": f"{req.lip_gain:g}", "head_gain": f"{req.head_gain:g}",
               "head_style": req.head_style.lower(),
               "emotion": req.emotion.lower(), "emotion_strength": f"{req.emotion_strength:g}", "seed": str(req.seed)}
    assert set(options) == set(animate_option_names()), "every engine option is passed"
    animate = ["animate", _abs(req.audio_path), "-o", str(req.workdir / "clip.json")]
    for name, value in options.items():
        animate += [f"--{name.replace('_', '-')}", value]
    if req.transcript.strip():
        text = req.transcript.strip()
        animate += ["-t", _abs(text) if Path(_abs(text)).is_file() else text]
    if req.head_from:
        animate += ["--head-from", _abs(req.head_from)]
    if req.engine == "A2F":
        animate += ["--engine", "a2f", "--a2f-model", _abs(req.a2f_model)]
        if req.a2f_actor.strip():
            animate += ["--a2f-actor", req.a2f_actor.strip()]
    elif req.engine == "WAV2VEC2":
        animate += ["--phones", "wav2vec2", "--phone-model", _abs(req.phone_model)]
    if req.engine != "BUILTIN":
        animate += ["--device", req.device.lower()]
    steps = [Step(animate, "Lip sync", 3.0)]
    if req.rig == "SELECTED":
        mesh = bpy.data.objects[req.target_mesh]
        names = [kb.name for kb in mesh.data.shape_keys.key_blocks] if mesh.data.shape_keys else []
        (req.workdir / "shape_keys.json").write_text(json.dumps(names), encoding="utf-8")
        steps.append(Step(["retarget", str(req.workdir / "clip.json"), "--shape-keys",
                           str(req.workdir / "shape_keys.json"), "-o", str(req.workdir / "retarget.json")],
                          "Mapping shape keys", 0.3))
    elif find_rig(scene, req.source_tag) is None:
        rig_args = {"HEAD": ["--ict"], "PORTRAIT": ["--image", _abs(req.portrait_path)] if req.portrait_path else [],
                    "ICT": ["--ict", *([_abs(req.ict_path)] if req.ict_path else [])],
                    "FLAME": ["--flame", _abs(req.flame_path)]}[req.rig]
        if req.rig == "FLAME" and req.ict_path:
            rig_args += ["--arkit-from-ict", _abs(req.ict_path)]
        if req.rig in ("HEAD", "ICT") and req.portrait_path:  # the ICT-FaceKit head shaped like the photo
            rig_args += ["--fit", _abs(req.portrait_path)]
        steps.append(Step(["rig", *rig_args, "-o", str(req.workdir / "rig.npz")], "Building the face rig", 1.0))
    return steps


@dataclass
class Applied:
    action: bpy.types.Action
    mesh: bpy.types.Object
    armature: bpy.types.Object | None
    report: list[str]


def apply_results(context, req: Request) -> Applied:
    """Build or reuse the rig, write the take, set timing and sound. All or nothing."""
    scene = context.scene
    clip = read_json_file(req.workdir / "clip.json", "motion_clip")
    created: list = []
    try:
        report: list[str] = []
        if req.rig == "SELECTED":
            mesh, armature = bpy.data.objects[req.target_mesh], None
            mapped = read_json_file(req.workdir / "retarget.json", "retarget")
            if not mapped["targets"]:
                raise ValueError(f"'{mesh.name}' has no shape keys with ARKit or viseme names (docs/rigs.md "
                                 "lists them); nothing was changed.")
            shape_keys, groups, head_drivers = mapped["keys"], mapped["channel_groups"], []
            if mapped["unmapped_targets"]:
                report.append(f"Shape keys left alone: {', '.join(mapped['unmapped_targets'][:12])}")
            report.append(f"Driving {len(mapped['targets'])} shape keys ({mapped['scheme']} names).")
        else:
            armature = find_rig(scene, req.source_tag)
            if armature is None:
                objs = rig_builder.build_rig_objects(rig_builder.RigData.load(str(req.workdir / "rig.npz")),
                                                     req.source_tag)
                created.append(objs.collection)
                armature = objs.armature
            mesh = rig_mesh(armature)
            shape_keys = {c: k for c, k in clip["keys"].items() if not c.startswith(("pitch", "yaw", "roll"))}
            groups = clip.get("channel_groups", {})
            head_drivers = json.loads(armature.get("vividtalk_head_drivers", "[]"))
        report += _learned_report(clip.get("meta", {}))
        n = 1 + sum(1 for a in bpy.data.actions if a.name.startswith(f"{TAKE_PREFIX} {Path(req.audio_path).stem}"))
        head_keys = {a: clip["keys"][a] for a in ("pitch", "yaw", "roll") if a in clip["keys"]}
        action = keyframes.write_take(f"{TAKE_PREFIX} {Path(req.audio_path).stem} take {n}", mesh.data.shape_keys,
                                      armature, shape_keys, groups, head_keys, head_drivers, clip["fps"],
                                      scene_setup.FRAME_START)
        created.append(action)
        action["vividtalk_mouth_gain"] = req.mouth_gain
        action["vividtalk_head_gain"] = req.head_gain
        action["vividtalk_clip"] = json.dumps({k: clip.get(k) for k in ("fps", "duration", "frame_count", "visemes",
                                                                        "meta")})
        # commit: link the new rig, timing and sound
        for coll in (c for c in created if isinstance(c, bpy.types.Collection)):
            scene.collection.children.link(coll)
        scene_setup.set_timing(scene, clip["fps"], clip["frame_count"])
        scene_setup.replace_sound(scene, _abs(req.audio_path))
        return Applied(action, mesh, armature, report)
    except BaseException:
        for item in created:
            _remove(item)
        raise


def _learned_report(meta: dict) -> list[str]:
    """Which learned model made the take, and where it ran (the provider the engine reports)."""
    lines = []
    if isinstance(meta.get("a2f"), dict):
        lines.append(f"Lips and jaw: Audio2Face-3D ({meta['a2f'].get('actor') or 'model'}) on "
                     f"{meta['a2f'].get('provider', '?')}.")
    if isinstance(meta.get("phone_model"), dict):
        lines.append(f"Phones: wav2vec2 on {meta['phone_model'].get('device', '?')}.")
    return lines


def _remove(item) -> None:
    if isinstance(item, bpy.types.Collection):
        for obj in list(item.objects):
            data = obj.data
            bpy.data.objects.remove(obj)
            if data is not None and data.users == 0:
                getattr(bpy.data, {"MESH": "meshes", "ARMATURE": "armatures", "CAMERA": "cameras"}[
                    type(data).__name__.upper()]).remove(data)
        bpy.data.collections.remove(item)
    elif isinstance(item, bpy.types.Action):
        bpy.data.actions.remove(item)
