"""FLAME-format model files made by the tests themselves (FLAME's own files are licence-restricted).

``ict_flame_arrays`` turns the ICT-FaceKit face into a FLAME-layout model: a PCA of its 53 expressions as
the expression space, smooth random identity directions, a jaw joint at the temporomandibular joint
skinned by how far ICT's jawOpen moves each vertex, and random pose correctives. ``ellipsoid_flame_arrays``
is a small stand-in when ../shared is absent. ``write_flame_pkl`` writes the file the way FLAME's are
written: arrays wrapped in chumpy objects and a scipy sparse J_regressor (chumpy is faked for pickling).
"""

from __future__ import annotations

import copyreg
import pickle
import sys
import types
from pathlib import Path

import numpy as np
import scipy.sparse
from scipy.spatial import Delaunay

N_SHAPE, N_EXPR = 300, 100


def _joint_regressor(verts: np.ndarray, joints: np.ndarray, n: int = 12) -> np.ndarray:
    """Rows of affine weights over the n nearest vertices reproducing each joint exactly on the template
    (minimum-norm solution, like FLAME's regressor: joints follow the identity shape)."""
    reg = np.zeros((len(joints), len(verts)))
    for j, p in enumerate(joints):
        near = np.argsort(np.linalg.norm(verts - p, axis=1))[:n]
        a = np.vstack([verts[near].T, np.ones(n)])
        reg[j, near] = np.linalg.lstsq(a, np.append(p, 1.0), rcond=None)[0]
    return reg


def _finish(verts, faces, exprdirs, jaw_weight, joints, rng) -> dict[str, np.ndarray]:
    v = len(verts)
    shapedirs = np.zeros((v, 3, N_SHAPE + N_EXPR))
    for i in range(N_SHAPE):  # smooth identity fields, ~1 mm per unit
        k = rng.normal(size=(3, 3)) * 20
        shapedirs[:, :, i] = 1e-3 / (1 + i / 20) * np.sin(verts @ k + rng.uniform(0, 6, 3))
    shapedirs[:, :, N_SHAPE:] = exprdirs
    weights = np.zeros((v, 5))
    neck = np.clip((verts[:, 1] - joints[1, 1] - 0.02) / -0.04, 0, 1)
    weights[:, 2] = jaw_weight * (1 - neck)
    weights[:, 1] = neck
    weights[:, 0] = 1 - weights.sum(1)
    return {
        "v_template": verts, "f": faces, "shapedirs": shapedirs,
        "posedirs": rng.normal(scale=2e-4, size=(v, 3, 36)), "J_regressor": _joint_regressor(verts, joints),
        "kintree_table": np.array([[2**32 - 1, 0, 1, 1, 1], [0, 1, 2, 3, 4]], dtype=np.uint32),
        "weights": weights, "bs_style": "lbs", "bs_type": "lrotmin",
    }


def ict_flame_arrays(ict_npz: Path, seed: int = 0, step: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    with np.load(ict_npz) as z:
        face_end = int(z["region_vertex_ranges"][0][1]) + 1
        keep = np.arange(0, face_end, step)
        verts = z["neutral_vertices"][keep].astype(np.float64) / 100.0
        deltas = z["expression_deltas"][:, keep].astype(np.float64) / 100.0
        jaw = np.linalg.norm(z["expression_deltas"][list(z["expression_names"]).index("jawOpen")][keep], axis=1)
    faces = Delaunay(verts[:, :2]).simplices.astype(np.int64)
    flat = deltas.reshape(len(deltas), -1)
    _, sing, vt = np.linalg.svd(flat, full_matrices=False)
    exprdirs = np.zeros((len(verts), 3, N_EXPR))
    comps = (vt * (sing[:, None] / np.sqrt(len(deltas))))[: min(N_EXPR, len(sing))]
    exprdirs[:, :, : len(comps)] = np.moveaxis(comps.reshape(len(comps), -1, 3), 0, 2)
    joints = np.array([[0, -0.12, -0.02], [0, -0.06, -0.015], [0, 0.005, 0.03], [0.032, 0.036, 0.072],
                       [-0.032, 0.036, 0.072]])
    return _finish(verts, faces, exprdirs, np.clip(jaw / jaw.max() * 1.5, 0, 1), joints, rng)


def ellipsoid_flame_arrays(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    u, v = np.meshgrid(np.linspace(-1.2, 1.2, 24), np.linspace(-1.3, 1.3, 28))
    verts = np.column_stack([0.07 * np.sin(u.ravel()), 0.1 * np.sin(v.ravel()),
                             0.09 * np.cos(u.ravel()) * np.cos(v.ravel())])
    faces = Delaunay(np.column_stack([u.ravel(), v.ravel()])).simplices.astype(np.int64)
    exprdirs = rng.normal(scale=2e-3, size=(len(verts), 3, N_EXPR)) * (verts[:, 1:2, None] < 0)
    joints = np.array([[0, -0.12, -0.02], [0, -0.06, -0.015], [0, 0.0, 0.0], [0.03, 0.03, 0.05],
                       [-0.03, 0.03, 0.05]])
    return _finish(verts, faces, exprdirs, (verts[:, 1] < -0.02).astype(float), joints, rng)


class _Ch:
    """Pickles like chumpy.ch.Ch: state {'x': array}, no chumpy needed to write or to read it back."""

    def __init__(self, x):
        self.x = x

    def __reduce__(self):
        return copyreg._reconstructor, (type(self), object, None), {"x": self.x}


def write_flame_pkl(arrays: dict, path: Path) -> Path:
    fake = types.ModuleType("chumpy.ch")
    _Ch.__module__, _Ch.__qualname__, fake.Ch = "chumpy.ch", "Ch", _Ch
    wrapped = dict(arrays)
    for key in ("v_template", "shapedirs", "posedirs", "weights"):
        wrapped[key] = _Ch(arrays[key])
    wrapped["J_regressor"] = scipy.sparse.csc_matrix(arrays["J_regressor"])
    saved = {name: sys.modules.get(name) for name in ("chumpy", "chumpy.ch")}
    sys.modules["chumpy"], sys.modules["chumpy.ch"] = types.ModuleType("chumpy"), fake
    try:
        path.write_bytes(pickle.dumps(wrapped, protocol=2))
    finally:
        for name, mod in saved.items():
            if mod is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = mod
    return path
