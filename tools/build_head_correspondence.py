"""Build the MediaPipe -> ICT-FaceKit correspondence (``blender_assets/mediapipe_to_ict.npz``) from portraits.

    python tools/build_head_correspondence.py PHOTO [PHOTO ...]

For each photo: MediaPipe's 468 face points in metric 3-D (scale from the iris), aligned to the shipped ICT head
on the 51 landmarks both share (iBUG-68), then three rounds of: fit the head in 3-D (identity modes and the 53
expressions, bounded, ridge-regularised) to the points that correspond so far; put every MediaPipe point on the
nearest point of the fitted head's face. Lip and lid points may only land where they belong: upper-lip points on
triangles jawOpen barely moves, lower-lip points on those it moves, upper-lid points on triangles eyeBlink moves,
lower-lid points on the rest. Each photo's points are carried to the neutral head (barycentric coordinates do
not depend on identity or expression), averaged over the photos, and put back on the neutral face: one
(triangle, barycentric) row per MediaPipe point. The iris centres sit on the front of the eyeballs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import lsq_linear

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from inference.io.images import load_rgb  # noqa: E402
from inference.rigs import mediapipe_topology as mt  # noqa: E402
from inference.rigs.flame import similarity_transform  # noqa: E402
from inference.rigs.head_fit import CORRESPONDENCE_NAME, IRIS_CENTRES, Correspondence  # noqa: E402
from inference.rigs.head_texture import fan_triangles  # noqa: E402
from inference.rigs.ict import builtin_head_path  # noqa: E402
from inference.rigs.ict_model import PART_VERTEX_RANGES, IctModel, read_npz  # noqa: E402
from inference.rigs.landmarks import detect_landmarks  # noqa: E402

ROUNDS = 3
RIDGE = 1e-3
FACE_POINTS = np.arange(468)


def triangles(model: IctModel) -> np.ndarray:
    """The face part's polygons as triangles (quads split along one diagonal)."""
    a, b = PART_VERTEX_RANGES["face"]
    tris, _, polygon = fan_triangles(model.face_sizes, model.face_indices)
    starts = np.concatenate([[0], np.cumsum(model.face_sizes)[:-1]])
    on_face = (np.minimum.reduceat(model.face_indices, starts) >= a) & (
        np.maximum.reduceat(model.face_indices, starts) <= b)
    return tris[on_face[polygon]]


def closest_on_triangles(p: np.ndarray, tri: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Closest points (T, 3) on triangles (T, 3, 3) to the point p, and their barycentric coordinates (T, 3)."""
    a, b, c = tri[:, 0], tri[:, 1], tri[:, 2]
    ab, ac = b - a, c - a
    n = np.cross(ab, ac)
    nn = np.maximum((n * n).sum(1), 1e-18)
    # project onto the plane, then clamp barycentrics by testing the edges
    q = p - ((p - a) * n).sum(1, keepdims=True) / nn[:, None] * n
    v0, v1, v2 = ab, ac, q - a
    d00, d01, d11 = (v0 * v0).sum(1), (v0 * v1).sum(1), (v1 * v1).sum(1)
    d20, d21 = (v2 * v0).sum(1), (v2 * v1).sum(1)
    den = np.maximum(d00 * d11 - d01 * d01, 1e-18)
    v = (d11 * d20 - d01 * d21) / den
    w = (d00 * d21 - d01 * d20) / den
    bary = np.column_stack([1 - v - w, v, w])
    inside = (bary >= 0).all(1)
    best = bary.copy()
    best_d = np.where(inside, 0.0, np.inf)
    for i, j in ((0, 1), (1, 2), (2, 0)):  # outside: the nearest point on each edge
        e0, e1 = tri[:, i], tri[:, j]
        t = np.clip(((p - e0) * (e1 - e0)).sum(1) / np.maximum(((e1 - e0) ** 2).sum(1), 1e-18), 0, 1)
        point = e0 + t[:, None] * (e1 - e0)
        d = ((p - point) ** 2).sum(1)
        better = ~inside & (d < best_d)
        edge_bary = np.zeros((len(tri), 3))
        edge_bary[:, i], edge_bary[:, j] = 1 - t, t
        best[better], best_d[better] = edge_bary[better], d[better]
    return np.einsum("tk,tkc->tc", best, tri), best


def allowed_triangles(model: IctModel, tris: np.ndarray) -> dict[int, np.ndarray]:
    """Where lip and lid points may land (masks over ``tris``), by how the artist shapes move the triangles."""
    motion = lambda name: np.linalg.norm(model.expression_deltas[model.expression_names.index(name)], axis=1)  # noqa: E731
    jaw = motion("jawOpen")[tris].mean(1)
    blink = {s: motion(f"eyeBlink_{s}")[tris].mean(1) for s in "LR"}
    rules: dict[int, np.ndarray] = {}
    corners = {*mt.MOUTH_CORNERS["R"], *mt.MOUTH_CORNERS["L"]}
    for i in set(mt.LIP_UPPER_OUTER + mt.LIP_UPPER_INNER) - corners:
        rules[i] = jaw < 1.0
    for i in set(mt.LIP_LOWER_OUTER + mt.LIP_LOWER_INNER) - corners:
        rules[i] = jaw > 1.2
    for side, ict_side in (("R", "R"), ("L", "L")):
        lid_corners = {mt.EYE_UPPER[side][0], mt.EYE_UPPER[side][-1]}
        for i in set(mt.EYE_UPPER[side]) - lid_corners:
            rules[i] = blink[ict_side] > 0.35
        for i in set(mt.EYE_LOWER[side]) - lid_corners:
            rules[i] = blink[ict_side] <= 0.35
    return rules


def project_points(points: np.ndarray, verts: np.ndarray, tris: np.ndarray, rules: dict[int, np.ndarray]):
    """(triangle row, barycentric) of the nearest allowed face point for each MediaPipe point."""
    corners = verts[tris]
    rows, barys = np.zeros(len(points), np.int64), np.zeros((len(points), 3))
    for i, p in enumerate(points):
        allowed = rules.get(i)
        idx = np.flatnonzero(allowed) if allowed is not None else np.arange(len(tris))
        near, bary = closest_on_triangles(p, corners[idx])
        k = int(np.argmin(((near - p) ** 2).sum(1)))
        rows[i], barys[i] = idx[k], bary[k]
    return rows, barys


def fit_3d(model: IctModel, points: np.ndarray, rows: np.ndarray, barys: np.ndarray, tris: np.ndarray):
    """Identity and expression weights that put the corresponding model points on ``points`` (cm)."""
    at = lambda field: np.einsum("nk,...nkc->...nc", barys, field[..., tris[rows], :])  # noqa: E731
    neutral = at(model.vertices.astype(np.float64))
    basis = np.concatenate([at(model.identity_deltas.astype(np.float64)),
                            at(model.expression_deltas.astype(np.float64))]).reshape(-1, len(points) * 3).T
    k, s = len(model.identity_deltas), len(model.expression_deltas)
    scale = np.sqrt(RIDGE * len(points))
    a = np.vstack([basis, scale * np.eye(k + s)])
    b = np.concatenate([(points - neutral).ravel(), np.zeros(k + s)])
    sol = lsq_linear(a, b, bounds=(np.r_[np.full(k, -4.0), np.zeros(s)], np.r_[np.full(k, 4.0), np.ones(s)]))
    beta, psi = sol.x[:k], sol.x[k:]
    return (model.vertices + np.tensordot(beta, model.identity_deltas.astype(np.float64), 1)
            + np.tensordot(psi, model.expression_deltas.astype(np.float64), 1))


def photo_points_on_neutral(model: IctModel, photo: Path, tris: np.ndarray, rules) -> np.ndarray:
    lm = detect_landmarks(load_rgb(photo), photo)
    metric = lm.metric_mm() / 10.0  # cm, ICT's axes
    ibug = np.array(list(mt.IBUG_TO_MEDIAPIPE))
    mp = np.array(list(mt.IBUG_TO_MEDIAPIPE.values()))
    scale, rot, trans = similarity_transform(metric[mp], model.vertices[model.landmarks68[ibug]].astype(float))
    verts = model.vertices.astype(np.float64)
    rows = barys = None
    for _ in range(ROUNDS):
        points = scale * metric[FACE_POINTS] @ rot.T + trans
        rows, barys = project_points(points, verts, tris, rules)
        verts = fit_3d(model, points, rows, barys, tris)
        fitted = np.einsum("nk,nkc->nc", barys, verts[tris[rows]])
        scale, rot, trans = similarity_transform(metric[FACE_POINTS], fitted)
    rows, barys = project_points(scale * metric[FACE_POINTS] @ rot.T + trans, verts, tris, rules)
    return np.einsum("nk,nkc->nc", barys, model.vertices[tris[rows]].astype(np.float64))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("photos", nargs="+", type=Path)
    ap.add_argument("-o", "--output", type=Path, default=REPO / "blender_assets" / CORRESPONDENCE_NAME)
    args = ap.parse_args()
    model = read_npz(builtin_head_path())
    tris = triangles(model)
    rules = allowed_triangles(model, tris)
    on_neutral = np.mean([photo_points_on_neutral(model, p, tris, rules) for p in args.photos], axis=0)
    rows, barys = project_points(on_neutral, model.vertices.astype(np.float64), tris, rules)
    iris = np.array(list(IRIS_CENTRES.items()))
    corr = Correspondence(np.r_[FACE_POINTS, iris[:, 0]], np.vstack([tris[rows], np.repeat(iris[:, 1:], 3, 1)]),
                          np.vstack([barys, np.tile([1.0, 0.0, 0.0], (len(iris), 1))]))
    corr.save(args.output)
    print(f"wrote {args.output}: {len(corr.mp_index)} MediaPipe points from {len(args.photos)} photos")


if __name__ == "__main__":
    main()
