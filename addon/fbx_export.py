"""FBX export of a facial take that Unreal and Unity import as morph-target + bone animation."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import bpy

PRESETS = {
    # Unreal: cm scene units are applied by its importer; keep Blender's scale. The armature object is
    # named "Armature" by the rig builder, so Unreal adds no extra root bone.
    "UNREAL": {"apply_scale_options": "FBX_SCALE_NONE", "axis_forward": "-Z", "axis_up": "Y"},
    # Unity: scale baked into the file so the head imports at 1:1 with "Convert Units" on.
    "UNITY": {"apply_scale_options": "FBX_SCALE_ALL", "axis_forward": "-Z", "axis_up": "Y"},
}


def export_take(context, armature: bpy.types.Object, mesh: bpy.types.Object, path: str, preset: str) -> None:
    """Write the rig with its current take to ``path`` atomically (a temporary file renamed over it)."""
    target = Path(bpy.path.abspath(path))
    if not target.parent.is_dir():
        raise OSError(f"the folder '{target.parent}' does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".fbx", dir=target.parent)
    os.close(fd)
    try:
        with context.temp_override(selected_objects=[armature, mesh], active_object=armature):
            selected = {o: o.select_get() for o in (armature, mesh)}
            for o in selected:
                o.select_set(True)
            try:
                bpy.ops.export_scene.fbx(
                    filepath=tmp, use_selection=True, object_types={"ARMATURE", "MESH"},
                    use_mesh_modifiers=False, add_leaf_bones=False, bake_anim=True, bake_anim_use_all_bones=True,
                    bake_anim_use_nla_strips=False, bake_anim_use_all_actions=False,
                    bake_anim_force_startend_keying=True, bake_anim_step=1.0, bake_anim_simplify_factor=0.0,
                    primary_bone_axis="Y", secondary_bone_axis="X", armature_nodetype="NULL",
                    apply_unit_scale=True, path_mode="COPY", embed_textures=True, **PRESETS[preset])
            finally:
                for o, was in selected.items():
                    o.select_set(was)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, (target.stat().st_mode & 0o7777) if target.exists() else 0o666 & ~mask)  # mkstemp made it 0600
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
