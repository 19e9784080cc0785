"""FLAME (Li et al. 2017) head models supplied by the user: loading, the ARKit mapping, parameter export.

FLAME's expression space is a PCA nobody can edit by hand. Here every ARKit channel becomes a fixed
expression vector (a column of C) plus, for jawOpen, a jaw rotation, so an animator edits ARKit curves and
the FLAME parameters ψ(t) = C·w(t), jaw(t) = θ·jawOpen(t) stay exact. C is solved once per model by least
squares against semantic targets transferred from a rig that has ARKit shapes (the built-in portrait rig
or ICT-FaceKit) through a dense correspondence after aligning the two faces.

Equations as in the paper (eq. 1-4): T_P = T̄ + B_S(β) + B_E(ψ) + B_P(θ); joints J(β) are regressed
from the shaped template without expressions; linear blend skinning about those joints.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree
from scipy.spatial.transform import Rotation

from ..errors import InputError
from ..io.npz import load_arrays, require_finite
from ..motion.arkit import ARKIT_NAMES
from .rig import FaceRig, euler_matrices, standard_drivers
from .safe_pickle import as_array, safe_load

FLAME_JOINTS = ("root", "neck", "jaw", "eye_L", "eye_R")  # FLAME's global, neck, jaw, left eye, right eye
N_SHAPE_FLAME = 300
"""FLAME 2020/2023 store 300 identity then 100 expression components in ``shapedirs``."""
DRIVER_ONLY = {f"eyeLook{d}{s}" for d in ("Up", "Down", "In", "Out") for s in ("Left", "Right")}
"""Gaze is FLAME's eye joints, not expressions."""
NO_FLAME_EXPRESSION = DRIVER_ONLY | {"tongueOut"}
"""Channels no FLAME expression carries: gaze (its eye joints) and the tongue (FLAME has none)."""
JAW_SEARCH_DEGREES = np.arange(0.0, 36.0, 1.0)


@dataclass
class FlameModel:
    v_template: np.ndarray  # (V, 3)
    faces: np.ndarray  # (F, 3)
    shapedirs: np.ndarray  # (V, 3, n_shape)
    exprdirs: np.ndarray  # (V, 3, n_expr)
    posedirs: np.ndarray  # (V, 3, 36)
    j_regressor: np.ndarray  # (5, V)
    parents: np.ndarray  # (5,)
    weights: np.ndarray  # (V, 5)
    source: str = ""

    @property
    def n_expr(self) -> int:
        return self.exprdirs.shape[2]

    def shaped(self, betas: np.ndarray | None = None) -> np.ndarray:
        if betas is None or not len(betas):
            return self.v_template.copy()
        b = np.asarray(betas, dtype=np.float64)[: self.shapedirs.shape[2]]
        return self.v_template + self.shapedirs[:, :, : len(b)] @ b


def load_flame(path: str | os.PathLike, n_shape: int | None = None) -> FlameModel:
    """A FLAME .pkl (2020, 2023, 2023 Open; chumpy not needed, no code run) or an .npz with the same keys."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"FLAME model '{p}' does not exist." if not p.exists() else f"'{p}' is not a file.")
    if p.suffix.lower() == ".npz":
        raw = load_arrays(p, "FLAME model")
    else:
        raw = safe_load(p)
        if not isinstance(raw, dict):
            raise InputError(f"'{p}' does not hold a FLAME model (expected a dictionary of arrays).")
    try:
        arrays = {k: as_array(raw[k]) for k in ("v_template", "f", "shapedirs", "posedirs", "J_regressor",
                                                   "kintree_table", "weights")}
    except KeyError as e:
        raise InputError(f"'{p}' is not a FLAME model: it has no '{e.args[0]}' array.") from e
    except (TypeError, ValueError) as e:
        raise InputError(f"'{p}' is not a usable FLAME model: {e}.") from e
    require_finite(arrays, str(p))
    v = arrays["v_template"].astype(np.float64)
    dirs = arrays["shapedirs"].astype(np.float64)
    if "n_shape" in raw:
        n_shape = int(as_array(raw["n_shape"]))
    n_shape = N_SHAPE_FLAME if n_shape is None else n_shape
    n_verts = len(v)
    checks = [
        (v.ndim == 2 and v.shape[1] == 3, "v_template must be (V, 3)"),
        (dirs.shape[:2] == (n_verts, 3) and dirs.shape[2] > n_shape, f"shapedirs must be (V, 3, >{n_shape}) with "
         "expression components after the identity ones"),
        (arrays["posedirs"].shape == (n_verts, 3, 36), "posedirs must be (V, 3, 36)"),
        (arrays["J_regressor"].shape == (5, n_verts), "J_regressor must be (5, V)"),
        (arrays["weights"].shape == (n_verts, 5), "weights must be (V, 5)"),
        (arrays["kintree_table"].shape == (2, 5), "kintree_table must be (2, 5)"),
        (arrays["f"].ndim == 2 and arrays["f"].shape[1] == 3 and arrays["f"].min() >= 0
         and arrays["f"].max() < n_verts, "f must be triangles on the template's vertices"),
    ]
    bad = [msg for ok, msg in checks if not ok]
    if bad:
        raise InputError(f"'{p}' is not a usable FLAME model: " + "; ".join(bad) + ".")
    parents = arrays["kintree_table"][0].astype(np.int64)
    parents[parents > 4] = -1  # the root's parent is stored as 2**32 - 1
    parents[0] = -1
    return FlameModel(v, arrays["f"].astype(np.int64), dirs[:, :, :n_shape], dirs[:, :, n_shape:],
                      arrays["posedirs"].astype(np.float64), arrays["J_regressor"].astype(np.float64), parents,
                      arrays["weights"].astype(np.float64), str(p))


def flame_rig(model: FlameModel, arkit: ArkitMapping | None = None, betas: np.ndarray | None = None) -> FaceRig:
    """The FLAME head as a FaceRig: ARKit shapes = expression vectors (if a mapping is given), FLAME joints,
    weights and pose correctives, with jawOpen, gaze and head rotation driving the joints."""
    verts = model.shaped(betas)
    joints = model.j_regressor @ verts
    names, deltas = [], []
    if arkit is not None:
        for k, name in enumerate(arkit.channels):
            if np.any(arkit.matrix[:, k]):
                names.append(name)
                deltas.append(model.exprdirs @ arkit.matrix[:, k])
    corr = {FLAME_JOINTS[j]: np.moveaxis(model.posedirs[:, :, 9 * (j - 1): 9 * j], 2, 0).astype(np.float32)
            for j in range(1, 5)}
    rig = FaceRig(
        name="FLAMEHead", vertices=verts, face_sizes=np.full(len(model.faces), 3, np.uint8),
        face_indices=model.faces.ravel(), shape_names=names,
        shape_deltas=np.array(deltas, np.float32).reshape(len(names), len(verts), 3),
        joint_names=list(FLAME_JOINTS), joint_parents=model.parents, joint_positions=joints,
        weights=model.weights.astype(np.float32),
        drivers=standard_drivers(arkit.jaw_degrees if arkit else 0.0, head_joint="root"), correctives=corr,
        landmarks={"nose_tip": int(np.argmax(verts[:, 2]))},
        meta={"source": model.source, "kind": "flame"},
    )
    rig.validate()
    return rig


@dataclass
class ArkitMapping:
    """ψ = matrix · w for ARKit weights w (channel order ``channels``), plus jaw = jaw_degrees · jawOpen."""

    channels: tuple[str, ...]
    matrix: np.ndarray  # (n_expr, len(channels))
    jaw_degrees: float
    fit_error_mm: dict[str, float]  # RMS residual per channel over the transferred face region


def fit_arkit_mapping(model: FlameModel, source: FaceRig, betas: np.ndarray | None = None,
                      ridge: float = 1e-3) -> ArkitMapping:
    """Solve the ARKit -> FLAME expression matrix against ``source``'s shapes transferred onto the model."""
    base = flame_rig(model, None, betas)
    base.drivers = standard_drivers(1.0, head_joint="root")  # jawOpen value = jaw degrees, for the search
    target_pts = base.vertices
    src_neutral = source.evaluate({}, 1)[0].astype(np.float64)
    channels = [c for c in ARKIT_NAMES if c in source.channels_used() and c not in NO_FLAME_EXPRESSION]
    src_deltas = {c: source.evaluate({c: 1.0}, 1)[0].astype(np.float64) - src_neutral for c in channels}
    moving = np.zeros(len(src_neutral), bool)
    for d in src_deltas.values():
        moving |= np.linalg.norm(d, axis=1) > 1e-4
    scale, rot, trans = align_faces(src_neutral[moving], target_pts, source_nose=src_neutral[
        source.landmarks["nose_tip"]] if "nose_tip" in source.landmarks else None)
    aligned = (scale * src_neutral[moving] @ rot.T) + trans
    weights, idx, valid = _transfer_weights(aligned, target_pts)

    e = model.exprdirs[valid].reshape(-1, model.n_expr)
    gram = e.T @ e
    gram += ridge * np.trace(gram) / len(gram) * np.eye(len(gram))
    solve = np.linalg.inv(gram) @ e.T
    matrix = np.zeros((model.n_expr, len(ARKIT_NAMES)))
    errors, jaw_degrees = {}, 0.0
    for c in channels:
        moved = (scale * src_deltas[c][moving] @ rot.T)[idx]  # (V, k, 3)
        target = (weights[..., None] * moved).sum(1)[valid]
        if c == "jawOpen":
            jaw_degrees, target = _best_jaw(base, target, valid, e, solve)
        psi = solve @ target.ravel()
        matrix[:, ARKIT_NAMES.index(c)] = psi
        errors[c] = float(np.sqrt(((e @ psi - target.ravel()) ** 2).reshape(-1, 3).sum(1).mean()) * 1000)
    return ArkitMapping(ARKIT_NAMES, matrix, jaw_degrees, errors)


def _best_jaw(base: FaceRig, target: np.ndarray, valid: np.ndarray, e: np.ndarray, solve: np.ndarray):
    """The jaw angle whose rotation, topped up by expressions, best reproduces the jawOpen target."""
    frames = base.evaluate({"jawOpen": JAW_SEARCH_DEGREES}, len(JAW_SEARCH_DEGREES))
    tried = []
    neutral = base.vertices[valid]
    for deg, verts in zip(JAW_SEARCH_DEGREES, frames, strict=True):
        rest = target - (verts[valid] - neutral)
        psi = solve @ rest.ravel()
        tried.append((float(((e @ psi - rest.ravel()) ** 2).sum()), float(deg), rest))
    _, deg, rest = min(tried, key=lambda t: t[0])  # the first of equals, as the search goes
    return deg, rest


def align_faces(src: np.ndarray, dst: np.ndarray, source_nose: np.ndarray | None = None,
                iterations: int = 40) -> tuple[float, np.ndarray, np.ndarray]:
    """Similarity (scale, rotation, translation) taking face points ``src`` onto the surface points ``dst``.

    Both faces look down +Z in metres; start by matching nose tips, then iterate closest points (ICP),
    dropping pairs further apart than the current median so the back of the head never attracts the face.
    """
    dst_nose = dst[np.argmax(dst[:, 2])]
    nose = source_nose if source_nose is not None else src[np.argmax(src[:, 2])]
    scale, rot, trans = 1.0, np.eye(3), dst_nose - nose
    tree = cKDTree(dst)
    for _ in range(iterations):
        moved = scale * src @ rot.T + trans
        dist, nn = tree.query(moved)
        keep = dist <= max(np.median(dist) * 2.5, 1e-4)
        scale, rot, trans = similarity_transform(src[keep], dst[nn[keep]])
    return scale, rot, trans


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Scale, rotation and translation mapping points ``src`` onto ``dst`` in least squares (Umeyama)."""
    ms, md = src.mean(0), dst.mean(0)
    a, b = src - ms, dst - md
    u, sig, vt = np.linalg.svd(b.T @ a)
    fix = np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt))])
    rot = u @ fix @ vt
    scale = float((sig * np.diag(fix)).sum() / (a**2).sum())
    return scale, rot, md - scale * rot @ ms


def _transfer_weights(src: np.ndarray, dst: np.ndarray, k: int = 4, reach_m: float = 0.006):
    """Inverse-distance weights of the k nearest source points for every target vertex; only targets within
    ``reach_m`` of the source surface take part (they are the face region both models share)."""
    dist, idx = cKDTree(src).query(dst, k=k)
    w = 1.0 / np.maximum(dist, 1e-6) ** 2
    w /= w.sum(1, keepdims=True)
    return w, idx, dist[:, 0] < reach_m


def flame_forward(model: FlameModel, betas: np.ndarray | None, expression: np.ndarray,
                  pose: np.ndarray) -> np.ndarray:
    """Vertices (T, V, 3) from FLAME parameters: expression (T, n) and axis-angle pose (T, 5, 3) in FLAME's
    joint order (global, neck, jaw, left eye, right eye)."""
    rig = flame_rig(model, None, betas)
    n = expression.shape[1]
    rig.shape_names = [f"expression{i:03d}" for i in range(n)]
    rig.shape_deltas = np.moveaxis(model.exprdirs[:, :, :n], 2, 0).astype(np.float32)
    rot = Rotation.from_rotvec(pose.reshape(-1, 3)).as_matrix().reshape(len(pose), 5, 3, 3)
    return rig.pose(expression, rot)


def params_from_channels(mapping: ArkitMapping, channels: dict[str, np.ndarray], n_frames: int,
                         rig: FaceRig) -> dict[str, np.ndarray]:
    """Per-frame FLAME parameters in the usual research layout from ARKit channels and head rotation."""
    w = np.zeros((n_frames, len(mapping.channels)))
    for k, name in enumerate(mapping.channels):
        if name in channels:
            w[:, k] = np.asarray(channels[name], dtype=np.float64)[:n_frames]
    eul = rig.joint_eulers(channels, n_frames)
    aa = {j: Rotation.from_matrix(euler_matrices(eul[:, rig.joint_names.index(j)])).as_rotvec()
          for j in FLAME_JOINTS}
    return {
        "expression": w @ mapping.matrix.T, "jaw_pose": aa["jaw"], "neck_pose": aa["neck"],
        "global_pose": aa["root"], "eye_pose": np.hstack([aa["eye_L"], aa["eye_R"]]),
    }
