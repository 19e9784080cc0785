"""Rounded vowels in connected speech narrow the mouth as much as real speakers' do, no more.

On the GRID clips the mouth corners of real speakers (tracked with MediaPipe's face mesh) come to 0.93-0.98 of
their median distance at the 5th percentile (benchmarks/lip_share.py). A lip sync that rounds every "oo" as if
it were held narrowed ours to 0.81-0.92, and MediaPipe's FaceLandmarker read those small round mouths as a
wide-open jaw."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.lip_share import animated_points, width_range

pytestmark = pytest.mark.shared_data


def test_rounding_narrows_the_mouth_like_real_connected_speech(shared_data):
    lows, highs = [], []
    for video in sorted((shared_data / "video").glob("*.mpg")):
        low, high = width_range(animated_points(video.with_suffix(".wav"),
                                                video.with_suffix(".txt").read_text().strip()))
        lows.append(low)
        highs.append(high)
    assert lows, "no GRID clips"
    assert 0.92 <= np.mean(lows) <= 0.97  # real speakers: 0.95 on average
    assert min(lows) < 0.99  # the rounded vowels still round
    assert np.mean(highs) > 1.01  # and the spread ones still spread
