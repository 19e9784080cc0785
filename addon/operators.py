"""Operators: Generate and Render Video (modal with progress, or synchronous for scripts), Cancel, re-apply
gains, exports.

Every panel action is an operator with its options as properties, so studios can batch voice lines:
``blender -b -P script.py`` with ``bpy.ops.vividtalk.generate(audio_path=..., rig='HEAD')``.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import bpy
from bpy.props import BoolProperty, EnumProperty, StringProperty

from . import fbx_export, keyframes, scene_setup, video
from .contract import format_header
from .engine import EngineJob, Step, find_engine_python
from .generate import Request, apply_results, engine_steps, rig_mesh
from .preferences import engine_preference
from .properties import ENGINE_ITEMS, RIG_ITEMS, CancelsJob, contract_property, job_state

_REQUEST_FIELDS = ("audio_path", "transcript", "language", "rig", "portrait_path", "ict_path", "flame_path",
                   "mouth_gain", "jaw_gain", "lip_gain", "head_gain", "head_style", "emotion", "emotion_strength",
                   "seed", "head_from", "engine", "a2f_model", "a2f_actor", "phone_model", "device")


def _engine_or_message(context) -> tuple[str | None, str]:
    return find_engine_python(engine_preference(context))


def _tag_redraw(context) -> None:
    for window in context.window_manager.windows:
        for area in window.screen.areas:
            if area.type in {"VIEW_3D", "PROPERTIES"}:
                area.tag_redraw()


class _EngineJobOperator:
    """Runs engine steps: synchronously from scripts and background mode, modally (progress bar, Esc cancels)
    from the UI. Subclasses give ``_prepare`` (-> payload, steps, python, or None; the payload has a
    ``cleanup()`` for its temporary files) and ``_finish``, which applies a successful job."""

    running = None  # the operator whose job is in flight (tests pump its modal())
    cancelled_status = "Cancelled."

    def _prepare(self, context):
        raise NotImplementedError

    def _finish(self, context, payload, warnings: list[str]) -> set[str]:
        raise NotImplementedError

    def _end(self, context, payload, outcome) -> set[str]:
        """Report a cancelled or failed job, or hand a successful one to ``_finish``; clean up either way."""
        event, warnings = outcome
        job = job_state(context)
        try:
            if event.kind != "done":
                cancelled = event.kind == "cancelled"
                job.status = self.cancelled_status if cancelled else event.message
                self.report({"WARNING" if cancelled else "ERROR"}, job.status)
                return {"CANCELLED"}
            return self._finish(context, payload, warnings)
        finally:
            payload.cleanup()

    # ---- synchronous: scripts and background mode ---------------------------------------------------------
    def execute(self, context):
        if self.run_async and context.window is not None:
            return self._start_modal(context)
        prepared = self._prepare(context)
        if prepared is None:
            return {"CANCELLED"}
        payload, steps, python = prepared
        job = EngineJob(python, steps)
        job.run()
        return self._end(context, payload, job.outcome())

    # ---- interactive: modal with a progress bar ---------------------------------------------------------
    def invoke(self, context, event):
        return self._start_modal(context) if context.window is not None else self.execute(context)

    def _start_modal(self, context):
        prepared = self._prepare(context)
        if prepared is None:
            return {"CANCELLED"}
        self._payload, steps, python = prepared
        self._job = EngineJob(python, steps)
        self._warnings: list[str] = []
        state = job_state(context)
        # the result belongs to the scene the job started in, whatever the user switches to meanwhile
        state.running, state.progress, state.cancel_requested = True, 0.0, False
        state.scene_name, state.status = context.scene.name, "Starting the engine…"
        self._scene = context.scene
        self._job.start()
        wm = context.window_manager
        self._timer = wm.event_timer_add(0.1, window=context.window)
        wm.modal_handler_add(self)
        wm.progress_begin(0, 100)
        type(self).running = self
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        state = job_state(context)
        if event.type == "ESC" or state.cancel_requested:
            self._job.cancel()
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        while True:
            try:
                ev = self._job.events.get_nowait()
            except Exception:  # queue.Empty
                break
            if ev.kind == "progress":
                state.progress, state.status = ev.fraction, ev.message
                context.window_manager.progress_update(int(ev.fraction * 100))
            elif ev.kind == "warning":
                self._warnings.append(ev.message)
            else:
                self._stop(context)
                return self._end(_PinnedContext(context, self._scene), self._payload, (ev, self._warnings))
        _tag_redraw(context)
        return {"RUNNING_MODAL"}

    def cancel(self, context):  # Blender calls this when the file is closed mid-job
        self._job.cancel()
        self._stop(context)
        self._payload.cleanup()

    def _stop(self, context) -> None:
        wm = context.window_manager
        wm.event_timer_remove(self._timer)
        wm.progress_end()
        state = job_state(context)
        state.running, state.cancel_requested, state.progress = False, False, 0.0
        type(self).running = None
        _tag_redraw(context)


class _PinnedContext:
    """The context a finished job applies its result in: the live context, with the scene the job started in
    (a job that outlived its scene fails with a message instead of writing into another one)."""

    def __init__(self, context, scene):
        self._context = context
        try:
            scene.name  # noqa: B018 - raises ReferenceError once the scene was deleted
            self.scene = scene
        except ReferenceError:
            self.scene = None

    def __getattr__(self, name):
        return getattr(self._context, name)


def _job_poll(cls, context) -> bool:
    """What every engine job needs: a scene, no other job running, Object Mode, an engine."""
    if context.scene is None:
        return False
    if job_state(context).running:
        cls.poll_message_set("A VividTalk job is already running; wait for it or cancel it")
        return False
    if context.mode != "OBJECT":
        cls.poll_message_set("Switch to Object Mode first")
        return False
    python, message = _engine_or_message(context)
    if python is None:
        cls.poll_message_set(message)
        return False
    return True


class VIVIDTALK_OT_generate(_EngineJobOperator, bpy.types.Operator):
    """Lip sync, head motion and blinks from the audio onto the target rig (Esc cancels)"""

    bl_idname = "vividtalk.generate"
    bl_label = "Generate"
    # UNDO without REGISTER: Ctrl+Z takes the take back, and there is no redo panel that would run the engine
    # again on the UI thread
    bl_options = {"UNDO"}
    cancelled_status = "Cancelled; nothing was changed."

    audio_path: StringProperty(name="Audio", subtype="FILE_PATH", options={"SKIP_SAVE"})
    transcript: StringProperty(name="Transcript", options={"SKIP_SAVE"})
    language: contract_property("animate_options", "lang", options={"SKIP_SAVE"})
    rig: EnumProperty(name="Target rig", items=RIG_ITEMS, default="HEAD", options={"SKIP_SAVE"})
    portrait_path: StringProperty(name="Portrait", subtype="FILE_PATH", options={"SKIP_SAVE"})
    ict_path: StringProperty(name="ICT folder", subtype="DIR_PATH", options={"SKIP_SAVE"})
    flame_path: StringProperty(name="FLAME model", subtype="FILE_PATH", options={"SKIP_SAVE"})
    mouth_gain: contract_property("animate_options", "mouth_gain", options={"SKIP_SAVE"})
    jaw_gain: contract_property("animate_options", "jaw_gain", options={"SKIP_SAVE"})
    lip_gain: contract_property("animate_options", "lip_gain", options={"SKIP_SAVE"})
    head_gain: contract_property("animate_options", "head_gain", options={"SKIP_SAVE"})
    head_style: contract_property("animate_options", "head_style", options={"SKIP_SAVE"})
    head_from: StringProperty(name="Head motion from video", subtype="FILE_PATH", options={"SKIP_SAVE"})
    emotion: contract_property("animate_options", "emotion", options={"SKIP_SAVE"})
    emotion_strength: contract_property("animate_options", "emotion_strength", options={"SKIP_SAVE"})
    seed: contract_property("animate_options", "seed", options={"SKIP_SAVE"})
    engine: EnumProperty(name="Engine", items=ENGINE_ITEMS, default="BUILTIN", options={"SKIP_SAVE"})
    a2f_model: contract_property("engine_options", "a2f_model", options={"SKIP_SAVE"})
    a2f_actor: contract_property("engine_options", "a2f_actor", options={"SKIP_SAVE"})
    phone_model: contract_property("engine_options", "phone_model", options={"SKIP_SAVE"})
    device: contract_property("engine_options", "device", options={"SKIP_SAVE"})
    run_async: BoolProperty(name="In the background", default=False, options={"HIDDEN", "SKIP_SAVE"},
                            description="Return at once and report progress (the panel's button does this)")

    @classmethod
    def poll(cls, context):
        return _job_poll(cls, context)

    # ---- request ----------------------------------------------------------------------------------------
    def _request(self, context) -> Request:
        """Operator properties that were set win; the rest come from the panel's settings."""
        settings = context.scene.vividtalk
        values = {f: getattr(self, f) if self.properties.is_property_set(f) else getattr(settings, f)
                  for f in _REQUEST_FIELDS}
        active = context.active_object
        target = active.name if active is not None and active.type == "MESH" else ""
        return Request(**values, target_mesh=target)

    def _prepare(self, context) -> tuple[Request, list[Step], str] | None:
        req = self._request(context)
        problem = req.check()
        if problem:
            self.report({"ERROR"}, problem)
            req.cleanup()
            return None
        python, message = _engine_or_message(context)
        if python is None:
            self.report({"ERROR"}, message)
            req.cleanup()
            return None
        return req, engine_steps(req, context.scene), python

    # ---- results ------------------------------------------------------------------------------------------
    def _finish(self, context, req: Request, warnings: list[str]) -> set[str]:
        state = job_state(context)
        if context.scene is None:
            state.status = "The scene the job started in was deleted; nothing was changed."
            self.report({"ERROR"}, state.status)
            return {"CANCELLED"}
        try:
            applied = apply_results(context, req)
        except (ValueError, OSError, KeyError, RuntimeError) as e:
            state.status = f"Could not apply the result: {e}"
            self.report({"ERROR"}, state.status)
            return {"CANCELLED"}
        for w in warnings:
            self.report({"WARNING"}, w)
        for line in applied.report:
            self.report({"INFO"}, line)
        learned = [line for line in applied.report if line.startswith(("Lips and jaw:", "Phones:"))]
        state.status = f"Done: take '{applied.action.name}' in scene '{context.scene.name}'." + \
            "".join(f" {line}" for line in learned)
        self.report({"INFO"}, state.status)
        return {"FINISHED"}


class VIVIDTALK_OT_cancel(CancelsJob, bpy.types.Operator):
    """Stop the running generation; the scene stays as it was"""

    bl_idname = "vividtalk.cancel"
    bl_label = "Cancel"
    state = staticmethod(job_state)


# ---- finding the take to work on ----------------------------------------------------------------------------
def active_rig(context) -> tuple[bpy.types.Object | None, bpy.types.Object | None]:
    """(armature, mesh) of the VividTalk rig that is active, the parent of the active mesh, or the only one."""
    obj = context.active_object
    if obj is not None and obj.type == "MESH" and obj.parent is not None and obj.parent.type == "ARMATURE":
        obj = obj.parent
    if obj is not None and obj.type == "ARMATURE" and rig_mesh(obj) is not None:
        return obj, rig_mesh(obj)
    if obj is not None and obj.type == "MESH" and obj.data.shape_keys and obj.data.shape_keys.animation_data:
        return None, obj
    rigs = [o for o in context.scene.objects if o.type == "ARMATURE" and o.get("vividtalk_rig")]
    return (rigs[0], rig_mesh(rigs[0])) if len(rigs) == 1 else (None, None)


def _take_poll(cls, context) -> bool:
    _arm, mesh = active_rig(context)
    if mesh is None or mesh.data.shape_keys is None or mesh.data.shape_keys.animation_data is None \
            or mesh.data.shape_keys.animation_data.action is None:
        cls.poll_message_set("No VividTalk take to work on: Generate first, or select the animated rig")
        return False
    return True


class VIVIDTALK_OT_reapply_gains(bpy.types.Operator):
    """Scale the current take's mouth and head motion to new gains; edits on other channels stay untouched"""

    bl_idname = "vividtalk.reapply_gains"
    bl_label = "Re-apply gains"
    bl_options = {"REGISTER", "UNDO"}

    mouth_gain: contract_property("animate_options", "mouth_gain")
    head_gain: contract_property("animate_options", "head_gain")

    @classmethod
    def poll(cls, context):
        return _take_poll(cls, context)

    def invoke(self, context, event):
        settings = context.scene.vividtalk
        if not self.properties.is_property_set("mouth_gain"):
            self.mouth_gain = settings.mouth_gain
        if not self.properties.is_property_set("head_gain"):
            self.head_gain = settings.head_gain
        return self.execute(context)

    def execute(self, context):
        _, mesh = active_rig(context)
        action = mesh.data.shape_keys.animation_data.action
        changed = 0
        for prop, regions, new in (("vividtalk_mouth_gain", {"Mouth", "Jaw"}, self.mouth_gain),
                                   ("vividtalk_head_gain", {"Head"}, self.head_gain)):
            old = float(action.get(prop, 1.0))
            if old <= 0:
                self.report({"WARNING"}, f"{prop.split('_')[1]} gain was 0; generate again to restore motion")
                continue
            if not math.isclose(old, new):
                changed += keyframes.scale_channels(action, regions, new / old)
                action[prop] = new
        self.report({"INFO"}, f"Re-applied gains to {changed} keys of '{action.name}'.")
        return {"FINISHED"}


class VIVIDTALK_OT_export_fbx(bpy.types.Operator):
    """Export the rig and its current take as FBX for Unreal or Unity (morph targets + bones, one take)"""

    bl_idname = "vividtalk.export_fbx"
    bl_label = "Export FBX"

    filepath: StringProperty(subtype="FILE_PATH")
    preset: EnumProperty(name="Preset", items=[("UNREAL", "Unreal", ""), ("UNITY", "Unity", "")], default="UNREAL")
    filter_glob: StringProperty(default="*.fbx", options={"HIDDEN"})

    @classmethod
    def poll(cls, context):
        arm, _ = active_rig(context)
        if arm is None:
            cls.poll_message_set("Select a VividTalk rig (FBX export needs its armature)")
            return False
        return _take_poll(cls, context)

    def invoke(self, context, event):
        if not self.filepath:
            self.filepath = bpy.path.ensure_ext(bpy.path.display_name_sans_ext(bpy.data.filepath) or "take", ".fbx")
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context):
        out = output_path(self, "FBX", ".fbx")
        if out is None:
            return {"CANCELLED"}
        arm, mesh = active_rig(context)
        try:
            fbx_export.export_take(context, arm, mesh, out, self.preset)
        except OSError as e:
            self.report({"ERROR"}, f"Could not write the FBX: {e}")
            return {"CANCELLED"}
        self.report({"INFO"}, f"Exported {out}")
        return {"FINISHED"}


def output_path(op, what: str, suffix: str) -> str | None:
    """The absolute file an export writes (``suffix`` added where missing), or None after reporting why there is
    none: no path given, or a folder given where a file name belongs."""
    given = op.filepath.strip()
    path = bpy.path.abspath(given) if given else ""
    if not path or Path(path).is_dir() or given.endswith(("/", "\\")):
        op.report({"ERROR"}, f"Give a file name for the {what}" + (f" ('{given}' is a folder)." if given else "."))
        return None
    return bpy.path.ensure_ext(path, suffix)


def sampled_clip(context, mesh: bpy.types.Object, armature: bpy.types.Object | None) -> dict:
    """The take as it is now (with the animator's edits), sampled per frame as a motion clip."""
    scene = context.scene
    fps = scene.render.fps / scene.render.fps_base
    frames = range(scene.frame_start, scene.frame_end + 1)
    key = mesh.data.shape_keys
    arkit = [kb.name for kb in key.key_blocks[1:] if not kb.name.startswith("corrective.")]
    channels = {name: [] for name in arkit}
    head = {"pitch": [], "yaw": [], "roll": []}
    head_drivers = json.loads(armature.get("vividtalk_head_drivers", "[]")) if armature else []
    current = scene.frame_current
    for f in frames:
        scene.frame_set(f)
        for name in arkit:
            channels[name].append(round(key.key_blocks[name].value, 5))
        for channel, joint, axis, degrees in head_drivers:
            angle = armature.pose.bones[joint].rotation_euler[axis]
            head[channel.split(".", 1)[1]].append(round(math.degrees(angle) / degrees, 4) if degrees else 0.0)
    scene.frame_set(current)
    return {**format_header("motion_clip"), "fps": fps, "duration": (len(frames) - 1) / fps,
            "channels": channels, "head": {k: v for k, v in head.items() if v}, "keys": {}}


def _run_engine_export(self, context, args_for) -> set[str]:
    """Sample the take, hand it to the engine command ``args_for(clip_path)``, report the outcome."""
    python, message = _engine_or_message(context)
    if python is None:
        self.report({"ERROR"}, message)
        return {"CANCELLED"}
    arm, mesh = active_rig(context)
    with tempfile.TemporaryDirectory(prefix="vividtalk_") as tmp:
        clip = sampled_clip(context, mesh, arm)
        clip_path = Path(tmp) / "take.json"
        clip_path.write_text(json.dumps(clip), encoding="utf-8")
        job = EngineJob(python, [Step(args_for(str(clip_path)), "Export")])
        job.run()
        event, _ = job.outcome()
    if event.kind != "done":
        self.report({"ERROR"}, event.message)
        return {"CANCELLED"}
    self.report({"INFO"}, f"Exported {self.filepath}")
    return {"FINISHED"}


class _AskForFile:
    """Operators that open the file browser when clicked and take ``filepath`` from scripts."""

    def invoke(self, context, event):
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}


class VIVIDTALK_OT_export_csv(_AskForFile, bpy.types.Operator):
    """Export the current take's ARKit curves as CSV in Unreal's Live Link Face layout"""

    bl_idname = "vividtalk.export_csv"
    bl_label = "Export ARKit CSV"

    filepath: StringProperty(subtype="FILE_PATH")
    filter_glob: StringProperty(default="*.csv", options={"HIDDEN"})

    @classmethod
    def poll(cls, context):
        return _take_poll(cls, context)

    def execute(self, context):
        out = output_path(self, "CSV", ".csv")
        if out is None:
            return {"CANCELLED"}
        return _run_engine_export(self, context, lambda clip: ["export-csv", clip, "-o", out])


class VIVIDTALK_OT_export_flame(_AskForFile, bpy.types.Operator):
    """Export FLAME parameters per frame (expression, jaw, neck, global and eye pose) for the current take"""

    bl_idname = "vividtalk.export_flame"
    bl_label = "Export FLAME parameters"

    filepath: StringProperty(subtype="FILE_PATH")
    filter_glob: StringProperty(default="*.npz", options={"HIDDEN"})

    @classmethod
    def poll(cls, context):
        if not context.scene.vividtalk.flame_path:
            cls.poll_message_set("Choose the FLAME model file in the panel first")
            return False
        return _take_poll(cls, context)

    def execute(self, context):
        settings = context.scene.vividtalk
        out = output_path(self, "FLAME parameters", ".npz")
        if out is None:
            return {"CANCELLED"}
        extra = ["--arkit-from-ict", bpy.path.abspath(settings.ict_path)] if settings.ict_path else []
        return _run_engine_export(self, context, lambda clip: [
            "export-flame", clip, "--model", bpy.path.abspath(settings.flame_path), *extra, "-o", out])


@dataclass
class _RenderJob:
    """What a Render Video job keeps until the engine is done: its temporary folder and the output path."""

    workdir: Path
    output: str

    def cleanup(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)


class VIVIDTALK_OT_render_video(_EngineJobOperator, bpy.types.Operator):
    """Render the take, as edited, as a talking-head video of the portrait photo (MP4 with the voice)"""

    bl_idname = "vividtalk.render_video"
    bl_label = "Render Video"
    bl_options = {"UNDO"}  # the video strip it adds to the sequencer can be undone
    cancelled_status = "Cancelled; no video was written."

    filepath: StringProperty(name="Video", subtype="FILE_PATH", description="MP4 to write")
    filter_glob: StringProperty(default="*.mp4", options={"HIDDEN"})
    size: contract_property("render_options", "size")
    background: contract_property("render_options", "background")
    mouth: contract_property("render_options", "mouth")
    run_async: BoolProperty(name="In the background", default=False, options={"HIDDEN", "SKIP_SAVE"})

    @classmethod
    def poll(cls, context):
        return _job_poll(cls, context) and _take_poll(cls, context)

    def invoke(self, context, event):
        if context.window is None:
            return self.execute(context)
        if not self.filepath:
            name = bpy.path.display_name_sans_ext(bpy.data.filepath) or "take"
            self.filepath = f"//{name}.mp4" if bpy.data.filepath else f"{name}.mp4"
        self.run_async = True
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def _prepare(self, context):
        out = output_path(self, "video", ".mp4")
        if out is None:
            return None
        python, message = _engine_or_message(context)
        if python is None:
            self.report({"ERROR"}, message)
            return None
        arm, mesh = active_rig(context)
        job = _RenderJob(Path(tempfile.mkdtemp(prefix="vividtalk_")), out)
        is_mask, photo = video.portrait_photo(arm)
        if is_mask:  # the edited portrait rig itself, vertex for vertex
            video.write_meshes(context, mesh, job.workdir / "meshes.npz")
            motion = ["--meshes", str(job.workdir / "meshes.npz")]
        else:  # another rig: its ARKit curves drive the portrait rig of its photo, or of the panel's
            settings = context.scene.vividtalk
            photo = photo or (bpy.path.abspath(settings.portrait_path) if settings.portrait_path else "")
            (job.workdir / "take.json").write_text(json.dumps(sampled_clip(context, mesh, arm)), encoding="utf-8")
            motion = ["--motion", str(job.workdir / "take.json")]
        args = ["render", *(["--image", photo] if photo else []), *motion, "--size", str(self.size),
                "--background", self.background.lower(), "--mouth", self.mouth.lower(), "-o", job.output]
        audio = video.take_audio(context.scene)
        if audio:
            args[1:1] = ["--audio", audio]
        return job, [Step(args, "Rendering the video")], python

    def _finish(self, context, payload: _RenderJob, warnings: list[str]) -> set[str]:
        for w in warnings:
            self.report({"WARNING"}, w)
        state = job_state(context)
        if context.scene is None:
            state.status = f"Rendered {payload.output}; its scene was deleted, so it is not in a sequencer."
        else:
            scene_setup.replace_video(context.scene, payload.output)
            state.status = f"Rendered {payload.output}"
        self.report({"INFO"}, state.status)
        return {"FINISHED"}


CLASSES = (VIVIDTALK_OT_generate, VIVIDTALK_OT_cancel, VIVIDTALK_OT_reapply_gains, VIVIDTALK_OT_export_fbx,
           VIVIDTALK_OT_export_csv, VIVIDTALK_OT_export_flame, VIVIDTALK_OT_render_video)

register, unregister = bpy.utils.register_classes_factory(CLASSES)

