"""Head motion in the style of a reference video (``--head-from``, ``vividtalk head-style``): the speaker's head
tracked in the frames, a codebook of snippets keyed by prosody, new motion with the reference's range and
speed but not its timeline."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from benchmarks.head_from_video import spread_and_speed
from benchmarks.head_styles import head_angles
from inference.errors import InputError
from inference.motion.head_codebook import HeadStyleModel
from inference.motion.head_tracking import track_head
from inference.pipeline import AnimateOptions, head_style_from_video, synthesise

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def grid(shared_data):
    return sorted((shared_data / "video").glob("*.mpg"))


@pytest.fixture(scope="module")
def other_speech(shared_data):
    from inference.audio.analysis import Analyzer
    from inference.audio.decode import probe
    from inference.audio.languages import resolve

    wav = shared_data / "speech" / "en" / "mfa_acoustic_corpus.wav"
    return Analyzer().analyse(probe(wav), wav.with_suffix(".txt").read_text(encoding="utf-8"), resolve("en"))


def test_the_tracked_head_follows_an_independent_tracking(grid):
    """The shared GRID clips carry head rotation tracked by other means: our nods follow theirs."""
    correlations = []
    for video in grid:
        track = track_head(video)
        reference = np.load(video.with_suffix(".npz"))["head_ypr"][:, 1]  # their pitch
        assert track.found.all() and np.isfinite(track.angles).all() and len(track.angles) == len(reference)
        correlations.append(np.corrcoef(track.angles[:, 0], reference)[0, 1])
    assert np.mean(correlations) > 0.5


def test_new_motion_has_the_references_range_and_speed_not_its_timeline(grid, other_speech):
    video = grid[2]
    track = track_head(video)
    ref_std, ref_speed = spread_and_speed(track.angles, track.fps)
    style = head_style_from_video(video)
    clip = synthesise(other_speech, AnimateOptions(head_style_model=style, seed=5))
    std, speed = spread_and_speed(head_angles(clip.head), clip.fps)
    np.testing.assert_allclose(std, ref_std, rtol=0.15)
    assert 0.65 <= speed / ref_speed <= 1.35
    again = synthesise(other_speech, AnimateOptions(head_style_model=style, seed=5))
    np.testing.assert_array_equal(np.asarray(again.head["yaw"]), np.asarray(clip.head["yaw"]))
    other_seed = synthesise(other_speech, AnimateOptions(head_style_model=style, seed=6))
    assert np.abs(np.asarray(other_seed.head["yaw"]) - np.asarray(clip.head["yaw"])).max() > 0.1


def test_a_style_is_saved_learned_once_and_reused_from_the_command_line(grid, shared_data, tmp_path):
    style = tmp_path / "speaker style.npz"
    made = subprocess.run([sys.executable, "-m", "inference", "head-style", str(grid[0]), "-o", str(style)],
                          capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr
    assert HeadStyleModel.load(style).snippets.shape[1:] == (100, 3)
    wav = shared_data / "video" / "lbax4n.wav"
    for option, value in (("--head-style-file", style), ("--head-from", grid[0])):
        out = tmp_path / f"clip{option}.json"
        run = subprocess.run([sys.executable, "-m", "inference", "animate", str(wav), "-o", str(out), option,
                              str(value)], capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr
        clip = json.loads(out.read_text(encoding="utf-8"))
        assert clip["meta"]["options"]["head_style"].startswith("from ")
        assert np.std(clip["head"]["pitch"]) > 0.1


def test_bad_references_get_clear_messages(shared_data, tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        track_head(tmp_path / "nowhere.mp4")
    with pytest.raises(InputError, match="Cannot read video frames"):
        track_head(shared_data / "video" / "bbaf2n.wav")  # sound only
    damaged = tmp_path / "style.npz"
    damaged.write_bytes(b"not a zip")
    with pytest.raises(InputError):
        HeadStyleModel.load(damaged)
    both = subprocess.run([sys.executable, "-m", "inference", "animate", "a.wav", "-o", "c.json", "--head-from",
                           "v.mp4", "--head-style-file", "s.npz"], capture_output=True, text=True, timeout=120)
    assert both.returncode == 2 and "not allowed with" in both.stderr
