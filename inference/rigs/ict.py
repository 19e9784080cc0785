"""ICT-FaceKit (MIT, USC ICT): a full production head with 53 artist-made ARKit expression shapes.

Reads ``ict_arkit.npz`` (the numpy export of FaceXModel, see ../shared/data/README.md) from a folder the
user points to. ICT names its sides ``_L``/``_R`` and splits browInnerUp and cheekPuff in two; the rig
uses Apple's ARKit names, merging each split pair into one shape (exact: shapes add linearly).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..io.npz import load_arrays, require_finite
from .rig import JOINT_NAMES, FaceRig, standard_drivers

ICT_FILE = "ict_arkit.npz"
_MERGED = {"browInnerUp": ("browInnerUp_L", "browInnerUp_R"), "cheekPuff": ("cheekPuff_L", "cheekPuff_R")}
# head pivots in ICT centimetres: atlanto-occipital joint, mid-neck, neck base
_PIVOTS_CM = {"root": (0, -17.0, -2.0), "neck": (0, -9.0, -1.5), "head": (0, -2.0, 0.0), "jaw": (0, 1.0, 3.5)}
_ICT_LANDMARKS = {"chin": 8, "nose_tip": 30, "lip_upper": 62, "lip_lower": 66, "mouth_corner_R": 48,
                  "mouth_corner_L": 54, "eye_outer_R": 36, "eye_inner_R": 39, "eye_inner_L": 42, "eye_outer_L": 45,
                  "eye_upper_R": 37, "eye_lower_R": 41, "eye_upper_L": 44, "eye_lower_L": 46}


def arkit_name(ict_name: str) -> str:
    """``eyeBlink_L`` -> ``eyeBlinkLeft``; other names are already ARKit's."""
    for suffix, side in (("_L", "Left"), ("_R", "Right")):
        if ict_name.endswith(suffix):
            return ict_name[: -len(suffix)] + side
    return ict_name


def find_ict_file(folder: str | os.PathLike) -> Path:
    p = Path(folder)
    path = p if p.is_file() else p / ICT_FILE
    if not path.is_file():
        raise InputError(f"No ICT-FaceKit head at '{p}': expected the folder holding '{ICT_FILE}' "
                         "(see docs/rigs.md for how to make it from an ICT-FaceKit checkout).")
    return path


def load_ict_rig(folder: str | os.PathLike) -> FaceRig:
    path = find_ict_file(folder)
    z = load_arrays(path, "ICT-FaceKit export")
    try:
        verts_cm = z["neutral_vertices"].astype(np.float64)
        face_sizes = z["face_sizes"].astype(np.int64)
        face_indices = z["face_vertex_indices"].astype(np.int64)
        uvs = z["uvs"][z["face_uv_indices"]].astype(np.float32)
        ict_names = [str(n) for n in z["expression_names"]]
        deltas_cm = z["expression_deltas"]
        regions = {str(n): tuple(r) for n, r in zip(z["region_names"], z["region_vertex_ranges"], strict=True)}
        multipie = z["landmarks_multipie68"]
    except (KeyError, ValueError, TypeError, IndexError) as e:
        raise InputError(f"'{path}' is not a complete ICT-FaceKit export ({e}); rebuild it with "
                         "build_ict_npz.py.") from e
    require_finite(z, str(path))
    shapes: dict[str, np.ndarray] = {}
    for name, delta in zip(ict_names, deltas_cm, strict=True):
        merged = next((m for m, pair in _MERGED.items() if name in pair), None)
        key = merged or arkit_name(name)
        shapes[key] = shapes.get(key, 0) + delta.astype(np.float32) / 100.0
    names = sorted(shapes)

    y = verts_cm[:, 1]
    head_w = np.clip((y + 12.0) / 8.0, 0, 1)
    head_w = head_w * head_w * (3 - 2 * head_w)
    weights = np.zeros((len(verts_cm), len(JOINT_NAMES)), np.float32)
    weights[:, JOINT_NAMES.index("head")] = head_w
    weights[:, JOINT_NAMES.index("neck")] = 1 - head_w
    pivots = dict(_PIVOTS_CM)
    for side, region in (("L", "eyeball_left"), ("R", "eyeball_right")):
        a, b = regions[region]
        weights[a:b + 1] = 0
        weights[a:b + 1, JOINT_NAMES.index(f"eye_{side}")] = 1
        pivots[f"eye_{side}"] = tuple(verts_cm[a:b + 1].mean(0))
    # jawOpen and eyeLook* are artist shapes here: only the head rotation drives joints
    drivers = [d for d in standard_drivers(0.0) if d.channel.startswith("head.")]
    rig = FaceRig(
        name="ICTFace", vertices=verts_cm / 100.0, face_sizes=face_sizes, face_indices=face_indices,
        shape_names=names, shape_deltas=np.stack([shapes[n] for n in names]),
        joint_names=list(JOINT_NAMES), joint_parents=np.array([-1, 0, 1, 2, 2, 2]),
        joint_positions=np.array([pivots[j] for j in JOINT_NAMES], dtype=np.float64) / 100.0,
        weights=weights, drivers=drivers, uvs=uvs,
        landmarks={k: int(multipie[i]) for k, i in _ICT_LANDMARKS.items()},
        meta={"source": str(path), "kind": "ict", "licence": "MIT (ICT-FaceKit, USC ICT)"},
    )
    rig.validate()
    return rig
