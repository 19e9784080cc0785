# SPDX-License-Identifier: GPL-3.0-or-later
"""VividTalk for Blender: voice recording -> lip sync, head motion and blinks on a face rig, FBX out.

The add-on is thin: it gathers options, runs the vividtalk engine out of process, and turns its results
(motion clip, rig file) into Blender data. See docs/blender.md.
"""

from . import engine, operators, panel, preferences, properties

_MODULES = (properties, preferences, operators, panel)


def register() -> None:
    for module in _MODULES:
        module.register()


def unregister() -> None:
    for module in reversed(_MODULES):
        module.unregister()
    engine.stop_warm_engines()  # the warm engine process goes with the add-on
