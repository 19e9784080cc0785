"""Add-on preferences: which Python runs the engine."""

from __future__ import annotations

import bpy
from bpy.props import StringProperty

from .engine import ENV_VAR, find_engine_python


class VIVIDTALK_AP_preferences(bpy.types.AddonPreferences):
    bl_idname = __package__

    engine_python: StringProperty(
        name="Engine Python", subtype="FILE_PATH",
        description="Python interpreter of the vividtalk engine install (…/vividtalk/.venv/bin/python). "
                    f"Empty: auto-detect (${ENV_VAR}, the vividtalk command on PATH)")

    def draw(self, context):
        layout = self.layout
        layout.prop(self, "engine_python")
        python, origin = find_engine_python(self.engine_python)
        layout.label(text=f"Engine: {python} (from {origin})" if python else origin,
                     icon="CHECKMARK" if python else "ERROR")


def engine_preference(context) -> str:
    addon = context.preferences.addons.get(__package__)
    return addon.preferences.engine_python if addon else ""


CLASSES = (VIVIDTALK_AP_preferences,)

register, unregister = bpy.utils.register_classes_factory(CLASSES)
