"""The ICT-FaceKit head as a rig: the complete head (face, back of head and neck, sockets, eyeballs, eyelashes,
teeth, gums, tongue) with its 53 artist-made shapes under ARKit names, and joints that move what is rigid.

The head ships with vividtalk (``blender_assets/ict_head.npz``, MIT, built by tools/build_head_asset.py); a user's
own checkout (or the older ``ict_arkit.npz`` export) works the same. ICT names its sides ``_L``/``_R`` and splits
browInnerUp and cheekPuff in two; the rig uses Apple's ARKit names, merging each split pair into one shape (exact:
shapes add linearly), and adds the one ARKit shape ICT lacks, tongueOut.

What the artist shapes do to rigid parts becomes joint motion: the lower teeth, the lower gums and the tongue
follow the jaw joint, turned by jawOpen by the angle that best reproduces ICT's own jawOpen (what is left of the
shape on them is kept as a shape); the eyeballs follow the eye joints (ICT's eyeLook shapes leave them still).
ICT's jawOpen opens the incisors about 4 cm, a yawn; the rig scales it so jawOpen = 1 opens them 25 mm, the
opening the lip sync's curves are made for. The thin transparent layers in front of the eyes (lacrimal fluid,
eye blend, eye occlusion) need a shader to look right and are left out.
"""

from __future__ import annotations

import dataclasses
import os
from importlib import resources
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

from ..colour.palette import FULL_COLOUR, Palette
from ..colour.srgb import linear_to_srgb, srgb_to_linear
from ..errors import InputError
from .ict_model import N_VERTICES, PART_VERTEX_RANGES, IctModel, read_model, read_npz
from .lip_bow import RISE_PER_DROP, profile
from .mediapipe_topology import FACE_OVAL
from .rig import JOINT_NAMES, FaceRig, JointDriver, euler_matrices, standard_drivers

ASSET_NAME = "ict_head.npz"
_MERGED = {"browInnerUp": ("browInnerUp_L", "browInnerUp_R"), "cheekPuff": ("cheekPuff_L", "cheekPuff_R")}
_LEFT_OUT = ("lacrimal_fluid", "eye_blend", "eye_occlusion")
# head pivots in ICT centimetres: atlanto-occipital joint, mid-neck, neck base
_PIVOTS_CM = {"root": (0, -17.0, -2.0), "neck": (0, -9.0, -1.5), "head": (0, -2.0, 0.0)}
_ICT_LANDMARKS = {"chin": 8, "nose_tip": 30, "lip_upper": 62, "lip_lower": 66, "mouth_corner_R": 48,
                  "mouth_corner_L": 54, "eye_outer_R": 36, "eye_inner_R": 39, "eye_inner_L": 42, "eye_outer_L": 45,
                  "eye_upper_R": 37, "eye_lower_R": 41, "eye_upper_L": 44, "eye_lower_L": 46}
INCISOR_OPENING_CM = 2.5
"""How far jawOpen = 1 parts the incisors (ICT's own shape: about 4 cm)."""
TONGUE_OUT_CM = 2.2  # how far the tongue tip comes forward at tongueOut = 1
IDENTITY_MODES = 20  # what a photo fit solves for (the shipped head keeps as many)
FIT_WARN_PERCENT = 1.5
TONGUE_OUT_JAW = 0.35  # the share of jawOpen tongueOut brings along, so the tongue passes the teeth


def arkit_name(ict_name: str) -> str:
    """``eyeBlink_L`` -> ``eyeBlinkLeft``; other names are already ARKit's."""
    for suffix, side in (("_L", "Left"), ("_R", "Right")):
        if ict_name.endswith(suffix):
            return ict_name[: -len(suffix)] + side
    return ict_name


def builtin_head_path() -> Path:
    return Path(str(resources.files("blender_assets") / ASSET_NAME))


def load_ict_rig(source: str | os.PathLike | None = None, photo: str | os.PathLike | None = None) -> FaceRig:
    """The rig of the head that ships with vividtalk (``source`` None), or of a user's ICT-FaceKit checkout;
    with ``photo``, shaped like the face in it (head_fit.py)."""
    model = read_model(source, identity_modes=IDENTITY_MODES if photo else 0) if source else _builtin_model()
    name = str(source) if source else "built-in"
    if not photo:
        return ict_rig(model, name)
    head = shaped_like(model, photo)
    rig = ict_rig(head.model, name, head.texture, head.view, head.colours)
    rig.meta.update(head.notes)
    return rig


def _builtin_model() -> IctModel:
    path = builtin_head_path()
    if not path.is_file():
        raise InputError(f"The built-in head '{path}' is missing; reinstall vividtalk.")
    return read_npz(path)


@dataclasses.dataclass(frozen=True)
class PhotoView:
    """The fitted head as the photo shows it: its vertices with the photo's own expression (model space, cm) and
    the camera that sees them where the photo has them (the renderer warps the photo by this correspondence)."""

    vertices_cm: np.ndarray  # (N_VERTICES, 3)
    pose: np.ndarray  # (3, 4) [R | t]: rig metres -> camera metres
    intrinsics: np.ndarray  # (3,) focal length in pixels, image width, image height


@dataclasses.dataclass(frozen=True)
class ShapedHead:
    """The head shaped like the face in a photo, and what its rig takes from the photo."""

    model: IctModel  # with the photo's identity; its rest is a neutral face
    texture: np.ndarray  # the skin over ICT's two UV tiles (head_texture.py)
    colours: np.ndarray  # (materials, 3) each part's base colour (part_colours): the photo's irises and palette
    notes: dict[str, str]  # for the rig's meta: the photo, the fit's error, warnings
    view: PhotoView


def shaped_like(model: IctModel, photo: str | os.PathLike) -> ShapedHead:
    """The head with the identity of the face in ``photo``, its skin texture and part colours from the photo,
    and the head as photographed. The photo's expression (a smile, parted lips) and pose are kept there, not in
    the rest: the rig's rest is a neutral face, and expressions are the animation's."""
    from ..colour.palette import palette_of
    from ..io.images import load_rgb
    from .head_texture import bake_skin_texture

    rgb = load_rgb(photo)
    shaped, fit, landmarks, view = _fitted(model, rgb, photo)
    texture = bake_skin_texture(rgb, fit, view.vertices_cm, model.face_sizes, model.face_indices,
                                model.uvs[model.face_uv_indices], model.face_materials, model.material_names,
                                float(view.vertices_cm[model.landmarks68[[36, 45]], 1].mean()))
    colours = part_colours(model.material_names, palette_of(rgb, landmarks.points[list(FACE_OVAL), :2]),
                           _iris_colour(rgb, landmarks.points))
    warnings = list(landmarks.warnings)
    if fit.mean_error_percent > FIT_WARN_PERCENT:
        warnings.append(f"The head follows the face in '{photo}' only roughly (landmarks {fit.mean_error_percent:.1f} "
                        "% of the eye distance apart on average); a sharper, more frontal photo fits better.")
    notes = {"photo": str(photo), "fit_error_percent": f"{fit.mean_error_percent:.2f}",
             "texture_layout": "ICT UV tiles: face U 0..1, back of head U 1..2 (sample at U / 2)",
             "warnings": "\n".join(warnings)}
    return ShapedHead(shaped, texture, colours, notes, view)


def head_seen_in(rgb: np.ndarray, source: str = "photo") -> FaceRig:
    """The built-in head fitted to the face in ``rgb``, with the photo's view but no texture (what the video
    renderer needs of it: where the teeth, gums and tongue of this face sit in the photo)."""
    shaped, _fit, _landmarks, view = _fitted(_builtin_model(), rgb, source)
    return ict_rig(shaped, "built-in", None, view)


def _fitted(model: IctModel, rgb: np.ndarray, source: str | os.PathLike):
    """(the model with the photo's identity, the fit, the landmarks, the head as photographed)."""
    from .head_fit import LandmarkBasis, builtin_correspondence, fit_head
    from .landmarks import detect_landmarks

    if len(model.vertices) != N_VERTICES or model.identity_deltas is None:
        raise InputError("Only ICT-FaceKit's full head, with its identity shapes, can be shaped like a photo.")
    landmarks = detect_landmarks(rgb, source)
    corr = builtin_correspondence()
    fit = fit_head(landmarks, LandmarkBasis.of(model, corr), corr)
    identity = model.identity_deltas[:len(fit.beta)].astype(np.float64)
    neutral = model.vertices + np.tensordot(fit.beta, identity, 1)
    shaped = dataclasses.replace(model, vertices=neutral.astype(np.float32))
    as_photographed = neutral + np.tensordot(fit.psi, model.expression_deltas.astype(np.float64), 1)
    view = PhotoView(as_photographed, np.column_stack([fit.rotation, fit.translation / 100.0]),
                     np.array([fit.focal_px, *fit.image_size], np.float64))
    return shaped, fit, landmarks, view


def ict_rig(model: IctModel, source: str, texture: np.ndarray | None = None,
            view: PhotoView | None = None, colours: np.ndarray | None = None) -> FaceRig:
    """``texture``: the skin texture over ICT's two UV tiles (head_texture.py), or None for plain materials;
    ``view``: the head as its photo shows it (kept as ``photo_vertices`` and the photo's camera); ``colours``:
    each material's base colour (``part_colours``; by default the parts' own)."""
    part_of = model.part_of_vertices()
    part_names = list(PART_VERTEX_RANGES)
    keep = ~np.isin(part_of, [i for i, n in enumerate(part_names) if n.startswith(_LEFT_OUT)])
    verts_cm = model.vertices.astype(np.float64)
    shapes = _arkit_shapes(model)
    parts = {name: part_of == i for i, name in enumerate(part_names)}

    jaw = _jaw(verts_cm, shapes.get("jawOpen"), parts)
    if jaw is not None:
        shapes["jawOpen"] = shapes["jawOpen"] * jaw.scale - jaw.weights[:, None] * jaw.displacement
        bow = _upper_lip_bow(verts_cm, shapes, model.landmarks68)
        shapes["jawOpen"] = shapes["jawOpen"] + bow
        if "mouthClose" in shapes:  # sealed lips (mouthClose = jawOpen) take the rise back
            shapes["mouthClose"] = shapes["mouthClose"] - bow
        tongue = _tongue(verts_cm, parts, jaw.weights)
        if tongue.any():
            shapes["tongueOut"] = _tongue_out(verts_cm, tongue) + TONGUE_OUT_JAW * shapes["jawOpen"]

    weights = np.zeros((len(verts_cm), len(JOINT_NAMES)), np.float64)
    head_w = np.clip((verts_cm[:, 1] + 12.0) / 8.0, 0, 1)
    head_w = head_w * head_w * (3 - 2 * head_w)
    weights[:, JOINT_NAMES.index("head")] = head_w
    weights[:, JOINT_NAMES.index("neck")] = 1 - head_w
    pivots = {k: np.array(v, np.float64) for k, v in _PIVOTS_CM.items()}
    pivots["jaw"] = np.array([0.0, 1.0, 3.5])
    jaw_degrees = 0.0
    if jaw is not None:
        moving = jaw.weights > 0
        weights[moving] *= (1 - jaw.weights[moving])[:, None]
        weights[moving, JOINT_NAMES.index("jaw")] = jaw.weights[moving]
        pivots["jaw"], jaw_degrees = jaw.pivot, jaw.degrees
    for side, part in (("L", "eyeball_left"), ("R", "eyeball_right")):
        ball = parts[part]
        pivots[f"eye_{side}"] = _sphere_centre(verts_cm[ball]) if ball.any() else np.zeros(3)
        weights[ball] = 0
        weights[ball, JOINT_NAMES.index(f"eye_{side}")] = 1
    drivers = standard_drivers(jaw_degrees)
    if "tongueOut" in shapes:
        drivers.append(JointDriver("tongueOut", "jaw", 0, jaw_degrees * TONGUE_OUT_JAW))

    index = np.cumsum(keep) - 1  # old vertex -> kept vertex
    corners_kept = keep[model.face_indices]
    starts = np.concatenate([[0], np.cumsum(model.face_sizes)[:-1]])
    polygon_kept = np.logical_and.reduceat(corners_kept, starts)
    corner_mask = np.repeat(polygon_kept, model.face_sizes)
    names = sorted(shapes)
    landmarks = {k: int(index[model.landmarks68[i]]) for k, i in _ICT_LANDMARKS.items()
                 if keep[model.landmarks68[i]]}
    rig = FaceRig(
        name="ICTHead", vertices=verts_cm[keep] / 100.0, face_sizes=model.face_sizes[polygon_kept],
        face_indices=index[model.face_indices[corner_mask]],
        shape_names=names, shape_deltas=np.stack([shapes[n][keep] for n in names]).astype(np.float32) / 100.0,
        joint_names=list(JOINT_NAMES), joint_parents=np.array([-1, 0, 1, 2, 2, 2]),
        joint_positions=np.array([pivots[j] for j in JOINT_NAMES], dtype=np.float64) / 100.0,
        weights=weights[keep].astype(np.float32), drivers=drivers,
        uvs=model.uvs[model.face_uv_indices[corner_mask]].astype(np.float32),
        face_materials=model.face_materials[polygon_kept].astype(np.int16), texture=texture,
        material_names=list(model.material_names), landmarks=landmarks,
        material_colours=(colours if colours is not None else part_colours(model.material_names)).astype(np.float32),
        photo_vertices=view.vertices_cm[keep] / 100.0 if view is not None else None,
        photo_pose=view.pose if view is not None else None,
        photo_intrinsics=view.intrinsics if view is not None else None,
        meta={"source": source, "kind": "ict", "licence": "MIT (ICT-FaceKit, USC ICT)",
              "jaw_scale": f"{jaw.scale:.4f}" if jaw is not None else "1"},
    )
    rig.validate()
    return rig


PART_COLOURS = {
    "M_Face": (0.80, 0.57, 0.47), "M_BackHead": (0.80, 0.57, 0.47), "M_GumsTongue": (0.62, 0.22, 0.22),
    "M_Teeth": (0.90, 0.87, 0.80), "M_ScleraLeft": (0.92, 0.90, 0.88), "M_ScleraRight": (0.92, 0.90, 0.88),
    "M_IrisLeft": (0.25, 0.16, 0.09), "M_IrisRight": (0.25, 0.16, 0.09), "M_EyeLashes": (0.03, 0.02, 0.02),
}
"""Each ICT-FaceKit material's base colour in full light (linear RGB, as Blender's Principled BSDF reads it)."""
OTHER_PART_COLOUR = (0.6, 0.6, 0.6)
IRIS_MATERIALS = ("M_IrisLeft", "M_IrisRight")


def part_colours(names: list[str], palette: Palette = FULL_COLOUR, iris_srgb: np.ndarray | None = None) -> np.ndarray:
    """(len(names), 3) base colours (linear RGB) of the materials ``names``: the parts' own in the colour the
    photo holds (``palette``: a black-and-white photo's head has grey gums and teeth), and with ``iris_srgb``
    (0..1, sRGB-encoded) the photo's irises."""
    own = np.array([PART_COLOURS.get(n, OTHER_PART_COLOUR) for n in names], np.float64)
    colours = srgb_to_linear(palette.apply(linear_to_srgb(own)))
    if iris_srgb is not None:
        colours[[n in IRIS_MATERIALS for n in names]] = srgb_to_linear(iris_srgb)
    return colours


def _iris_colour(rgb: np.ndarray, points: np.ndarray) -> np.ndarray | None:
    """The irises' colour in the photo (0..1 sRGB-encoded): the ring between pupil and rim of both, lids excluded
    by taking the median."""
    h, w = rgb.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    samples = []
    for centre, rim in ((468, (469, 471)), (473, (474, 476))):
        radius = np.linalg.norm(points[rim[0], :2] - points[rim[1], :2]) / 2
        r = np.hypot(xx - points[centre, 0], yy - points[centre, 1])
        samples.append(rgb[(r > 0.45 * radius) & (r < 0.85 * radius)])
    ring = np.concatenate(samples)
    return np.median(ring, axis=0) / 255.0 if len(ring) else None


def _arkit_shapes(model: IctModel) -> dict[str, np.ndarray]:
    shapes: dict[str, np.ndarray] = {}
    for name, delta in zip(model.expression_names, model.expression_deltas, strict=True):
        merged = next((m for m, pair in _MERGED.items() if name in pair), None)
        key = merged or arkit_name(name)
        shapes[key] = shapes.get(key, 0) + delta.astype(np.float64)
    return shapes


class _Jaw:
    """The jaw as a joint: pivot and angle (per unit of jawOpen after scaling), per-vertex weights, and the
    displacement the rotation gives each vertex (cm)."""

    def __init__(self, pivot: np.ndarray, degrees: float, scale: float, weights: np.ndarray,
                 displacement: np.ndarray):
        self.pivot, self.degrees, self.scale = pivot, degrees, scale
        self.weights, self.displacement = weights, displacement


def _rotate_x(points: np.ndarray, pivot: np.ndarray, degrees: float) -> np.ndarray:
    """``points`` turned about rig X through ``pivot``, as the jaw joint turns them."""
    return (points - pivot) @ euler_matrices(np.radians([degrees, 0.0, 0.0])).T + pivot


def _jaw(verts: np.ndarray, jaw_open: np.ndarray | None, parts: dict[str, np.ndarray]) -> _Jaw | None:
    """Fit a rotation about rig X through a pivot in the mid-plane to what jawOpen does to the lower teeth."""
    if jaw_open is None or not parts["teeth"].any():
        return None
    moved = np.linalg.norm(jaw_open, axis=1)
    lower = parts["teeth"] & (moved > 0.5)
    if lower.sum() < 10:
        return None
    p, d = verts[lower], jaw_open[lower]

    def residual(x):
        return (_rotate_x(p, np.array([0.0, x[1], x[2]]), x[0]) - (p + d)).ravel()

    fit = least_squares(residual, x0=[20.0, 1.0, -1.0])
    degrees, pivot = float(fit.x[0]), np.array([0.0, fit.x[1], fit.x[2]])
    upper = parts["teeth"] & ~lower
    gap = _incisor_gap(verts, jaw_open, lower, upper)
    scale = INCISOR_OPENING_CM / gap if gap > 0 else 1.0
    degrees *= scale
    rigid = parts["teeth"] | parts["gums_and_tongue"]
    displacement = np.zeros_like(verts)
    displacement[rigid] = _rotate_x(verts[rigid], pivot, degrees) - verts[rigid]
    along = np.einsum("ij,ij->i", jaw_open * scale, displacement)
    norm2 = np.einsum("ij,ij->i", displacement, displacement)
    weights = np.where(rigid & (norm2 > 1e-8), np.clip(along / np.maximum(norm2, 1e-12), 0, 1), 0.0)
    weights[lower] = 1.0
    return _Jaw(pivot, degrees, scale, weights, displacement)


def _incisor_gap(verts: np.ndarray, jaw_open: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """How far jawOpen = 1 parts the front teeth: the lowest point of the upper incisors to the highest of the
    lower ones, both within 1 cm of the mid-plane and at the front."""
    front = verts[:, 2] > verts[upper | lower, 2].max() - 1.0
    mid = np.abs(verts[:, 0]) < 1.0
    up, lo = upper & front & mid, lower & front & mid
    if not up.any() or not lo.any():
        return 0.0
    rest = verts[up, 1].min() - verts[lo, 1].max()
    opened = verts[up, 1].min() - (verts[lo, 1] + jaw_open[lo, 1]).max()
    return float(opened - rest)


def _upper_lip_bow(verts: np.ndarray, shapes: dict[str, np.ndarray], landmarks68: np.ndarray) -> np.ndarray:
    """What jawOpen adds so the middle of the upper lip rises as real speakers' does (``lip_bow``), in cm. ICT's
    own jawOpen pulls the upper lip down a little. The motion takes the direction and reach into the skin of the
    artist's two mouthUpperUp shapes together (a whole upper lip raised), scaled so the inner edge's middle rises
    as measured, and falls off toward the corners as the inner edge's does."""
    raise_lip = np.asarray(shapes.get("mouthUpperUpLeft", 0.0) + shapes.get("mouthUpperUpRight", 0.0))
    if np.ndim(raise_lip) != 2 or len(landmarks68) < 68 or raise_lip[landmarks68[62], 1] <= 0:
        return np.zeros_like(verts)
    middle, lower, corners = landmarks68[62], landmarks68[66], landmarks68[[60, 64]]
    half_width = max(float(abs(verts[corners[1], 0] - verts[corners[0], 0])) / 2.0, 1e-3)
    u = np.abs(verts[:, 0] - verts[middle, 0]) / half_width
    lip_drop_mm = -10.0 * float(shapes["jawOpen"][lower, 1] - shapes["jawOpen"][middle, 1])
    wanted_cm = RISE_PER_DROP["inner"] * max(lip_drop_mm, 0.0) / 10.0 - float(shapes["jawOpen"][middle, 1])
    return raise_lip / raise_lip[middle, 1] * (profile(u, "inner") * wanted_cm)[:, None]


def _tongue(verts: np.ndarray, parts: dict[str, np.ndarray], jaw_weights: np.ndarray) -> np.ndarray:
    """The tongue: the part of 'gums and tongue' that moves with the jaw and keeps clear of the teeth (the gums
    wrap the teeth)."""
    from scipy.spatial import cKDTree

    candidates = parts["gums_and_tongue"] & (jaw_weights > 0.5)
    if not candidates.any() or not parts["teeth"].any():
        return np.zeros(len(verts), bool)
    distance, _ = cKDTree(verts[parts["teeth"]]).query(verts[candidates])
    tongue = np.zeros(len(verts), bool)
    tongue[np.flatnonzero(candidates)[distance > 0.35]] = True
    return tongue


def _tongue_out(verts: np.ndarray, tongue: np.ndarray) -> np.ndarray:
    """Push the tongue forward, the tip most and the root not at all, and flatten it a little."""
    z = verts[tongue, 2]
    t = np.clip((z - z.min()) / max(z.max() - z.min(), 1e-6), 0, 1)
    t = t * t * (3 - 2 * t)
    delta = np.zeros_like(verts)
    delta[tongue, 2] = TONGUE_OUT_CM * t
    delta[tongue, 1] = -0.25 * t
    return delta


def _sphere_centre(points: np.ndarray) -> np.ndarray:
    """Least-squares sphere centre (the eyeball's pivot)."""
    a = np.column_stack([2 * points, np.ones(len(points))])
    b = (points ** 2).sum(1)
    return np.linalg.lstsq(a, b, rcond=None)[0][:3]
