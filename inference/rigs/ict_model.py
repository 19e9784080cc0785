"""ICT-FaceKit's head model as data: read from a checkout as users download it, or from the compact copy the
product ships in ``blender_assets/`` (built from a checkout by tools/build_head_asset.py).

ICT-FaceKit (USC ICT, MIT licence) is one topology: face, back of head and neck, mouth and eye sockets, gums and
tongue, teeth, eyeballs, lacrimal fluid, eye blend and occlusion layers, eyelashes (26,719 vertices, centimetres,
+X the subject's left, +Y up, +Z forward). A checkout holds ``FaceXModel/generic_neutral_mesh.obj`` (topology,
UVs, materials), one OBJ per expression named in ``FaceXModel/vertex_indices.json`` (53 ARKit-style shapes),
and ``identity000.obj`` … (PCA identity modes, one standard deviation each).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..io.atomic import atomic_write_bytes
from ..io.npz import load_arrays, require_finite

ASSET_FORMAT = "vividtalk.ict_head"
ASSET_VERSION = 1
NEUTRAL_OBJ = "generic_neutral_mesh.obj"
INDEX_JSON = "vertex_indices.json"
UPSTREAM = "https://github.com/ICT-VGL/ICT-FaceKit"

# The model's parts, from ICT-FaceKit's README ("Face Model Topology"): vertex index ranges, inclusive
PART_VERTEX_RANGES = {
    "face": (0, 9408), "head_and_neck": (9409, 11247), "mouth_socket": (11248, 13293),
    "eye_socket_left": (13294, 13677), "eye_socket_right": (13678, 14061), "gums_and_tongue": (14062, 17038),
    "teeth": (17039, 21450), "eyeball_left": (21451, 23020), "eyeball_right": (23021, 24590),
    "lacrimal_fluid_left": (24591, 24794), "lacrimal_fluid_right": (24795, 24998),
    "eye_blend_left": (24999, 25022), "eye_blend_right": (25023, 25046),
    "eye_occlusion_left": (25047, 25198), "eye_occlusion_right": (25199, 25350),
    "eyelashes_left": (25351, 26034), "eyelashes_right": (26035, 26718),
}
N_VERTICES = PART_VERTEX_RANGES["eyelashes_right"][1] + 1


@dataclass
class IctModel:
    """The head in ICT's own units (cm) and names (``eyeBlink_L``)."""

    vertices: np.ndarray  # (V, 3) float32
    face_sizes: np.ndarray  # (F,) corners per polygon
    face_indices: np.ndarray  # (sum(face_sizes),) vertex per corner
    face_uv_indices: np.ndarray  # (sum(face_sizes),) UV per corner
    uvs: np.ndarray  # (U, 2)
    face_materials: np.ndarray  # (F,) index into material_names
    material_names: list[str]
    expression_names: list[str]
    expression_deltas: np.ndarray  # (S, V, 3)
    landmarks68: np.ndarray  # (68,) vertex of each iBUG/Multi-PIE landmark
    identity_deltas: np.ndarray | None = None  # (K, V, 3) one standard deviation per mode
    source: str = ""

    def part_of_vertices(self) -> np.ndarray:
        """(V,) index into ``list(PART_VERTEX_RANGES)`` for every vertex (all 'face' for a model that is not
        ICT-FaceKit's full topology, such as a cut-down test model)."""
        part = np.zeros(len(self.vertices), np.int16)
        if len(self.vertices) != N_VERTICES:
            return part
        for i, (a, b) in enumerate(PART_VERTEX_RANGES.values()):
            part[a:b + 1] = i
        return part

    def save(self, path: str | os.PathLike) -> None:
        """The compact copy the product ships: deltas as float16 (0.01 mm rounding at most)."""
        arrays = {
            "format": np.array(ASSET_FORMAT), "version": np.array(ASSET_VERSION), "source": np.array(self.source),
            "vertices": self.vertices.astype(np.float32), "face_sizes": self.face_sizes.astype(np.uint8),
            "face_indices": self.face_indices.astype(np.int32),
            "face_uv_indices": self.face_uv_indices.astype(np.int32),
            "uvs": self.uvs.astype(np.float32), "face_materials": self.face_materials.astype(np.int16),
            "material_names": np.array(self.material_names), "expression_names": np.array(self.expression_names),
            "expression_deltas": self.expression_deltas.astype(np.float16),
            "landmarks68": self.landmarks68.astype(np.int32),
        }
        if self.identity_deltas is not None:
            arrays["identity_deltas"] = self.identity_deltas.astype(np.float16)
        atomic_write_bytes(path, lambda f: np.savez_compressed(f, **arrays))


def read_model(path: str | os.PathLike, identity_modes: int = 0) -> IctModel:
    """A checkout (its root or its FaceXModel folder; ``identity_modes`` of its identity OBJs), a shipped asset
    .npz, or a folder holding the older ``ict_arkit.npz`` export; every other thing gets a message saying what
    is expected."""
    p = Path(path).expanduser()
    if p.is_dir():
        for folder in (p, p / "FaceXModel"):
            if (folder / INDEX_JSON).is_file() and (folder / NEUTRAL_OBJ).is_file():
                return read_checkout(folder, identity_modes)
        if (p / "ict_arkit.npz").is_file():
            return read_npz(p / "ict_arkit.npz")
    elif p.is_file() and p.suffix.lower() == ".npz":
        return read_npz(p)
    raise InputError(f"No ICT-FaceKit head at '{p}': expected an ICT-FaceKit checkout as downloaded from "
                     f"{UPSTREAM} (its FaceXModel folder with {NEUTRAL_OBJ}, {INDEX_JSON} and the expression OBJ "
                     "files), or leave the folder out to use the head that ships with vividtalk.")


# ------------------------------------------------------------------------------------------------ OBJ checkout
_VERTEX_LINE = re.compile(rb"^v[ \t]+(\S+)[ \t]+(\S+)[ \t]+(\S+)", re.MULTILINE)
_UV_LINE = re.compile(rb"^vt[ \t]+(\S+)[ \t]+(\S+)", re.MULTILINE)


def read_checkout(folder: str | os.PathLike, identity_modes: int = 0) -> IctModel:
    """The model from a checkout's FaceXModel folder; ``identity_modes`` of its PCA identity OBJs (0: none)."""
    folder = Path(folder)
    try:
        index = json.loads((folder / INDEX_JSON).read_text(encoding="utf-8"))
        names = [str(n) for n in index["expressions"]]
        landmarks = np.asarray(index["idx_to_landmark_verts"], np.int64)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise InputError(f"'{folder / INDEX_JSON}' is not ICT-FaceKit's vertex index file ({e}).") from e
    if not names:
        raise InputError(f"'{folder / INDEX_JSON}' lists no expressions; it is not ICT-FaceKit's.")
    neutral = _read_obj_topology(folder / NEUTRAL_OBJ)
    vertices = neutral.pop("vertices")
    deltas = np.stack([_read_obj_vertices(folder / f"{name}.obj", len(vertices)) - vertices for name in names])
    identity = None
    if identity_modes:
        files = [folder / f"identity{k:03d}.obj" for k in range(identity_modes)]
        missing = [f.name for f in files if not f.is_file()]
        if missing:
            raise InputError(f"The checkout lacks the identity modes {', '.join(missing[:3])}….")
        identity = np.stack([_read_obj_vertices(f, len(vertices)) - vertices for f in files])
    if len(landmarks) != 68 or landmarks.min() < 0 or landmarks.max() >= len(vertices):
        raise InputError(f"'{folder / INDEX_JSON}' does not list 68 landmark vertices of this mesh.")
    model = IctModel(vertices=vertices.astype(np.float32), expression_names=names,
                     expression_deltas=deltas.astype(np.float32), landmarks68=landmarks, identity_deltas=identity,
                     source=f"ICT-FaceKit checkout {folder}", **neutral)
    _check(model, str(folder))
    return model


def _read_obj_vertices(path: Path, expected: int) -> np.ndarray:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InputError(f"Cannot read '{path}' from the ICT-FaceKit checkout: {e.strerror or e}.") from e
    try:
        vertices = np.array(_VERTEX_LINE.findall(data), dtype=np.float64)
    except ValueError as e:
        raise InputError(f"'{path}' holds vertex lines that are not numbers; the checkout is damaged.") from e
    if vertices.shape != (expected, 3):
        raise InputError(f"'{path}' has {len(vertices)} vertices, the neutral mesh {expected}: it does not belong "
                         "to this ICT-FaceKit checkout.")
    return vertices


def _read_obj_topology(path: Path) -> dict:
    """Vertices, polygons with their UV corners and materials, of the neutral OBJ."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InputError(f"Cannot read '{path}': {e.strerror or e}.") from e
    vertices = np.array(_VERTEX_LINE.findall(data), dtype=np.float64)
    uvs = np.array(_UV_LINE.findall(data), dtype=np.float64).reshape(-1, 2)
    materials: list[str] = []
    sizes, corners, uv_corners, face_materials = [], [], [], []
    current = -1
    for line in data.splitlines():
        if line.startswith(b"f "):
            refs = line.split()[1:]
            sizes.append(len(refs))
            face_materials.append(current)
            for ref in refs:
                parts = ref.split(b"/")
                corners.append(int(parts[0]) - 1)
                uv_corners.append(int(parts[1]) - 1 if len(parts) > 1 and parts[1] else -1)
        elif line.startswith(b"usemtl "):
            materials.append(line.split(None, 1)[1].strip().decode("utf-8", "replace"))
            current = len(materials) - 1
    if not len(vertices) or not sizes:
        raise InputError(f"'{path}' holds no mesh; the checkout is damaged.")
    return {"vertices": vertices, "uvs": uvs, "face_sizes": np.array(sizes, np.int64),
            "face_indices": np.array(corners, np.int64), "face_uv_indices": np.array(uv_corners, np.int64),
            "face_materials": np.maximum(np.array(face_materials, np.int64), 0), "material_names": materials or ["M"]}


# -------------------------------------------------------------------------------------------------------- npz
_OLDER_EXPORT_NAMES = {"vertices": "neutral_vertices", "face_indices": "face_vertex_indices",
                       "face_materials": "face_material", "landmarks68": "landmarks_multipie68"}
"""Array names in the older ``ict_arkit.npz`` export, where they differ from the shipped asset's."""


def read_npz(path: str | os.PathLike) -> IctModel:
    """The shipped asset, or the older ``ict_arkit.npz`` export of the same model."""
    z = load_arrays(path, "ICT-FaceKit head")
    asset = str(z.get("format", "")) == ASSET_FORMAT

    def get(name: str) -> np.ndarray:
        return z[name if asset else _OLDER_EXPORT_NAMES.get(name, name)]

    try:
        if asset and int(z["version"]) > ASSET_VERSION:
            raise InputError(f"'{path}' is head format version {int(z['version'])}; update vividtalk.")
        model = IctModel(
            vertices=get("vertices").astype(np.float32), face_sizes=get("face_sizes").astype(np.int64),
            face_indices=get("face_indices").astype(np.int64),
            face_uv_indices=get("face_uv_indices").astype(np.int64), uvs=get("uvs").astype(np.float32),
            face_materials=get("face_materials").astype(np.int64),
            material_names=[str(n) for n in get("material_names")],
            expression_names=[str(n) for n in get("expression_names")],
            expression_deltas=get("expression_deltas").astype(np.float32),
            landmarks68=get("landmarks68").astype(np.int64), identity_deltas=z.get("identity_deltas"),
            source=str(z.get("source", path)))
    except (KeyError, ValueError, TypeError) as e:
        raise InputError(f"'{path}' is not a complete ICT-FaceKit head ({e}).") from e
    require_finite({k: v for k, v in z.items() if k.endswith(("vertices", "deltas", "uvs"))}, str(path))
    _check(model, str(path))
    return model


def _check(model: IctModel, where: str) -> None:
    v = len(model.vertices)
    problems = []
    if int(model.face_sizes.sum()) != len(model.face_indices) or len(model.face_uv_indices) != len(
            model.face_indices):
        problems.append("its polygons do not add up")
    elif len(model.face_indices) and (model.face_indices.min() < 0 or model.face_indices.max() >= v):
        problems.append("a polygon uses a vertex that does not exist")
    if model.expression_deltas.shape != (len(model.expression_names), v, 3):
        problems.append("its expressions do not match the mesh")
    if len(model.face_materials) != len(model.face_sizes):
        problems.append("materials do not match the polygons")
    if problems:
        raise InputError(f"'{where}' is not a usable ICT-FaceKit head: {'; '.join(problems)}.")
