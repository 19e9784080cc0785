"""Stage-1 speed: x real time for audio -> motion clip, with and without a transcript.

    python -m benchmarks.speed [--minutes 1] [--long-minutes 30]

Input is real speech from ../shared/data (the 68 s German and 70 s Spanish readings, English LibriVox),
concatenated to the requested length. The --long-minutes run also reports peak memory (ru_maxrss) to
show it stays flat. Set OPENBLAS_NUM_THREADS=1 to measure on the shipped configuration.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from inference.audio.decode import load_mono16k
from inference.pipeline import AnimateOptions, animate
from inference.progress import Progress

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def english_speech(seconds: float) -> tuple[np.ndarray, str]:
    files = sorted((SHARED / "speech/en").glob("librivox_*.wav")) + sorted((SHARED / "speech/en").glob("ljspeech*.wav"))
    if not files:  # without this the loop below never ends
        raise SystemExit(f"needs the English recordings of the shared test corpus in {SHARED / 'speech/en'}")
    audio, text = [], []
    total = 0.0
    while total < seconds:
        for f in files:
            x, _ = load_mono16k(f)
            audio.append(x)
            text.append(f.with_suffix(".txt").read_text())
            total += len(x) / 16000
            if total >= seconds:
                break
    return np.concatenate(audio), " ".join(text)


def run(seconds: float, transcript: bool, folder: Path) -> tuple[float, float]:
    audio, text = english_speech(seconds)
    wav = folder / f"speech_{seconds:.0f}.wav"
    sf.write(wav, audio, 16000)
    start = time.perf_counter()
    clip = animate(wav, AnimateOptions(transcript=text if transcript else None), Progress())
    elapsed = time.perf_counter() - start
    return clip.duration, elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--minutes", type=float, default=1.0)
    ap.add_argument("--long-minutes", type=float, default=0.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        for transcript in (True, False):
            dur, el = run(args.minutes * 60, transcript, folder)
            print(f"{'with' if transcript else 'without'} transcript: {dur:.1f} s audio in {el:.2f} s "
                  f"= {dur / el:.1f}x real time")
        if args.long_minutes:
            dur, el = run(args.long_minutes * 60, False, folder)
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"long file without transcript: {dur / 60:.1f} min in {el:.1f} s = {dur / el:.1f}x real time, "
                  f"peak RSS {rss:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
