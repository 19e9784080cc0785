"""Lip sync without a transcript against lip sync with it, on the real English recordings in ../shared/data.

    python -m benchmarks.lipsync_untranscribed [--files N] [--noise pink|white --snr DB] [--no-denoise]

No video exists for these recordings, so the reference is the engine's own mouth from the forced alignment of
each recording's transcript (timing within ~20 ms of a human-checked aligner, docs/engine.md). Per recording:
Pearson r of the two jawOpen curves at 100 frames/s, the shift in +-200 ms that maximises it (positive: the
untranscribed mouth is late), and the lip closures (aperture jawOpen - mouthClose under 0.1 for 40 ms or more)
of the untranscribed mouth matched one-to-one against the reference's within +-60 ms (precision, recall, F1),
the rules of ../shared/tools/score_lipsync.py. The last line is the mean over recordings.

``--noise``/``--snr``: the untranscribed run hears the recording with pink or white noise mixed in (a fixed seed;
SNR against the RMS of the samples above 0.01), the reference stays the clean recording's alignment.
``--no-denoise``: without the spectral subtraction noisy recordings get before recognition (audio/denoise.py),
to compare.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

import inference.audio.analysis as analysis_module
from inference.audio.analysis import Analyzer
from inference.audio.decode import load_mono16k, probe
from inference.audio.languages import resolve
from inference.pipeline import AnimateOptions, synthesise

SPEECH = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "speech" / "en"
FPS = 100.0
MAX_LAG = 20  # frames: +-200 ms
CLOSED, MIN_CLOSURE, TOLERANCE = 0.1, 4, 6  # aperture, frames (40 ms), frames (60 ms)


def mouth(analyzer: Analyzer, wav: Path, transcript: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """jawOpen, lip aperture and the speech mask at 100 frames/s."""
    analysis = analyzer.analyse(probe(wav), transcript, resolve("en"))
    clip = synthesise(analysis, AnimateOptions(fps=FPS))
    jaw = clip.channels["jawOpen"].astype(np.float64)
    speech = np.zeros(len(jaw), bool)
    speech[:min(len(jaw), len(analysis.speech))] = analysis.speech[:len(jaw)]
    return jaw, jaw - clip.channels["mouthClose"], speech


def with_noise(wav: Path, kind: str, snr_db: float, folder: Path) -> Path:
    """``wav`` with pink or white noise mixed in at ``snr_db``, as a 16 kHz WAV in ``folder``."""
    audio, _ = load_mono16k(wav)
    noise = np.random.default_rng(0).normal(size=len(audio))
    if kind == "pink":  # power falling as 1/f
        spectrum = np.fft.rfft(noise)
        spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1))
        noise = np.fft.irfft(spectrum, len(audio))
    speech_rms = np.sqrt(np.mean(audio[np.abs(audio) > 0.01].astype(np.float64) ** 2))
    noise *= speech_rms / np.sqrt(np.mean(noise**2)) / 10 ** (snr_db / 20)
    path = folder / wav.name
    sf.write(path, (audio + noise).astype(np.float32), 16000)
    return path


def _r(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1]) if a.std() > 1e-9 and b.std() > 1e-9 else 0.0


def best_lag(ours: np.ndarray, reference: np.ndarray) -> tuple[int, float]:
    """The shift of ``ours`` (frames; positive = late) that best matches ``reference``, and r there."""
    scores = []
    for lag in range(-MAX_LAG, MAX_LAG + 1):
        a = ours[max(lag, 0):len(ours) + min(lag, 0)]
        b = reference[max(-lag, 0):len(reference) + min(-lag, 0)]
        scores.append((round(_r(a, b), 9), -abs(lag), lag))
    r, _, lag = max(scores)
    return lag, r


def closures(aperture: np.ndarray, speech: np.ndarray) -> list[tuple[int, int]]:
    shut = np.r_[0, (aperture < CLOSED) & speech, 0].astype(int)
    edges = np.diff(shut)
    return [(a, b) for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True)
            if b - a >= MIN_CLOSURE]


def matched(reference: list[tuple[int, int]], ours: list[tuple[int, int]]) -> int:
    pairs = sorted((abs((a + b) - (c + d)) / 2, i, j) for i, (a, b) in enumerate(reference)
                   for j, (c, d) in enumerate(ours) if c - TOLERANCE <= b and d + TOLERANCE >= a)
    used_ref, used_ours = set(), set()
    for _, i, j in pairs:
        if i not in used_ref and j not in used_ours:
            used_ref.add(i)
            used_ours.add(j)
    return len(used_ref)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, help="only the first N recordings")
    ap.add_argument("--noise", choices=("pink", "white"), help="mix this noise into what the untranscribed run hears")
    ap.add_argument("--snr", type=float, default=10.0, help="signal-to-noise ratio of --noise, dB (default 10)")
    ap.add_argument("--no-denoise", action="store_true", help="without the spectral subtraction before recognition")
    args = ap.parse_args()
    if args.no_denoise:
        analysis_module.is_noisy = lambda audio: False
    folder = Path(tempfile.mkdtemp(prefix="vividtalk_noisy_"))
    wavs = [w for w in sorted(SPEECH.glob("*.wav")) if w.with_suffix(".txt").exists()][:args.files]
    if not wavs:
        print(f"needs the English recordings in {SPEECH}", file=sys.stderr)
        return 2
    analyzer = Analyzer()
    rows = []
    for wav in wavs:
        ref_jaw, ref_aperture, speech = mouth(analyzer, wav, wav.with_suffix(".txt").read_text(encoding="utf-8"))
        heard = with_noise(wav, args.noise, args.snr, folder) if args.noise else wav
        jaw, aperture, _ = mouth(analyzer, heard, None)
        n = min(len(jaw), len(ref_jaw))
        lag, r_lag = best_lag(jaw[:n], ref_jaw[:n])
        ref_events, our_events = closures(ref_aperture[:n], speech[:n]), closures(aperture[:n], speech[:n])
        m = matched(ref_events, our_events)
        precision = m / len(our_events) if our_events else float("nan")
        recall = m / len(ref_events) if ref_events else float("nan")
        f1 = 2 * m / (len(our_events) + len(ref_events)) if our_events or ref_events else float("nan")
        rows.append((_r(jaw[:n], ref_jaw[:n]), lag * 10, r_lag, precision, recall, f1))
        print(f"{wav.stem:40s} r={rows[-1][0]:.3f} lag={lag * 10:+4d} ms (r {r_lag:.3f}) closures "
              f"{m}/{len(ref_events)} found, {len(our_events) - m} extra, F1={f1:.2f}")
    table = np.array(rows, dtype=np.float64)
    mean = np.nanmean(table, axis=0)
    print(f"untranscribed vs transcript: r={mean[0]:.3f} |lag|={np.mean(np.abs(table[:, 1])):.0f} ms "
          f"closure P={mean[3]:.2f} R={mean[4]:.2f} F1={mean[5]:.3f} over {len(rows)} recordings")
    return 0


if __name__ == "__main__":
    sys.exit(main())
