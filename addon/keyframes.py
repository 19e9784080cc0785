"""Writing a take: sparse keys as F-curves through slotted actions (Blender 4.4+), no per-key operator calls.

One action per take holds two slots, the mesh's shape keys (Key ID) and the armature (head bone), so an
animator switches takes by switching one action. Keys become Bezier points whose handles follow the
keys' slopes (cubic Hermite), so the F-curve is the curve the engine measured its error bound on.
Curves are grouped by face region (Mouth, Jaw, Eyes, Brows, Cheeks, Head: the clip's channel_groups).
"""

from __future__ import annotations

import bpy
import numpy as np

_BEZIER = bpy.types.Keyframe.bl_rna.properties["interpolation"].enum_items["BEZIER"].value
_FREE = bpy.types.Keyframe.bl_rna.properties["handle_left_type"].enum_items["FREE"].value


def channelbag(action: bpy.types.Action, id_data: bpy.types.ID, slot_name: str):
    slot = action.slots.new(id_type=id_data.id_type, name=slot_name)
    layer = action.layers[0] if action.layers else action.layers.new("Layer")
    strip = layer.strips[0] if layer.strips else layer.strips.new(type="KEYFRAME")
    return slot, strip.channelbag(slot, ensure=True)


def fcurve(bag, path: str, index: int, group: str):
    if hasattr(bag.fcurves, "ensure"):  # 5.0
        return bag.fcurves.ensure(path, index=index, group_name=group)
    fc = bag.fcurves.find(path, index=index) or bag.fcurves.new(path, index=index)  # 4.4 / 4.5
    fc.group = bag.groups.get(group) or bag.groups.new(group)
    return fc


def set_keys(fc, keys: list[list[float]], fps: float, frame_start: float, scale: float = 1.0) -> None:
    """Bezier keys at ``frame_start + t·fps`` with each handle a third of the way to the neighbouring key along
    the key's slope on that side (keys ``[t, value, slope in, slope out]``; one slope for both sides in
    version-1 clips, none in bare ``[t, value]`` lists)."""
    k = np.asarray(keys, dtype=np.float64).reshape(len(keys), -1)
    frames = frame_start + k[:, 0] * fps
    values = k[:, 1] * scale
    slope_in = (k[:, 2] if k.shape[1] > 2 else np.zeros(len(k))) * scale / fps  # per frame
    slope_out = k[:, 3] * scale / fps if k.shape[1] > 3 else slope_in
    gaps = np.diff(frames)
    left = np.concatenate([[gaps[0] if len(gaps) else 1.0], gaps]) / 3
    right = np.concatenate([gaps, [gaps[-1] if len(gaps) else 1.0]]) / 3
    n = len(k)
    points = fc.keyframe_points
    points.add(n)
    points.foreach_set("co", np.column_stack([frames, values]).astype(np.float32).ravel())
    points.foreach_set("handle_left", np.column_stack([frames - left, values - slope_in * left])
                       .astype(np.float32).ravel())
    points.foreach_set("handle_right", np.column_stack([frames + right, values + slope_out * right])
                       .astype(np.float32).ravel())
    points.foreach_set("interpolation", np.full(n, _BEZIER, np.uint8))
    points.foreach_set("handle_left_type", np.full(n, _FREE, np.uint8))
    points.foreach_set("handle_right_type", np.full(n, _FREE, np.uint8))
    fc.update()


def write_take(name: str, key: bpy.types.Key, armature: bpy.types.Object | None, shape_keys: dict[str, list],
               groups: dict[str, str], head_keys: dict[str, list], head_drivers: list[tuple[str, str, int, float]],
               fps: float, frame_start: float) -> bpy.types.Action:
    """A new action with the shape-key curves and the head bone's rotation, assigned to both IDs."""
    action = bpy.data.actions.new(name)
    action.use_fake_user = True  # every take survives saving, so the animator can switch back
    slot, bag = channelbag(action, key, "Key")
    for channel, keys in shape_keys.items():
        if channel in key.key_blocks and keys:
            fc = fcurve(bag, f'key_blocks["{channel}"].value', 0, groups.get(channel, "Mouth"))
            set_keys(fc, keys, fps, frame_start)
    _assign(key, action, slot)
    if armature is not None:
        slot, bag = channelbag(action, armature, "Armature")
        for channel, joint, axis, degrees in head_drivers:
            axis_name = channel.split(".", 1)[1]
            if axis_name in head_keys and joint in armature.pose.bones:
                fc = fcurve(bag, f'pose.bones["{joint}"].rotation_euler', axis, "Head")
                set_keys(fc, head_keys[axis_name], fps, frame_start, scale=float(np.radians(degrees)))
        _assign(armature, action, slot)
    return action


def _assign(id_data: bpy.types.ID, action: bpy.types.Action, slot) -> None:
    ad = id_data.animation_data or id_data.animation_data_create()
    ad.action = action
    ad.action_slot = slot


def scale_channels(action: bpy.types.Action, regions: set[str], factor: float) -> int:
    """Multiply the values (and handles) of every key in the given regions' groups; returns keys changed."""
    changed = 0
    for layer in action.layers:
        for strip in layer.strips:
            for bag in strip.channelbags:
                for fc in bag.fcurves:
                    if fc.group is None or fc.group.name not in regions:
                        continue
                    n = len(fc.keyframe_points)
                    for prop in ("co", "handle_left", "handle_right"):
                        buf = np.empty(2 * n, np.float32)
                        fc.keyframe_points.foreach_get(prop, buf)
                        buf[1::2] *= factor
                        fc.keyframe_points.foreach_set(prop, buf)
                    fc.update()
                    changed += n
    return changed
