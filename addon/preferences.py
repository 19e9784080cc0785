"""Add-on preferences: which Python runs the engine, and the button that installs one (no terminal needed)."""

from __future__ import annotations

import bpy
from bpy.props import BoolProperty, StringProperty

from . import engine, engine_install
from .engine import ENV_VAR, find_engine_python
from .properties import CancelsJob, install_state


class VIVIDTALK_AP_preferences(bpy.types.AddonPreferences):
    bl_idname = __package__

    engine_python: StringProperty(
        name="Engine Python", subtype="FILE_PATH",
        description="Python interpreter of the vividtalk engine install (…/vividtalk/.venv/bin/python). "
                    f"Empty: auto-detect (${ENV_VAR}, the engine the button below installed, the vividtalk "
                    "command on PATH)")

    def draw(self, context):
        layout = self.layout
        layout.prop(self, "engine_python")
        python, origin = find_engine_python(self.engine_python)
        layout.label(text=f"Engine: {python} (from {origin})" if python else origin,
                     icon="CHECKMARK" if python else "ERROR")
        state = install_state(context)
        if state.running:
            layout.progress(factor=state.progress, type="BAR", text=state.status or "Installing…")
            layout.operator("vividtalk.install_engine_cancel", icon="CANCEL")
        else:
            text = "Reinstall the engine" if python and "button" in origin else "Install the engine"
            layout.operator("vividtalk.install_engine", text=text, icon="IMPORT").run_async = True
            layout.label(text=f"Into {engine_install.engine_env_dir()} (about 1 GB; needs the network and "
                              "Python 3.11)", icon="INFO")
            if state.status:
                layout.label(text=state.status)


def engine_preference(context) -> str:
    addon = context.preferences.addons.get(__package__)
    return addon.preferences.engine_python if addon else ""


class VIVIDTALK_OT_install_engine(bpy.types.Operator):
    """Create the engine's Python environment in the extension's user folder and install the engine into it"""

    bl_idname = "vividtalk.install_engine"
    bl_label = "Install the engine"

    running = None  # the operator whose install is in flight

    run_async: BoolProperty(name="In the background", default=False, options={"HIDDEN", "SKIP_SAVE"},
                            description="Return at once and report progress (the preferences' button does this)")

    @classmethod
    def poll(cls, context):
        if install_state(context).running:
            cls.poll_message_set("The engine is being installed")
            return False
        return True

    def execute(self, context):
        installer = engine_install.EngineInstaller()
        if not self.run_async or context.window is None:  # scripts and background mode: wait for it
            installer.run()
            return self._end(context, installer.outcome()[0])
        self._installer = installer
        state = install_state(context)
        state.running, state.progress, state.status, state.cancel_requested = True, 0.0, "Starting…", False
        installer.start()
        wm = context.window_manager
        self._timer = wm.event_timer_add(0.2, window=context.window)
        wm.modal_handler_add(self)
        type(self).running = self
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        state = install_state(context)
        if state.cancel_requested:
            self._installer.cancel()
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        while True:
            try:
                ev = self._installer.events.get_nowait()
            except Exception:  # queue.Empty
                break
            if ev.kind == "progress":
                state.progress, state.status = ev.fraction, ev.message
            else:
                context.window_manager.event_timer_remove(self._timer)
                type(self).running = None
                return self._end(context, ev)
        for area in context.screen.areas if context.screen else ():
            area.tag_redraw()
        return {"RUNNING_MODAL"}

    def cancel(self, context):
        self._installer.cancel()

    def _end(self, context, ev) -> set[str]:
        state = install_state(context)
        state.running, state.progress, state.cancel_requested = False, 0.0, False
        state.status = ev.message if ev is not None else "The install ended without a result."
        engine.forget_checks()  # the new interpreter must be looked at again
        if ev is not None and ev.kind == "done":
            self.report({"INFO"}, state.status)
            return {"FINISHED"}
        self.report({"WARNING" if ev is not None and ev.kind == "cancelled" else "ERROR"}, state.status)
        return {"CANCELLED"}


class VIVIDTALK_OT_install_engine_cancel(CancelsJob, bpy.types.Operator):
    """Stop installing the engine; an earlier working engine stays as it was"""

    bl_idname = "vividtalk.install_engine_cancel"
    bl_label = "Cancel the install"
    idle_message = "Nothing is being installed"
    state = staticmethod(install_state)


CLASSES = (VIVIDTALK_AP_preferences, VIVIDTALK_OT_install_engine, VIVIDTALK_OT_install_engine_cancel)

_register_classes, unregister = bpy.utils.register_classes_factory(CLASSES)


def register() -> None:
    _register_classes()
    engine_install.set_user_dir(bpy.utils.extension_path_user(__package__, create=True))
