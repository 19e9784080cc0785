"""Decoding: every container we promise, resampling, and clear errors for bad files."""

import itertools
import struct

import numpy as np
import pytest

from inference.audio import SAMPLE_RATE
from inference.audio.decode import load_mono16k, probe
from inference.errors import InputError

from .conftest import write_tone


@pytest.mark.parametrize("ext,fmt", [("wav", "WAV"), ("flac", "FLAC"), ("ogg", "OGG"), ("aiff", "AIFF")])
def test_formats_resample_and_downmix(tmp_path, ext, fmt):
    path = write_tone(tmp_path / f"tone ü.{ext}", seconds=1.5, rate=44100, channels=2, fmt=fmt)
    audio, info = load_mono16k(path)
    assert info.sample_rate == 44100 and info.channels == 2
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(len(audio) - 1.5 * SAMPLE_RATE) <= 32
    # a 220 Hz tone survives resampling: dominant frequency unchanged
    spectrum = np.abs(np.fft.rfft(audio[2000:-2000]))
    peak_hz = np.argmax(spectrum) * SAMPLE_RATE / len(audio[2000:-2000])
    assert abs(peak_hz - 220) < 3


def test_shared_containers(shared_data):
    for rel in ("speech/multi/es_mls_13697_11991_000000.opus", "speech/multi/ja_commonvoice_24511055.mp3",
                "video/bbaf2n.mpg"):
        audio, _info = load_mono16k(shared_data / rel)
        assert len(audio) > SAMPLE_RATE and np.abs(audio).max() > 0.01, rel
    mpg, _ = load_mono16k(shared_data / "video/bbaf2n.mpg")
    wav, _ = load_mono16k(shared_data / "video/bbaf2n.wav")
    assert abs(len(mpg) - len(wav)) < 0.02 * SAMPLE_RATE  # video soundtrack decoded through ffmpeg


def test_missing_empty_corrupt(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        probe(tmp_path / "nope.wav")
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        probe(empty)
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(InputError, match="Cannot read audio"):
        probe(junk)
    with pytest.raises(InputError, match="folder"):
        probe(tmp_path)


def test_a_truncated_wav_is_refused_and_a_placeholder_length_is_not(tmp_path):
    """libsndfile reads the part of a cut-short WAV that is there without complaint; the engine must say so
    instead of animating a fraction of the line. Writers that cannot seek back leave a placeholder length."""
    whole = write_tone(tmp_path / "whole.wav", seconds=2.0, rate=16000, channels=1, fmt="WAV").read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole[: len(whole) * 2 // 5])
    with pytest.raises(InputError, match=r"truncated.*40%"):
        probe(cut)
    data = whole.find(b"data")
    for placeholder in (0xFFFFFFFF, 0x7FFFFFFF):
        streamed = tmp_path / f"streamed_{placeholder:x}.wav"
        streamed.write_bytes(whole[:data + 4] + struct.pack("<I", placeholder) + whole[data + 8:])
        audio, _ = load_mono16k(streamed)
        assert abs(len(audio) - 2.0 * SAMPLE_RATE) <= 32


def test_the_dc_filter_is_scipys_butterworth_streamed_in_pieces():
    from scipy.signal import butter, lfilter, lfilter_zi

    from inference.audio.decode import DC_CUTOFF_HZ
    from inference.audio.highpass import Highpass

    rng = np.random.default_rng(4)
    x = (rng.normal(0, 0.1, 50_000) + 0.4 + 0.2 * np.sin(np.arange(50_000) * 2 * np.pi * 8 / SAMPLE_RATE))
    cuts = [0, 1, 300, 256 * 7, 256 * 7 + 5, 31_000, 50_000]  # pieces shorter and longer than a block
    b, a = butter(2, DC_CUTOFF_HZ, btype="highpass", fs=SAMPLE_RATE)
    state, expected = lfilter_zi(b, a) * x[0], []
    mine = Highpass(DC_CUTOFF_HZ, SAMPLE_RATE)
    got = []
    for lo, hi in itertools.pairwise(cuts):
        y, state = lfilter(b, a, x[lo:hi], zi=state)
        expected.append(y)
        got.append(mine(x[lo:hi].astype(np.float32)))
    np.testing.assert_allclose(np.concatenate(got), np.concatenate(expected), atol=2e-6)
    assert abs(np.concatenate(got)[-10_000:].mean()) < 1e-3  # the offset is gone
