"""A rig file (.npz from ``vividtalk rig``, format in docs/rigs.md) -> Blender mesh, shape keys, armature.

Rig space (X left of the character, Y up, Z forward, metres) becomes Blender's (x, -z, y). Every bone points
up with no roll, so its local X, Y, Z are rig X, Y, Z and an XYZ Euler on the pose bone is exactly the
rig's joint rotation. Channels that drive joints (jawOpen, eyeLook*) get a shape key of their own (empty
when the rig has no such shape) and a driver on the bone, so one editable curve moves both. FLAME-style
pose correctives become shape keys driven by the same channel values.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass

import bpy
import numpy as np

from .contract import FormatError, check_format

RIG_TAG = "vividtalk_rig"  # custom property on the armature: the rig's source, to reuse it on re-generate
BONE_LENGTH = 0.02


@dataclass
class RigData:
    name: str
    arrays: dict

    @classmethod
    def load(cls, path: str) -> RigData:
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as e:
            raise FormatError(f"Could not read the engine's rig '{path}': {e}.") from e
        check_format(arrays.get("format", ""), arrays.get("version"), "rig", path)
        return cls(str(arrays["name"]), arrays)

    def names(self, key: str) -> list[str]:
        return [str(s) for s in self.arrays[key]]

    @property
    def drivers(self) -> list[tuple[str, str, int, float]]:
        a = self.arrays
        return [(str(c), str(j), int(x), float(d)) for c, j, x, d in zip(
            a["driver_channels"], a["driver_joints"], a["driver_axes"], a["driver_degrees"], strict=True)]

    @property
    def meta(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in zip(self.arrays["meta_keys"], self.arrays["meta_values"], strict=True)}

    def correctives(self) -> dict[str, np.ndarray]:
        return {k.split(":", 1)[1]: v for k, v in self.arrays.items() if k.startswith("corrective:")}


def to_blender(points: np.ndarray) -> np.ndarray:
    p = np.asarray(points, dtype=np.float64)
    return np.stack([p[..., 0], -p[..., 2], p[..., 1]], axis=-1)


def from_blender(points: np.ndarray) -> np.ndarray:
    """Blender (x, y, z) back to rig space (x, z, -y): the inverse of ``to_blender``."""
    p = np.asarray(points, dtype=np.float64)
    return np.stack([p[..., 0], p[..., 2], -p[..., 1]], axis=-1)


@dataclass
class RigObjects:
    armature: bpy.types.Object
    mesh: bpy.types.Object
    camera: bpy.types.Object | None
    collection: bpy.types.Collection


def build_rig_objects(rig: RigData, source_tag: str) -> RigObjects:
    """Create the rig's objects in a new collection that is not yet linked to any scene."""
    a = rig.arrays
    coll = bpy.data.collections.new(f"VividTalk {rig.name}")
    mesh = _build_mesh(rig)
    mesh_obj = bpy.data.objects.new(rig.name, mesh)
    arm_obj = _build_armature(rig)
    arm_obj[RIG_TAG] = source_tag
    arm_obj["vividtalk_head_drivers"] = json.dumps([d for d in rig.drivers if d[0].startswith("head.")])
    coll.objects.link(arm_obj)
    coll.objects.link(mesh_obj)
    mesh_obj.parent = arm_obj
    mod = mesh_obj.modifiers.new("Armature", "ARMATURE")
    mod.object = arm_obj
    mod.use_deform_preserve_volume = False  # game engines have no dual quaternions
    _skin(mesh_obj, rig.names("joint_names"), a["weights"])
    _shape_keys(mesh_obj, rig)
    _drivers(mesh_obj, arm_obj, rig)
    camera = None
    if "face_materials" in a:  # a head with parts (ICT-FaceKit); its skin may carry the photo's texture
        _part_materials(mesh, rig.names("material_names"), a["face_materials"], a.get("material_colours"),
                        a.get("texture"), rig.name)
    elif "texture" in a:  # the portrait face: the photo itself, and a camera that sees it as photographed
        _texture_material(mesh, a["texture"], rig.name)
        camera = _photo_camera(rig, coll)
    return RigObjects(arm_obj, mesh_obj, camera, coll)


def _build_mesh(rig: RigData) -> bpy.types.Mesh:
    a = rig.arrays
    verts = to_blender(a["vertices"])
    sizes = a["face_sizes"].astype(np.int64)
    mesh = bpy.data.meshes.new(rig.name)
    mesh.vertices.add(len(verts))
    mesh.vertices.foreach_set("co", verts.astype(np.float32).ravel())
    mesh.loops.add(len(a["face_indices"]))
    mesh.loops.foreach_set("vertex_index", a["face_indices"].astype(np.int32))
    mesh.polygons.add(len(sizes))
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int32)
    mesh.polygons.foreach_set("loop_start", starts)
    if "uvs" in a:
        layer = mesh.uv_layers.new(name="UVMap")
        layer.data.foreach_set("uv", a["uvs"].astype(np.float32).ravel())
    mesh.update(calc_edges=True)
    mesh.validate(clean_customdata=False)
    mesh.polygons.foreach_set("use_smooth", np.ones(len(sizes), bool))
    return mesh


def _build_armature(rig: RigData) -> bpy.types.Object:
    a = rig.arrays
    names = rig.names("joint_names")
    arm = bpy.data.armatures.new(f"{rig.name}Armature")
    obj = bpy.data.objects.new("Armature", arm)
    # edit bones need the object in the view layer, active, in edit mode: link it for that moment only
    context = bpy.context
    view_layer = context.view_layer
    previous = view_layer.objects.active
    context.scene.collection.objects.link(obj)
    try:
        view_layer.objects.active = obj
        with context.temp_override(active_object=obj, object=obj, selected_objects=[obj],
                                   selected_editable_objects=[obj]):
            bpy.ops.object.mode_set(mode="EDIT")
            heads = to_blender(a["joint_positions"])
            for i, name in enumerate(names):
                bone = arm.edit_bones.new(name)
                bone.head = heads[i]
                bone.tail = heads[i] + np.array([0.0, 0.0, BONE_LENGTH])
                bone.roll = 0.0
                parent = int(a["joint_parents"][i])
                if parent >= 0:
                    bone.parent = arm.edit_bones[names[parent]]
                    bone.use_connect = False
            bpy.ops.object.mode_set(mode="OBJECT")
    finally:
        context.scene.collection.objects.unlink(obj)
        view_layer.objects.active = previous
    for pb in obj.pose.bones:
        pb.rotation_mode = "XYZ"
    return obj


def _skin(mesh_obj: bpy.types.Object, joints: list[str], weights: np.ndarray) -> None:
    for j, name in enumerate(joints):
        col = weights[:, j]
        if not np.any(col > 0):
            continue
        group = mesh_obj.vertex_groups.new(name=name)
        values, inverse = np.unique(np.round(col, 5), return_inverse=True)
        for k, w in enumerate(values):
            if w > 0:
                group.add(np.flatnonzero(inverse == k).tolist(), float(w), "REPLACE")


def driver_channels(rig: RigData) -> list[str]:
    """Channels that drive joints (except the head, keyed on its bone directly)."""
    return sorted({c for c, *_ in rig.drivers if not c.startswith("head.")})


def _shape_keys(mesh_obj: bpy.types.Object, rig: RigData) -> None:
    a = rig.arrays
    neutral = to_blender(a["vertices"]).astype(np.float32)
    mesh_obj.shape_key_add(name="Basis", from_mix=False)
    names = rig.names("shape_names")
    for name, delta in zip(names, a["shape_deltas"], strict=True):
        kb = mesh_obj.shape_key_add(name=name, from_mix=False)
        kb.value = 0.0
        kb.data.foreach_set("co", (neutral + to_blender(delta)).astype(np.float32).ravel())
    for name in driver_channels(rig):
        if name not in names:  # a curve to edit even where only a joint moves (the portrait's jaw)
            mesh_obj.shape_key_add(name=name, from_mix=False).value = 0.0
    driven = {j for _, j, _, d in rig.drivers if d}
    for joint, deltas in rig.correctives().items():
        if joint not in driven:
            continue  # a joint nothing turns: its correctives are always zero
        for k in range(9):
            if np.any(deltas[k]):
                kb = mesh_obj.shape_key_add(name=f"corrective.{joint}.{k}", from_mix=False)
                kb.slider_min, kb.slider_max = -2.0, 2.0
                kb.value = 0.0
                kb.data.foreach_set("co", (neutral + to_blender(deltas[k])).astype(np.float32).ravel())


def _joint_angle_expressions(rig: RigData) -> dict[str, list[tuple[str, float]]]:
    """For each driven joint and axis ("jaw.0"), the (channel, radians per unit) terms."""
    terms: dict[str, list[tuple[str, float]]] = {}
    for channel, joint, axis, degrees in rig.drivers:
        if not channel.startswith("head.") and degrees:
            terms.setdefault(f"{joint}.{axis}", []).append((channel, float(np.radians(degrees))))
    return terms


# R = Rz·Ry·Rx minus identity, entry by entry (row-major), in the Euler angles x, y, z
_R_MINUS_I = [
    "cos(y)*cos(z)-1", "sin(x)*sin(y)*cos(z)-cos(x)*sin(z)", "cos(x)*sin(y)*cos(z)+sin(x)*sin(z)",
    "cos(y)*sin(z)", "sin(x)*sin(y)*sin(z)+cos(x)*cos(z)-1", "cos(x)*sin(y)*sin(z)-sin(x)*cos(z)",
    "-sin(y)", "sin(x)*cos(y)", "cos(x)*cos(y)-1",
]


def _add_vars(driver, key: bpy.types.Key, channels: list[str]) -> dict[str, str]:
    names = {}
    for i, channel in enumerate(channels):
        var = driver.variables.new()
        var.name = f"c{i}"
        var.type = "SINGLE_PROP"
        var.targets[0].id_type = "KEY"
        var.targets[0].id = key
        var.targets[0].data_path = f'key_blocks["{channel}"].value'
        names[channel] = var.name
    return names


def _drivers(mesh_obj: bpy.types.Object, arm_obj: bpy.types.Object, rig: RigData) -> None:
    key = mesh_obj.data.shape_keys
    terms = _joint_angle_expressions(rig)
    for joint_axis, parts in terms.items():
        joint, axis = joint_axis.rsplit(".", 1)
        fc = arm_obj.pose.bones[joint].driver_add("rotation_euler", int(axis))
        drv = fc.driver
        drv.type = "SCRIPTED"
        var = _add_vars(drv, key, [c for c, _ in parts])
        drv.expression = "+".join(f"({k:.9f}*{var[c]})" for c, k in parts)
    for joint, _deltas in rig.correctives().items():
        angle = {ax: terms.get(f"{joint}.{i}", []) for i, ax in enumerate("xyz")}
        if not any(angle.values()):
            continue  # the joint never turns: its correctives stay at zero
        for k in range(9):
            if f"corrective.{joint}.{k}" not in key.key_blocks:
                continue
            fc = key.key_blocks[f"corrective.{joint}.{k}"].driver_add("value")
            drv = fc.driver
            drv.type = "SCRIPTED"
            var = _add_vars(drv, key, sorted({c for parts in angle.values() for c, _ in parts}))
            expr = _R_MINUS_I[k]
            for ax, parts in angle.items():
                value = "+".join(f"({r:.9f}*{var[c]})" for c, r in parts) or "0"
                expr = expr.replace(f"({ax})", f"({value})")
            drv.expression = expr


def _texture_material(mesh: bpy.types.Mesh, texture: np.ndarray, name: str) -> None:
    image = _packed_image(texture, f"{name} photo")
    mat = bpy.data.materials.new(f"{name} photo")
    mat.use_nodes = True
    nodes = mat.node_tree.nodes
    bsdf = next(n for n in nodes if n.type == "BSDF_PRINCIPLED")
    tex = nodes.new("ShaderNodeTexImage")
    tex.image = image
    mat.node_tree.links.new(tex.outputs["Color"], bsdf.inputs["Base Color"])
    bsdf.inputs["Roughness"].default_value = 0.6
    mesh.materials.append(mat)


# roughness by ICT-FaceKit material name (its parts: skin, gums and tongue, teeth, eyes, lashes); the base colours
# come with the rig (``material_colours``: for a head shaped like a photo, its irises and the colour the photo holds)
PART_ROUGHNESS = {"M_Face": 0.5, "M_BackHead": 0.5, "M_GumsTongue": 0.35, "M_Teeth": 0.25, "M_ScleraLeft": 0.2,
                  "M_ScleraRight": 0.2, "M_IrisLeft": 0.15, "M_IrisRight": 0.15, "M_EyeLashes": 0.6}
PLAIN_GREY = (0.6, 0.6, 0.6)  # a part of a rig file without colours (made before they were part of it)


# ICT's lashes are cards meant to carry a strand texture with alpha (not part of the head that ships): opaque they
# read as dark slabs over the eyes, so they are drawn faint, a soft lash line rather than a solid lid
PART_ALPHA = {"M_EyeLashes": 0.2}

SKIN_MATERIALS = ("M_Face", "M_BackHead")
IRIS_MATERIAL = "M_IrisLeft"  # its colour tints the eyeballs' iris ring (the sclera materials' shell)


def _part_materials(mesh: bpy.types.Mesh, names: list[str], face_materials: np.ndarray, colours: np.ndarray | None,
                    texture: np.ndarray | None, rig_name: str) -> None:
    """One material per part, so the head reads as skin, teeth, gums and eyes in Material Preview and Cycles.
    With a texture (the photo's skin over ICT's two UV tiles, face U 0..1 and back of head U 1..2) the head is
    shaped like a photo: its materials are its own, the skin shows the texture and the other parts take the
    colours that came with the rig from that photo. A head without one keeps plain colours, shared between
    heads."""
    image = _packed_image(texture, f"{rig_name} skin") if texture is not None else None
    colour_of = {n: tuple(float(c) for c in colours[i]) if colours is not None else PLAIN_GREY
                 for i, n in enumerate(names)}
    iris = colour_of.get(IRIS_MATERIAL, PLAIN_GREY)
    for name in names:
        textured = image is not None and name in SKIN_MATERIALS
        eye = name in EYE_MATERIALS
        own = image is not None or eye
        title = f"VividTalk {rig_name} {name}" if own else f"VividTalk {name}"
        mat = bpy.data.materials.get(title) if not own else None
        if mat is None:
            mat = bpy.data.materials.new(title)
            colour = colour_of[name]
            mat.diffuse_color = (*colour, 1.0)  # the viewport's solid mode
            mat.use_nodes = True
            bsdf = next(n for n in mat.node_tree.nodes if n.type == "BSDF_PRINCIPLED")
            bsdf.inputs["Base Color"].default_value = (*colour, 1.0)
            bsdf.inputs["Roughness"].default_value = PART_ROUGHNESS.get(name, 0.5)
            if name in PART_ALPHA:
                _see_through(mat, bsdf, PART_ALPHA[name])
            if textured:
                _skin_texture_nodes(mat, bsdf, image)
            if eye:
                _eye_nodes(mat, bsdf, iris)
        mesh.materials.append(mat)
    mesh.polygons.foreach_set("material_index", face_materials.astype(np.int32))


def _see_through(mat: bpy.types.Material, bsdf, alpha: float) -> None:
    """Partly transparent in Cycles and in the viewport (EEVEE dithers it; FBX carries the opacity)."""
    bsdf.inputs["Alpha"].default_value = alpha
    mat.diffuse_color = (*mat.diffuse_color[:3], alpha)
    if hasattr(mat, "surface_render_method"):  # EEVEE Next (4.2+)
        mat.surface_render_method = "DITHERED"


EYE_MATERIALS = ("M_ScleraLeft", "M_ScleraRight")
# ICT's eyeball shell maps polar around UV (0.5, 0.5): these UV radii fall at 2 mm (pupil) and 6 mm (iris rim)
# from the eye's axis
PUPIL_UV, IRIS_UV = 0.027, 0.11


def _eye_nodes(mat: bpy.types.Material, bsdf, iris: tuple[float, float, float]) -> None:
    """Pupil, iris (its colour from the photo), a darker rim and the white, by distance from the cornea's UV
    centre."""
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    uv = nodes.new("ShaderNodeTexCoord")
    distance = nodes.new("ShaderNodeVectorMath")
    distance.operation = "DISTANCE"
    distance.inputs[1].default_value = (0.5, 0.5, 0.0)
    ramp = nodes.new("ShaderNodeValToRGB")
    stops = ramp.color_ramp.elements
    stops[0].position, stops[0].color = PUPIL_UV, (0.01, 0.01, 0.01, 1.0)
    stops[1].position, stops[1].color = IRIS_UV + 0.012, (0.9, 0.88, 0.85, 1.0)
    rim = tuple(0.7 * c for c in iris)
    for position, colour in ((PUPIL_UV + 0.006, (*iris, 1.0)), (IRIS_UV - 0.01, (*rim, 1.0)),
                             (IRIS_UV, (0.05, 0.04, 0.03, 1.0))):
        stop = stops.new(position)
        stop.color = colour
    links.new(uv.outputs["UV"], distance.inputs[0])
    links.new(distance.outputs["Value"], ramp.inputs["Fac"])
    links.new(ramp.outputs["Color"], bsdf.inputs["Base Color"])
    bsdf.inputs["Roughness"].default_value = 0.05


def _packed_image(texture: np.ndarray, name: str) -> bpy.types.Image:
    h, w = texture.shape[:2]
    image = bpy.data.images.new(name, w, h, alpha=True)
    rgba = np.concatenate([texture[::-1].astype(np.float32) / 255.0, np.ones((h, w, 1), np.float32)], axis=2)
    image.pixels.foreach_set(rgba.ravel())
    image.pack()
    return image


def _skin_texture_nodes(mat: bpy.types.Material, bsdf, image: bpy.types.Image) -> None:
    """UV -> U halved (two tiles in one image) -> the image -> base colour."""
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    uv = nodes.new("ShaderNodeTexCoord")
    mapping = nodes.new("ShaderNodeMapping")
    mapping.inputs["Scale"].default_value = (0.5, 1.0, 1.0)
    tex = nodes.new("ShaderNodeTexImage")
    tex.image = image
    tex.extension = "EXTEND"
    links.new(uv.outputs["UV"], mapping.inputs["Vector"])
    links.new(mapping.outputs["Vector"], tex.inputs["Vector"])
    links.new(tex.outputs["Color"], bsdf.inputs["Base Color"])


def _photo_camera(rig: RigData, coll: bpy.types.Collection) -> bpy.types.Object:
    """An orthographic camera that sees the rig exactly as the photo shows it."""
    meta = rig.meta
    w, h, ppm = int(meta["image_width"]), int(meta["image_height"]), float(meta["pixels_per_metre"])
    cam = bpy.data.cameras.new(f"{rig.name} photo camera")
    cam.type = "ORTHO"
    cam.ortho_scale = max(w, h) / ppm
    cam.clip_start, cam.clip_end = 0.01, 10.0
    obj = bpy.data.objects.new(cam.name, cam)
    obj.location = (0.0, -1.0, 0.0)  # in front of the face (rig +Z is Blender -Y), image centre at the origin
    obj.rotation_euler = (np.pi / 2, 0.0, 0.0)
    obj["vividtalk_image_size"] = (w, h)
    coll.objects.link(obj)
    return obj
