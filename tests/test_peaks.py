"""The accent finder's peaks (inference/motion/peaks.py) are scipy.signal.find_peaks's, without its import."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter1d
from scipy.signal import find_peaks as scipy_find_peaks

from inference.motion.peaks import find_peaks


@pytest.mark.parametrize("seed", range(40))
def test_the_same_peaks_and_prominences_as_scipy(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 4000))
    x = gaussian_filter1d(rng.random(n), rng.uniform(0.5, 8)) * (rng.random(n) > 0.1)  # gaps of zeros too
    distance, prominence = float(rng.uniform(1, 60)), float(rng.uniform(0, 0.15))
    expected, props = scipy_find_peaks(x, distance=distance, prominence=prominence)
    peaks, prominences = find_peaks(x, distance, prominence)
    np.testing.assert_array_equal(peaks, expected)
    np.testing.assert_allclose(prominences, props["prominences"])


def test_flat_tops_edges_and_ties():
    x = np.array([0, 1, 3, 3, 3, 1, 0, 2, 2, 0, 5], float)  # a flat top of three, one of two, a rise at the end
    peaks, prominences = find_peaks(x, 1, 0)
    np.testing.assert_array_equal(peaks, [3, 7])  # the middle of each flat top (the left one when even); no edge
    np.testing.assert_allclose(prominences, [3, 2])
    twins = np.array([0, 1, 0, 1, 0], float)  # equal heights closer than the spacing: the earlier stays
    assert find_peaks(twins, 3, 0)[0].tolist() == [1]
    assert len(find_peaks(np.zeros(5), 1, 0)[0]) == len(find_peaks(np.ones(2), 1, 0)[0]) == 0
