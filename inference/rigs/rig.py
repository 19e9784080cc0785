"""A face rig as plain data, and its evaluation over many frames at once.

Rig space: metres, X = the character's left, Y up, Z = where the face looks (the ICT-FaceKit and FLAME
convention). Blender's axes are (x, -z, y) of these.

A rig turns motion-clip channels into vertices in three linear steps, the same ones Blender runs:
blendshapes (``neutral + Σ w·delta``), pose correctives (FLAME-style, linear in the entries of R − I),
then linear blend skinning. Joint rotations come from channels through ``JointDriver`` rows, so one
editable curve (say jawOpen) can both rotate the jaw joint and drive its corrective shapes.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from threadpoolctl import ThreadpoolController

from ..contract import file_format
from ..cores import usable_cores
from ..errors import InputError
from ..geometry.pinhole import project
from ..io.npz import read_npz, write_npz

JOINT_NAMES = ("root", "neck", "head", "jaw", "eye_L", "eye_R")

RIG_FORMAT, RIG_VERSION = file_format("rig")


@dataclass(frozen=True)
class JointDriver:
    """``joint`` rotates about rig-space ``axis`` (0 = X, 1 = Y, 2 = Z) by ``degrees`` per unit of ``channel``."""

    channel: str
    joint: str
    axis: int
    degrees: float


@dataclass
class FaceRig:
    """Neutral mesh, named blendshapes, joints with skin weights, and how channels drive the joints."""

    name: str
    vertices: np.ndarray  # (V, 3) float64, metres
    face_sizes: np.ndarray  # (F,) corners per polygon
    face_indices: np.ndarray  # (sum(face_sizes),) vertex index per corner
    shape_names: list[str]
    shape_deltas: np.ndarray  # (S, V, 3) float32, metres
    joint_names: list[str]
    joint_parents: np.ndarray  # (J,) int, -1 for the root
    joint_positions: np.ndarray  # (J, 3) rest pivots, metres
    weights: np.ndarray  # (V, J) float32, rows sum to 1
    drivers: list[JointDriver] = field(default_factory=list)
    uvs: np.ndarray | None = None  # (sum(face_sizes), 2) one UV per corner
    correctives: dict[str, np.ndarray] = field(default_factory=dict)  # joint -> (9, V, 3): Σ (R - I)_k · D_k
    texture: np.ndarray | None = None  # (H, W, 3) uint8 RGB image the UVs point into
    photo_vertices: np.ndarray | None = None  # (V, 3) the face as photographed (portrait rigs)
    landmarks: dict[str, int] = field(default_factory=dict)  # semantic point -> vertex index
    meta: dict[str, str] = field(default_factory=dict)
    face_materials: np.ndarray | None = None  # (F,) index into material_names: skin, teeth, eyes, ...
    material_names: list[str] = field(default_factory=list)
    material_colours: np.ndarray | None = None  # (M, 3) each material's base colour in full light, linear RGB
    photo_pose: np.ndarray | None = None  # (3, 4) [R | t]: rig metres -> the photo's camera (it looks down -Z)
    photo_intrinsics: np.ndarray | None = None  # (3,) focal length in pixels, image width, image height

    # ---- structure -------------------------------------------------------------------------------------
    @property
    def n_vertices(self) -> int:
        return len(self.vertices)

    def polygons(self) -> list[np.ndarray]:
        """The polygons as a list of vertex-index arrays (for building meshes elsewhere)."""
        return np.split(self.face_indices, np.cumsum(self.face_sizes)[:-1])

    def shape(self, name: str) -> np.ndarray:
        return self.shape_deltas[self.shape_names.index(name)]

    def photo_pixels(self, points: np.ndarray) -> np.ndarray:
        """Where rig-space points (..., 3) in metres are in the photo the rig was fitted to (pixels (..., 2)),
        for a head fitted to a photo (``photo_pose``); usually its ``photo_vertices``, posed as photographed."""
        if self.photo_pose is None or self.photo_intrinsics is None:
            raise ValueError(f"Rig '{self.name}' was not fitted to a photo.")
        camera = np.asarray(points, np.float64) @ self.photo_pose[:, :3].T + self.photo_pose[:, 3]
        focal, width, height = self.photo_intrinsics
        return project(camera, focal, (width, height))

    def channels_used(self) -> set[str]:
        """Every clip channel this rig reacts to (blendshape names plus driver channels)."""
        return set(self.shape_names) | {d.channel for d in self.drivers}

    def validate(self) -> None:
        v, s, j = self.n_vertices, len(self.shape_names), len(self.joint_names)
        problems = []
        if self.vertices.shape != (v, 3):
            problems.append("vertices must be (V, 3)")
        if int(self.face_sizes.sum()) != len(self.face_indices):
            problems.append("face_sizes do not add up to face_indices")
        if len(self.face_indices) and (self.face_indices.min() < 0 or self.face_indices.max() >= v):
            problems.append("a face uses a vertex that does not exist")
        if self.shape_deltas.shape != (s, v, 3):
            problems.append(f"shape_deltas must be ({s}, {v}, 3)")
        if self.weights.shape != (v, j) or not np.allclose(self.weights.sum(1), 1, atol=1e-4):
            problems.append("weights must be (V, J) with rows summing to 1")
        if self.joint_positions.shape != (j, 3) or len(self.joint_parents) != j:
            problems.append("joint positions/parents do not match the joint names")
        if any(p >= i for i, p in enumerate(self.joint_parents)):
            problems.append("joints must come after their parents")
        for d in self.drivers:
            if d.joint not in self.joint_names or d.axis not in (0, 1, 2):
                problems.append(f"driver {d} names an unknown joint or axis")
        for joint, c in self.correctives.items():
            if joint not in self.joint_names or c.shape != (9, v, 3):
                problems.append(f"correctives for '{joint}' must be (9, V, 3) on a known joint")
        if self.uvs is not None and self.uvs.shape != (len(self.face_indices), 2):
            problems.append("uvs must have one row per face corner")
        if self.texture is not None and not (
                self.texture.ndim == 3 and self.texture.shape[2] == 3 and self.texture.dtype == np.uint8
                and min(self.texture.shape[:2]) >= 32):
            problems.append("texture must be an RGB picture (H, W, 3) of bytes, at least 32 pixels a side")
        if self.face_materials is not None and (
                self.face_materials.shape != self.face_sizes.shape or (len(self.face_materials) and (
                    self.face_materials.min() < 0 or self.face_materials.max() >= len(self.material_names)))):
            problems.append("face_materials must name one of material_names for every polygon")
        if self.material_colours is not None and (
                self.material_colours.shape != (len(self.material_names), 3)
                or not np.all(np.isfinite(self.material_colours)) or np.any(self.material_colours < 0)):
            problems.append("material_colours must be one non-negative RGB per material")
        if self.photo_vertices is not None and self.photo_vertices.shape != (v, 3):
            problems.append(f"photo_vertices must be ({v}, 3)")
        pose, intrinsics = self.photo_pose, self.photo_intrinsics
        if (pose is None) != (intrinsics is None) or (pose is not None and intrinsics is not None and (
                pose.shape != (3, 4) or intrinsics.shape != (3,))):
            problems.append("photo_pose (3, 4) and photo_intrinsics (3,) come together")
        if any(not 0 <= i < v for i in self.landmarks.values()):
            problems.append("a landmark names a vertex that does not exist")
        numbers = {"vertices": self.vertices, "shape_deltas": self.shape_deltas, "weights": self.weights,
                   "joint_positions": self.joint_positions,
                   **{f"corrective:{j}": c for j, c in self.correctives.items()}}
        numbers |= {k: getattr(self, k) for k in ("uvs", "photo_vertices", "photo_pose", "photo_intrinsics")
                    if getattr(self, k) is not None}
        problems += [f"{k} holds NaN or infinity" for k, a in numbers.items() if not np.isfinite(a).all()]
        if problems:
            raise InputError(f"Rig '{self.name}' is inconsistent: " + "; ".join(problems) + ".")

    # ---- evaluation ------------------------------------------------------------------------------------
    def joint_eulers(self, channels: Mapping[str, np.ndarray | float], n_frames: int) -> np.ndarray:
        """(T, J, 3) rotation angles in radians about rig X, Y, Z for each joint, from the drivers."""
        eul = np.zeros((n_frames, len(self.joint_names), 3))
        for d in self.drivers:
            if d.channel in channels:
                eul[:, self.joint_names.index(d.joint), d.axis] += np.radians(d.degrees) * _frames(
                    channels[d.channel], n_frames)
        return eul

    def evaluate(self, channels: Mapping[str, np.ndarray | float], n_frames: int | None = None,
                 chunk: int = 32, out: np.ndarray | None = None) -> np.ndarray:
        """Vertices (T, V, 3) for per-frame channel values (missing channels are 0, scalars are held).

        ``channels`` holds blendshape weights by shape name and driver inputs by channel name (for a
        motion clip use ``clip_channels(clip)``). ``out``, a float32 (T, V, 3) array, is filled instead of a new
        one: callers that evaluate a long clip piece by piece reuse one buffer rather than have the system map
        fresh memory for every piece (on a full head that costs more than the evaluation itself).
        """
        if n_frames is None:
            lengths = [np.size(a) for a in channels.values() if np.ndim(a)]
            n_frames = max(lengths) if lengths else 1
        w = np.zeros((n_frames, len(self.shape_names)), np.float32)
        for i, name in enumerate(self.shape_names):
            if name in channels:
                w[:, i] = _frames(channels[name], n_frames)
        return self.pose(w, euler_matrices(self.joint_eulers(channels, n_frames)), chunk, out)

    def pose(self, shape_weights: np.ndarray, local_rot: np.ndarray, chunk: int = 32,
             out: np.ndarray | None = None) -> np.ndarray:
        """Vertices (T, V, 3) from blendshape weights (T, S) and joint rotations (T, J, 3, 3)."""
        n_frames = len(shape_weights)
        if out is None:
            out = np.empty((n_frames, self.n_vertices, 3), np.float32)
        elif out.shape != (n_frames, self.n_vertices, 3) or out.dtype != np.float32:
            raise ValueError(f"out must be float32 {(n_frames, self.n_vertices, 3)}, not {out.dtype} {out.shape}")
        plan = self._evaluation_plan()
        w = np.hstack([np.ones((n_frames, 1), np.float32), shape_weights.astype(np.float32)])

        def piece(a: int) -> None:
            b = min(n_frames, a + chunk)
            rot = local_rot[a:b]
            correctives = None
            for joint, deltas in self.correctives.items():
                k = self.joint_names.index(joint)
                feat = (rot[:, k] - np.eye(3)).reshape(b - a, 9).astype(np.float32)
                part = (feat @ deltas.reshape(9, -1)).reshape(b - a, -1, 3)
                correctives = part if correctives is None else correctives + part
            plan.evaluate(w[a:b], correctives, world_transforms(rot, self.joint_parents, self.joint_positions),
                          out[a:b])

        starts = range(0, n_frames, chunk)
        if len(starts) > 1 and usable_cores() > 1:
            # pieces side by side, BLAS on one thread in each: much of the work is small matrix products
            # NumPy runs on one core, and BLAS threads on top of ours would fight over the same cores
            with _blas_threads().limit(limits=1, user_api="blas"):
                list(_evaluation_workers().map(piece, starts))
        else:
            for a in starts:
                piece(a)
        return out

    def _evaluation_plan(self) -> _EvaluationPlan:
        """The rig rearranged for fast evaluation, made once (and again if the arrays it comes from are replaced)."""
        key = (id(self.vertices), id(self.shape_deltas), id(self.weights))
        plan = self.__dict__.get("_plan")
        if plan is None or plan.key != key:
            plan = self.__dict__["_plan"] = _EvaluationPlan.of(self, key)
        return plan

    # ---- storage ---------------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """An .npz without pickles (written atomically), readable with ``FaceRig.load``."""
        arrays = {
            "format": np.array(RIG_FORMAT), "version": np.array(RIG_VERSION), "name": np.array(self.name),
            "vertices": self.vertices, "face_sizes": self.face_sizes, "face_indices": self.face_indices,
            "shape_names": np.array(self.shape_names, dtype=str), "shape_deltas": self.shape_deltas,
            "joint_names": np.array(self.joint_names, dtype=str), "joint_parents": self.joint_parents,
            "joint_positions": self.joint_positions, "weights": self.weights,
            "driver_channels": np.array([d.channel for d in self.drivers], dtype=str),
            "driver_joints": np.array([d.joint for d in self.drivers], dtype=str),
            "driver_axes": np.array([d.axis for d in self.drivers], dtype=np.int8),
            "driver_degrees": np.array([d.degrees for d in self.drivers], dtype=np.float64),
            "landmark_names": np.array(list(self.landmarks), dtype=str),
            "landmark_vertices": np.array(list(self.landmarks.values()), dtype=np.int64),
            "meta_keys": np.array(list(self.meta), dtype=str),
            "meta_values": np.array(list(self.meta.values()), dtype=str),
        }
        for key in ("uvs", "texture", "photo_vertices", "face_materials", "material_colours", "photo_pose",
                    "photo_intrinsics"):
            if getattr(self, key) is not None:
                arrays[key] = getattr(self, key)
        if self.face_materials is not None:
            arrays["material_names"] = np.array(self.material_names, dtype=str)
        for joint, deltas in self.correctives.items():
            arrays[f"corrective:{joint}"] = deltas
        write_npz(path, arrays)

    @classmethod
    def load(cls, path: str | os.PathLike) -> FaceRig:
        data = read_npz(path, "rig", RIG_FORMAT, RIG_VERSION, "make one with `vividtalk rig`")
        try:
            rig = cls(
                name=str(data["name"]), vertices=data["vertices"].astype(np.float64),
                face_sizes=data["face_sizes"], face_indices=data["face_indices"],
                shape_names=[str(s) for s in data["shape_names"]], shape_deltas=data["shape_deltas"],
                joint_names=[str(s) for s in data["joint_names"]], joint_parents=data["joint_parents"],
                joint_positions=data["joint_positions"], weights=data["weights"],
                drivers=[JointDriver(str(c), str(j), int(a), float(g)) for c, j, a, g in zip(
                    data["driver_channels"], data["driver_joints"], data["driver_axes"], data["driver_degrees"],
                    strict=True)],
                uvs=data.get("uvs"), texture=data.get("texture"), photo_vertices=data.get("photo_vertices"),
                face_materials=data.get("face_materials"),
                photo_pose=data.get("photo_pose"), photo_intrinsics=data.get("photo_intrinsics"),
                material_names=[str(s) for s in data.get("material_names", [])],
                material_colours=data.get("material_colours"),
                correctives={k.split(":", 1)[1]: v for k, v in data.items() if k.startswith("corrective:")},
                landmarks={str(k): int(v) for k, v in zip(data["landmark_names"], data["landmark_vertices"],
                                                          strict=True)},
                meta={str(k): str(v) for k, v in zip(data["meta_keys"], data["meta_values"], strict=True)},
            )
            rig.validate()
        except (KeyError, ValueError, TypeError, IndexError) as e:
            raise InputError(f"Rig file '{path}' is incomplete or damaged ({e}); rebuild it.") from e
        return rig


@dataclass
class _EvaluationPlan:
    """A rig's shapes and skin weights laid out for evaluating many frames with few, large array operations.

    Vertices are homogeneous (x, y, z, 1), so a joint's rotation and translation are one (4, 3) matrix product
    for row vectors. Skinning goes joint group by joint group, not through a blended matrix per vertex and
    frame (ten times the memory traffic): the joint most vertices hang on alone (the head) moves the whole mesh
    in one pass, the vertices that hang on another joint alone (jaw, eyes, neck) are moved again by theirs, and
    only the few with split weights are blended.
    """

    key: tuple[int, int, int]
    shapes: np.ndarray  # (1 + S, V * 4) float32: the neutral (with w = 1), then the deltas (w = 0)
    dominant: int
    rigid: list[tuple[int, np.ndarray]]  # (joint, vertices it carries alone) for the other joints
    blended: np.ndarray  # (n,) vertices with split weights
    blended_shapes: list[tuple[int, np.ndarray]]  # (joint, (1 + S, n * 4) their shapes times its weights)

    @classmethod
    def of(cls, rig: FaceRig, key: tuple[int, int, int]) -> _EvaluationPlan:
        v, s = rig.n_vertices, len(rig.shape_names)
        shapes = np.zeros((1 + s, v, 4), np.float32)
        shapes[0, :, :3], shapes[0, :, 3] = rig.vertices, 1.0
        shapes[1:, :, :3] = rig.shape_deltas
        weights = rig.weights.astype(np.float32)
        alone = weights == 1.0
        dominant = int(np.argmax(alone.sum(0)))
        rigid = [(j, np.flatnonzero(alone[:, j])) for j in range(weights.shape[1])
                 if j != dominant and alone[:, j].any()]
        blended = np.flatnonzero(~alone.any(1))
        # a joint's share folded into the shapes: its part of the blend is then a shape product and one matrix
        # product, with no per-vertex weighting pass
        blended_shapes = [(j, (shapes[:, blended] * weights[blended, j, None]).reshape(1 + s, -1))
                          for j in range(weights.shape[1]) if weights[blended, j].any()]
        return cls(key, shapes.reshape(1 + s, v * 4), dominant, rigid, blended, blended_shapes)

    def evaluate(self, shape_weights: np.ndarray, correctives: np.ndarray | None, world: np.ndarray,
                 out: np.ndarray) -> None:
        """Blendshapes, correctives and linear blend skinning into ``out`` (t, V, 3): ``shape_weights`` (t, 1 + S)
        with the neutral's 1 first, ``correctives`` (t, V, 3) or None, ``world`` transforms (t, J, 3, 4)."""
        t = len(shape_weights)
        verts = (shape_weights @ self.shapes).reshape(t, -1, 4)
        if correctives is not None:
            verts[..., :3] += correctives
        m = np.ascontiguousarray(world.transpose(0, 1, 3, 2), np.float32)  # (t, J, 4, 3), for row vectors
        np.matmul(verts, m[:, self.dominant], out=out)
        for j, carried in self.rigid:
            out[:, carried] = np.matmul(verts[:, carried], m[:, j])
        if len(self.blended):
            blend = None
            for j, shapes in self.blended_shapes:
                part = np.matmul((shape_weights @ shapes).reshape(t, -1, 4), m[:, j])
                if correctives is not None:  # the correctives are not in the folded shapes
                    part += np.matmul(correctives[:, self.blended], m[:, j, :3]) * shapes[0, 3::4, None]
                blend = part if blend is None else np.add(blend, part, out=blend)
            out[:, self.blended] = blend


@functools.cache
def _blas_threads() -> ThreadpoolController:
    return ThreadpoolController()  # finding the loaded BLAS libraries once, not on every evaluation


@functools.cache
def _evaluation_workers() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(usable_cores(), thread_name_prefix="vividtalk-rig")


def _frames(values: np.ndarray | float, n_frames: int) -> np.ndarray:
    a = np.asarray(values, dtype=np.float64)
    if a.ndim == 0:
        return np.full(n_frames, float(a))
    if len(a) >= n_frames:
        return a[:n_frames]
    return np.concatenate([a, np.full(n_frames - len(a), a[-1] if len(a) else 0.0)])


def euler_matrices(eul: np.ndarray) -> np.ndarray:
    """Rotation matrices R = Rz·Ry·Rx (Blender's 'XYZ' Euler order) for angles (..., 3) in radians."""
    cx, cy, cz = np.cos(eul[..., 0]), np.cos(eul[..., 1]), np.cos(eul[..., 2])
    sx, sy, sz = np.sin(eul[..., 0]), np.sin(eul[..., 1]), np.sin(eul[..., 2])
    r = np.empty((*eul.shape[:-1], 3, 3))
    r[..., 0, 0] = cy * cz
    r[..., 0, 1] = sx * sy * cz - cx * sz
    r[..., 0, 2] = cx * sy * cz + sx * sz
    r[..., 1, 0] = cy * sz
    r[..., 1, 1] = sx * sy * sz + cx * cz
    r[..., 1, 2] = cx * sy * sz - sx * cz
    r[..., 2, 0] = -sy
    r[..., 2, 1] = sx * cy
    r[..., 2, 2] = cx * cy
    return r


def euler_angles(r: np.ndarray) -> np.ndarray:
    """Angles (x, y, z) in radians of R = Rz·Ry·Rx: the inverse of ``euler_matrices``."""
    y = np.arcsin(np.clip(-r[2, 0], -1.0, 1.0))
    x = np.arctan2(r[2, 1], r[2, 2])
    z = np.arctan2(r[1, 0], r[0, 0])
    return np.array([x, y, z])


def world_transforms(local_rot: np.ndarray, parents: np.ndarray, pivots: np.ndarray) -> np.ndarray:
    """(t, J, 3, 4) rest-relative world transforms: each joint rotates about its pivot, after its parent."""
    t, j = local_rot.shape[:2]
    g = np.zeros((t, j, 3, 4))
    for k in range(j):
        rot = local_rot[:, k]
        trans = pivots[k] - rot @ pivots[k]  # rotate about the pivot: x -> R (x - p) + p
        if parents[k] < 0:
            g[:, k, :, :3], g[:, k, :, 3] = rot, trans
        else:
            pr, pt = g[:, parents[k], :, :3], g[:, parents[k], :, 3]
            g[:, k, :, :3] = pr @ rot
            g[:, k, :, 3] = np.einsum("tab,tb->ta", pr, trans) + pt
    return g


def standard_drivers(jaw_degrees: float, eye_degrees: tuple[float, float] = (25.0, 30.0),
                     head_joint: str = "head") -> list[JointDriver]:
    """Head rotation from the clip's head.* channels, the jaw from jawOpen, the eyes from eyeLook*.

    Signs follow rig space: +X rotation nods down / opens the jaw, +Y turns to the character's left,
    and roll + tilts toward the left shoulder, which is -Z. ``eye_degrees`` is (vertical, horizontal)
    at a channel value of 1.
    """
    up, side = eye_degrees
    drivers = [JointDriver("head.pitch", head_joint, 0, 1.0), JointDriver("head.yaw", head_joint, 1, 1.0),
               JointDriver("head.roll", head_joint, 2, -1.0), JointDriver("jawOpen", "jaw", 0, jaw_degrees)]
    for s, name in (("L", "Left"), ("R", "Right")):
        outward = 1.0 if s == "L" else -1.0  # looking out turns the left eye toward +X, the right toward -X
        drivers += [JointDriver(f"eyeLookUp{name}", f"eye_{s}", 0, -up),
                    JointDriver(f"eyeLookDown{name}", f"eye_{s}", 0, up),
                    JointDriver(f"eyeLookOut{name}", f"eye_{s}", 1, side * outward),
                    JointDriver(f"eyeLookIn{name}", f"eye_{s}", 1, -side * outward)]
    return drivers


def clip_channels(clip) -> dict[str, np.ndarray]:
    """A motion clip's channels in the form ``FaceRig.evaluate`` takes (head rotation as head.* drivers)."""
    channels = dict(clip.channels)
    for axis, values in clip.head.items():
        channels[f"head.{axis}"] = values
    return channels
