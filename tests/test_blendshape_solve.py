"""Audio2Face-3D's bounded least-squares blendshape solve (inference/neural/blendshape_solve.py) on synthetic
rigs: known weights come back, bounds hold, cancel pairs, symmetry and temporal smoothing do what the SDK's
terms do, and per-pose multipliers and offsets apply."""

from __future__ import annotations

import numpy as np
import pytest

from inference.neural.a2f_model import BlendshapeSet, SolveConfig
from inference.neural.blendshape_solve import prepare, solve

NAMES = ["jawOpen", "mouthSmileLeft", "mouthSmileRight", "mouthLeft", "mouthRight", "mouthFunnel", "cheekPuff"]


def rig(seed: int = 0, vertices: int = 300, **config) -> BlendshapeSet:
    rng = np.random.default_rng(seed)
    neutral = rng.uniform(-10, 10, 3 * vertices).astype(np.float32)
    deltas = rng.standard_normal((len(NAMES), 3 * vertices)).astype(np.float32)
    n = len(NAMES)
    settings = {"l1": 0.0, "l2": 0.0, "temporal": 0.0, "symmetry": 0.0, "template_bb_size": 54.7,
                "active": np.ones(n, bool), "cancel": -np.ones(n, np.int64), "symmetric": -np.ones(n, np.int64),
                "multipliers": np.ones(n, np.float32), "offsets": np.zeros(n, np.float32)} | config
    return BlendshapeSet(NAMES, neutral, deltas, None, SolveConfig(**settings))


def targets(shapes: BlendshapeSet, weights: np.ndarray) -> np.ndarray:
    return shapes.neutral + np.atleast_2d(weights) @ shapes.deltas


def test_known_weights_come_back_to_1e_3():
    shapes = rig()
    truth = np.array([[0.8, 0.0, 0.35, 1.0, 0.0, 0.12, 0.5], [0.0, 0.6, 0.6, 0.0, 0.9, 0.0, 0.05]])
    prep = prepare(shapes)
    assert np.abs(solve(prep, prep.project(targets(shapes, truth))) - truth).max() < 1e-3


def test_weights_stay_inside_0_1_where_the_target_asks_for_more():
    shapes = rig(1)
    prep = prepare(shapes)
    wanted = np.array([1.6, -0.7, 0.4, 0.2, 2.0, -0.3, 0.5])  # outside the bounds on purpose
    got = solve(prep, prep.project(targets(shapes, wanted)))[0]
    assert got.min() >= 0.0 and got.max() <= 1.0
    assert got[0] == pytest.approx(1.0, abs=1e-6) and got[1] == pytest.approx(0.0, abs=1e-6)


def test_a_cancel_pair_keeps_only_the_stronger_pose():
    cancel = -np.ones(len(NAMES), np.int64)
    cancel[NAMES.index("mouthLeft")] = cancel[NAMES.index("mouthRight")] = 0
    shapes = rig(2, cancel=cancel)
    prep = prepare(shapes)
    truth = np.array([0.3, 0.0, 0.0, 0.7, 0.4, 0.0, 0.0])  # both sides asked for: left is stronger
    got = solve(prep, prep.project(targets(shapes, truth)))[0]
    assert got[NAMES.index("mouthRight")] < 1e-9
    assert got[NAMES.index("mouthLeft")] > 0.2
    free = solve(prepare(rig(2)), prep.project(targets(shapes, truth)))[0]  # the same rig without the pair
    assert free[NAMES.index("mouthRight")] == pytest.approx(0.4, abs=1e-3)


def test_symmetry_pulls_a_pair_together_and_l2_shrinks():
    symmetric = -np.ones(len(NAMES), np.int64)
    symmetric[1] = symmetric[2] = 5
    truth = np.array([0.0, 0.9, 0.1, 0.0, 0.0, 0.0, 0.0])
    plain = rig(3)
    free = solve(prepare(plain), prepare(plain).project(targets(plain, truth)))[0]
    tied = rig(3, symmetric=symmetric, symmetry=500.0)
    prep = prepare(tied)
    together = solve(prep, prep.project(targets(tied, truth)))[0]
    assert abs(together[1] - together[2]) < 0.5 * abs(free[1] - free[2])
    shrunk = rig(3, l2=5.0)
    prep = prepare(shrunk)
    assert solve(prep, prep.project(targets(shrunk, truth)))[0][1] < free[1] - 0.01


def test_temporal_smoothing_eases_a_jump_and_needs_the_previous_frame():
    truth = np.zeros((6, len(NAMES)))
    truth[3:, 0] = 1.0
    shapes = rig(4, temporal=5.0)
    prep = prepare(shapes)
    got = solve(prep, prep.project(targets(shapes, truth)))[:, 0]
    assert got[2] < 1e-6 and 0.05 < got[3] < got[4] < got[5] <= 1.0


def test_inactive_poses_are_zero_then_multipliers_and_offsets_apply():
    active = np.ones(len(NAMES), bool)
    active[NAMES.index("cheekPuff")] = False
    multipliers = np.ones(len(NAMES), np.float32)
    multipliers[0] = 0.5
    offsets = np.zeros(len(NAMES), np.float32)
    offsets[NAMES.index("cheekPuff")] = 0.25
    shapes = rig(5, active=active, multipliers=multipliers, offsets=offsets)
    prep = prepare(shapes)
    got = solve(prep, prep.project(targets(shapes, np.array([0.8, 0, 0, 0, 0, 0, 0.9]))))[0]
    assert got[NAMES.index("cheekPuff")] == pytest.approx(0.25)
    assert 0.3 < got[0] < 0.5  # 0.8-ish solved without cheekPuff's help, then halved


def test_the_frontal_mask_restricts_the_solve_to_its_vertices():
    shapes = rig(6)
    masked = BlendshapeSet(shapes.pose_names, shapes.neutral, shapes.deltas, np.arange(0, 300, 3), shapes.config)
    truth = np.array([0.5, 0.2, 0.0, 0.0, 0.7, 0.1, 0.3])
    target = targets(shapes, truth)
    target[:, 3:6] += 50.0  # vertex 1 is outside the mask: noise there must not matter
    prep = prepare(masked)
    assert np.abs(solve(prep, prep.project(target)) - truth).max() < 1e-3


def test_the_active_set_solver_is_as_good_as_scipys_bvls_on_random_boxes():
    from scipy.optimize import lsq_linear

    from inference.neural.blendshape_solve import bounded_least_squares

    rng = np.random.default_rng(7)
    for _ in range(200):
        n = int(rng.integers(2, 53))
        d = rng.standard_normal((120, n))
        a = d.T @ d + np.eye(n) * rng.uniform(0, 5)
        b = a @ rng.uniform(-0.5, 1.5, n) + rng.standard_normal(n) * 3
        upper = np.where(rng.random(n) < 0.1, 1e-10, 1.0)
        ours = bounded_least_squares(a, a.T @ a, b, upper, rng.uniform(0, 1, n))
        theirs = lsq_linear(a, b, bounds=(np.zeros(n), upper), method="bvls", tol=1e-12).x
        assert (ours >= 0).all() and (ours <= upper).all()
        ours_cost, theirs_cost = (float(np.sum((a @ x - b) ** 2)) for x in (ours, theirs))
        assert ours_cost <= theirs_cost * (1 + 1e-9) + 1e-9
