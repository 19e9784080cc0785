"""The motion code's own Gaussian smoothing and closure distances equal scipy.ndimage's (the smoothing to the
last bits, the distances exactly): they replace it only to spare its import (inference/motion/smoothing.py)."""

import numpy as np
import pytest
from scipy.ndimage import distance_transform_edt, gaussian_filter1d

from inference.audio.phones import Phone
from inference.motion.lipsync import CLOSURE_RAMP_S, FPS, _closure_weight
from inference.motion.smoothing import gaussian_smooth


@pytest.mark.parametrize("mode", ["reflect", "nearest"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gaussian_smooth_equals_scipy(mode, dtype):
    rng = np.random.default_rng(0)
    close = 4 * np.finfo(dtype).eps  # a few units in the last place: the sums are added in another order
    for n in (1, 2, 3, 7, 50, 157, 1200):  # shorter than the kernel too: repeated mirroring at both ends
        for sigma in (0.7, 1.5, 3.0, 5.0, 15.0, 25.0):
            x = rng.normal(size=n).astype(dtype)
            ours = gaussian_smooth(x, sigma, mode=mode)
            assert ours.dtype == dtype
            np.testing.assert_allclose(ours, gaussian_filter1d(x, sigma, mode=mode), rtol=close, atol=close)
            table = rng.normal(size=(n, 5)).astype(dtype)
            np.testing.assert_allclose(gaussian_smooth(table, sigma, axis=0, mode=mode),
                                       gaussian_filter1d(table, sigma, axis=0, mode=mode), rtol=close, atol=close)


def test_closure_ramps_measure_the_distance_to_the_nearest_sealed_frame():
    phones = [Phone(0.0, 0.3, "SIL"), Phone(0.3, 0.4, "M"), Phone(0.4, 0.6, "AA"), Phone(0.6, 0.65, "P"),
              Phone(0.65, 1.2, "IY"), Phone(1.2, 1.5, "B"), Phone(1.5, 2.0, "SIL")]
    visemes = ["rest", "MBP", "AA", "MBP", "EE", "MBP", "rest"]
    n = int(2.0 * FPS)
    weight = _closure_weight(phones, visemes, n)
    sealed = weight == 1.0
    assert sealed.any() and not sealed.all()
    expected = np.clip(1.0 - distance_transform_edt(~sealed) / FPS / CLOSURE_RAMP_S, 0.0, 1.0)
    assert np.array_equal(weight, expected)
