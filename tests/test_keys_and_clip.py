"""Key reduction bound, the motion clip round trip, atomic writes, the Live Link Face CSV."""

import csv
import json
import os

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter1d

from inference.errors import InputError, OutputError
from inference.io.atomic import atomic_open
from inference.io.livelink_csv import write_csv
from inference.motion.arkit import ARKIT_NAMES
from inference.motion.clip import MotionClip
from inference.motion.keys import hermite, reduce_keys, sparse_keys


@pytest.mark.parametrize("seed", range(5))
def test_reduced_keys_stay_within_bound(seed):
    rng = np.random.default_rng(seed)
    curve = np.clip(gaussian_filter1d(rng.normal(0, 1, 600), 4) * 2 + 0.3, 0, 1)
    keys, slopes_in, slopes_out = reduce_keys(curve, 0.02)
    recon = hermite(keys, curve[keys], slopes_out, np.arange(len(curve)), slopes_in)
    assert np.abs(recon - curve).max() <= 0.02 + 1e-9
    assert len(keys) < len(curve) / 4  # actually sparse
    assert keys[0] == 0 and keys[-1] == len(curve) - 1


def test_keys_are_the_fewest_that_fit():
    """No two neighbouring keys can be replaced by one, and a smooth bump needs no more than its shape."""
    from inference.motion.keys import _fits

    rng = np.random.default_rng(7)
    curve = np.clip(gaussian_filter1d(rng.normal(0, 1, 600), 4) * 2 + 0.3, 0, 1)
    keys, _, _ = reduce_keys(curve, 0.02)
    for a, b in zip(keys[:-2], keys[2:], strict=True):  # dropping the key between a and b breaks the bound
        assert not _fits(curve[None, a:b + 1], b - a, 0.02)[0]
    bump = np.exp(-0.5 * ((np.arange(61) - 30) / 6.0) ** 2)
    assert len(reduce_keys(bump, 0.03)[0]) <= 5


def test_keys_keep_one_tangent_where_it_fits():
    t = np.linspace(0, 2 * np.pi, 121)
    _, slopes_in, slopes_out = reduce_keys(0.5 + 0.4 * np.sin(t), 0.01)
    assert np.allclose(slopes_in[[0, -1]], slopes_out[[0, -1]])  # the ends have one side only
    assert np.isclose(slopes_in, slopes_out)[1:-1].any()  # an inner key on a flank keeps one tangent


def test_clip_keys_are_seconds_values_and_slopes_per_second():
    curve = np.linspace(0.0, 1.0, 31)  # one unit per second at 30 fps
    keys = sparse_keys(curve, 30.0, 0.01)
    assert keys[0][:2] == [0.0, 0.0] and keys[-1][:2] == [1.0, 1.0]
    assert all(abs(k[2] - 1.0) < 1e-3 and abs(k[3] - 1.0) < 1e-3 for k in keys)


def test_flat_curve_needs_two_keys():
    keys, slopes_in, slopes_out = reduce_keys(np.full(100, 0.4), 0.01)
    assert list(keys) == [0, 99] and not slopes_in.any() and not slopes_out.any()


def _clip(n=10):
    channels = {name: np.linspace(0, 1, n).astype(np.float32) for name in ARKIT_NAMES}
    head = {a: np.linspace(-2, 2, n).astype(np.float32) for a in ("pitch", "yaw", "roll")}
    return MotionClip(fps=30.0, duration=(n - 1) / 30, channels=channels, head=head,
                      phones=[(0.0, 0.1, "M")], meta={"seed": 1})


def test_clip_round_trip(tmp_path):
    path = tmp_path / "ordner mit leerzeichen ß" / "clip.json"
    path.parent.mkdir()
    _clip().save(path)
    back = MotionClip.load(path)
    assert back.fps == 30.0 and back.n_frames == 10
    assert np.allclose(back.channels["jawOpen"], np.linspace(0, 1, 10), atol=1e-4)
    assert back.phones == [(0.0, 0.1, "M")]


def test_clip_rejects_damage(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InputError, match="not a readable motion clip"):
        MotionClip.load(bad)
    bad.write_text(json.dumps({"format": "other"}))
    with pytest.raises(InputError, match="not a vividtalk motion clip"):
        MotionClip.load(bad)
    bad.write_text(json.dumps({"format": "vividtalk.motion", "version": 1, "fps": 30,
                               "channels": {"jawOpen": [0, 1], "mouthClose": [0]}}))
    with pytest.raises(InputError, match="damaged"):
        MotionClip.load(bad)


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("precious")
    with pytest.raises(RuntimeError), atomic_open(target) as f:
        f.write("half")
        raise RuntimeError("crash mid-write")
    assert target.read_text() == "precious"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]  # no temp file left behind


def test_missing_output_folder(tmp_path):
    with pytest.raises(OutputError, match="does not exist"):
        _clip().save(tmp_path / "missing" / "clip.json")


def test_read_only_output_folder(read_only_folder):
    with pytest.raises(OutputError, match="not writable"):
        _clip().save(read_only_folder / "clip.json")


def test_livelink_csv_layout(tmp_path):
    out = tmp_path / "curves.csv"
    write_csv(_clip(31), out)
    rows = list(csv.reader(out.open()))
    assert rows[0][:3] == ["Timecode", "BlendshapeCount", "EyeBlinkLeft"]
    assert rows[0][-9:-6] == ["HeadYaw", "HeadPitch", "HeadRoll"] and len(rows[0]) == 2 + 52 + 9
    assert len(rows) == 32 and rows[1][0] == "00:00:00:00.000" and rows[31][0] == "00:00:01:00.000"
    assert rows[1][1] == "61"
    jaw = rows[0].index("JawOpen")
    assert float(rows[31][jaw]) == pytest.approx(1.0)


def test_folder_that_refuses_files_even_for_root():
    if not os.path.isdir("/proc/self"):
        pytest.skip("needs Linux /proc")
    with pytest.raises(OutputError):
        _clip().save("/proc/self/vividtalk_clip.json")


def test_keys_of_many_curves_equal_each_curve_alone():
    from inference.motion.keys import sparse_many_keys

    rng = np.random.default_rng(3)
    curves = [np.clip(gaussian_filter1d(rng.normal(0, 1, n), 3) + 0.4, 0, 1) for n in (90, 90, 240, 90)]
    curves += [np.full(90, 0.2), np.zeros(2), np.r_[np.zeros(60), np.linspace(0, 0.8, 10), np.full(100, 0.8)]]
    together = sparse_many_keys(curves, 30.0, 0.02)
    assert together == [sparse_keys(c, 30.0, 0.02) for c in curves]
    assert all(str(s) != "-0.0" for keys in together for k in keys for s in k[2:])


def test_short_curves_and_short_spans_stay_within_the_bound():
    """The batched fit table handles curves of a few frames and spans down to one frame."""
    from inference.motion.keys import hermite

    rng = np.random.default_rng(3)
    for n in (3, 4, 5, 9, 40):
        for span in (1, 2, 3, 30):
            curve = rng.random(n)
            keys, m_in, m_out = reduce_keys(curve, 0.05, span)
            assert keys[0] == 0 and keys[-1] == n - 1 and np.all(np.diff(keys) > 0)
            fitted = hermite(keys, curve[keys], m_out, np.arange(n), m_in)
            assert np.abs(fitted - curve).max() <= 0.05 + 1e-9, (n, span)
