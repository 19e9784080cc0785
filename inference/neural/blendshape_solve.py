"""ARKit weights from vertex positions: Audio2Face-3D's bounded least-squares blendshape solve.

What the SDK does (blendshape_solver_base.cpp Prepare, blendshape_solver.cpp cpuSolve), re-done in NumPy:
with D the active poses' deltas on the solve's vertices (``frontalMask``) and s = (|bbox(neutral)| /
templateBBSize)², per frame

    A = DᵀD + L1²·0.25s·11ᵀ + L2·10s·I + T·100s·I + Sym·10s·SᵀS      (S: a +1/-1 row per symmetry pair)
    b = Dᵀ(target - neutral) + T·s·w_previous
    w = argmin |A w - b|  subject to 0 <= w <= 1                       (bounded-variable least squares)

then for each cancel pair the smaller weight is bounded to ~0 and the system solved again; inactive poses
get 0, and every weight is multiplied and offset by the config's per-pose values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import lsq_linear

from .a2f_model import BlendshapeSet

CANCELLED_UPPER = 1e-10  # the SDK's bound for the cancelled pose of a pair


@dataclass(frozen=True)
class PreparedSolve:
    """What a blendshape set's solve needs per frame, computed once."""

    pose_names: list[str]
    active: np.ndarray  # indices of the active poses among all
    rows: np.ndarray | None  # indices into the flattened x,y,z positions the solve looks at (None: all)
    deltas: np.ndarray  # D: (rows, active) float64
    neutral: np.ndarray  # the neutral on those rows
    a_matrix: np.ndarray  # (active, active)
    temporal_b: float  # T·s: the previous weights' share of b
    cancel_pairs: list[tuple[int, int]]  # in active indices
    multipliers: np.ndarray
    offsets: np.ndarray

    def project(self, targets: np.ndarray) -> np.ndarray:
        """Dᵀ(target - neutral) per frame, for (frames, 3V) absolute targets."""
        t = np.asarray(targets, np.float64)
        t = t if self.rows is None else t[:, self.rows]
        return (t - self.neutral) @ self.deltas


def prepare(shapes: BlendshapeSet) -> PreparedSolve:
    cfg = shapes.config
    active = np.flatnonzero(cfg.active)
    rows = None
    if shapes.mask is not None:
        rows = (3 * shapes.mask[:, None] + np.arange(3)).reshape(-1)
    deltas = shapes.deltas[active].astype(np.float64).T
    neutral = shapes.neutral.astype(np.float64)
    if rows is not None:
        deltas, neutral = deltas[rows], neutral[rows]
    extent = shapes.neutral.reshape(-1, 3)
    scale = float((np.linalg.norm(extent.max(axis=0) - extent.min(axis=0)) / cfg.template_bb_size) ** 2)
    n = len(active)
    symmetry = np.zeros((0, n))
    pairs = _pairs(cfg.symmetric[active])
    if pairs:
        symmetry = np.zeros((len(pairs), n))
        for k, (i, j) in enumerate(pairs):
            symmetry[k, i], symmetry[k, j] = 1.0, -1.0
    a = (deltas.T @ deltas + cfg.l1 ** 2 * 0.25 * scale * np.ones((n, n))
         + (cfg.l2 * 10.0 + cfg.temporal * 100.0) * scale * np.eye(n)
         + cfg.symmetry * 10.0 * scale * symmetry.T @ symmetry)
    return PreparedSolve(list(shapes.pose_names), active, rows, deltas, neutral, a, cfg.temporal * scale,
                         _pairs(cfg.cancel[active]), cfg.multipliers.astype(np.float64),
                         cfg.offsets.astype(np.float64))


def solve(prep: PreparedSolve, projected: np.ndarray) -> np.ndarray:
    """All poses' weights per frame (frames, poses) from ``prep.project(targets)`` (or the same computed
    another way), solved in order: each frame's temporal term uses the previous frame's weights."""
    projected = np.atleast_2d(np.asarray(projected, np.float64))
    n = len(prep.active)
    normal = prep.a_matrix.T @ prep.a_matrix  # |A w - b|² = wᵀ(AᵀA)w - 2(Aᵀb)ᵀw + const
    upper = np.ones(n)
    previous = np.zeros(n)
    out = np.zeros((len(projected), len(prep.pose_names)))
    for t, atb in enumerate(projected):
        b = atb + prep.temporal_b * previous
        upper[:] = 1.0
        x = bounded_least_squares(prep.a_matrix, normal, b, upper, previous)
        if prep.cancel_pairs:
            for i, j in prep.cancel_pairs:
                upper[j if x[i] >= x[j] else i] = CANCELLED_UPPER
            x = bounded_least_squares(prep.a_matrix, normal, b, upper, x)
        previous = x
        out[t, prep.active] = x
    return out * prep.multipliers + prep.offsets


def bounded_least_squares(a: np.ndarray, normal: np.ndarray, b: np.ndarray, upper: np.ndarray,
                          start: np.ndarray, max_steps: int = 200) -> np.ndarray:
    """argmin |a x - b| subject to 0 <= x <= upper, by a primal active-set method started from ``start``
    (clipped into the box): from one frame to the next few bounds change, so it takes a step or two. Where it
    does not settle, SciPy's BVLS solves the frame. ``normal`` is aᵀa."""
    g = a.T @ b
    tol = 1e-10 * max(1.0, float(np.abs(g).max()))
    x = np.clip(start, 0.0, upper)
    free = (x > 0.0) & (x < upper)
    for _ in range(max_steps):
        f = np.flatnonzero(free)
        if len(f):
            fixed = np.flatnonzero(~free)
            rhs = g[f] - normal[np.ix_(f, fixed)] @ x[fixed]
            try:
                target = np.linalg.solve(normal[np.ix_(f, f)], rhs)
            except np.linalg.LinAlgError:
                break
            step = target - x[f]
            with np.errstate(divide="ignore", invalid="ignore"):
                room = np.where(step < 0, -x[f] / step, np.where(step > 0, (upper[f] - x[f]) / step, np.inf))
            alpha = min(1.0, float(room.min()))
            x[f] += alpha * step
            if alpha < 1.0:  # a bound was hit on the way: that weight is held there
                hit = f[room <= alpha + 1e-12]
                x[hit] = np.where(step[np.isin(f, hit)] < 0, 0.0, upper[hit])
                free[hit] = False
                continue
        gradient = normal @ x - g
        wants_in = np.where(~free & (x <= 0.0), -gradient, np.where(~free & (x >= upper), gradient, 0.0))
        k = int(np.argmax(wants_in))
        if wants_in[k] <= tol:
            return np.clip(x, 0.0, upper)
        free[k] = True
    return lsq_linear(a, b, bounds=(np.zeros_like(upper), upper), method="bvls", tol=1e-10).x


def _pairs(ids: np.ndarray) -> list[tuple[int, int]]:
    """Positions sharing a pair id (exactly two; -1 and other negatives mean none), as the SDK pairs them."""
    found: dict[int, list[int]] = {}
    for position, pair_id in enumerate(ids.tolist()):
        if pair_id >= 0:
            found.setdefault(pair_id, []).append(position)
    return [(p[0], p[1]) for p in found.values() if len(p) == 2]
