"""The sidebar panel: 3D Viewport > Sidebar > VividTalk."""

from __future__ import annotations

import bpy

from .operators import VIVIDTALK_OT_generate, active_rig
from .properties import job_state


class VIVIDTALK_PT_main(bpy.types.Panel):
    bl_idname = "VIVIDTALK_PT_main"
    bl_label = "VividTalk"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "VividTalk"

    def draw(self, context):
        layout = self.layout
        s = context.scene.vividtalk
        col = layout.column(align=True)
        col.prop(s, "audio_path")
        col.prop(s, "transcript")
        col.prop(s, "language")
        box = layout.box()
        box.prop(s, "rig")
        if s.rig in ("HEAD", "PORTRAIT"):
            box.prop(s, "portrait_path")
        elif s.rig == "ICT":
            box.prop(s, "ict_path", text="Checkout (optional)")
            box.prop(s, "portrait_path", text="Shape from photo (optional)")
        elif s.rig == "FLAME":
            box.prop(s, "flame_path")
            box.prop(s, "ict_path", text="ARKit targets (optional ICT)")
        elif context.active_object is None or context.active_object.type != "MESH":
            box.label(text="Select the mesh to animate", icon="INFO")
        col = layout.column(align=True)
        col.label(text="Motion")
        row = col.row(align=True)
        row.prop(s, "mouth_gain")
        row.prop(s, "head_gain")
        row = col.row(align=True)
        row.prop(s, "jaw_gain")
        row.prop(s, "lip_gain")
        row = col.row(align=True)
        row.active = not s.head_from  # a reference video sets the head's style
        row.prop(s, "head_style")
        col.prop(s, "head_from", text="Head like video")
        row = col.row(align=True)
        row.prop(s, "emotion", text="")
        row.prop(s, "emotion_strength")
        col.prop(s, "seed")
        box = layout.box()
        box.prop(s, "engine")
        if s.engine == "A2F":
            box.prop(s, "a2f_model", text="Model folder")
            box.prop(s, "a2f_actor", text="Actor (v3.0)")
        elif s.engine == "WAV2VEC2":
            box.prop(s, "phone_model", text="Model folder")
        if s.engine != "BUILTIN":
            box.prop(s, "device")
        fps = context.scene.render.fps / context.scene.render.fps_base
        layout.label(text=f"Frame rate from the scene: {fps:g} fps", icon="TIME")
        job = job_state(context)
        if job.running:
            where = f" (scene '{job.scene_name}')" if job.scene_name != context.scene.name else ""
            layout.progress(factor=job.progress, type="BAR", text=(job.status or "Working…") + where)
            layout.operator("vividtalk.cancel", icon="CANCEL")
        else:
            layout.operator(VIVIDTALK_OT_generate.bl_idname, icon="PLAY")
            if not s.audio_path:
                layout.label(text="Choose an audio file", icon="INFO")
            if job.status:
                layout.label(text=job.status)


class VIVIDTALK_PT_take(bpy.types.Panel):
    bl_idname = "VIVIDTALK_PT_take"
    bl_label = "Take and export"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "VividTalk"
    bl_parent_id = "VIVIDTALK_PT_main"

    def draw(self, context):
        layout = self.layout
        _arm, mesh = active_rig(context)
        key = mesh.data.shape_keys if mesh is not None else None
        if key is not None and key.animation_data is not None:
            layout.template_ID(key.animation_data, "action", text="Take")
        layout.operator("vividtalk.reapply_gains", icon="MODIFIER")
        row = layout.row(align=True)
        row.operator("vividtalk.export_fbx", text="FBX: Unreal").preset = "UNREAL"
        row.operator("vividtalk.export_fbx", text="FBX: Unity").preset = "UNITY"
        layout.operator("vividtalk.export_csv", icon="EXPORT")
        layout.operator("vividtalk.export_flame", icon="EXPORT")
        layout.operator("vividtalk.render_video", icon="RENDER_ANIMATION")


CLASSES = (VIVIDTALK_PT_main, VIVIDTALK_PT_take)

register, unregister = bpy.utils.register_classes_factory(CLASSES)
