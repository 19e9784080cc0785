"""Lip-sync quality on the GRID development clips, scored by ../shared/tools/score_lipsync.py.

    python -m benchmarks.lipsync_grid [--no-transcript] [--out DIR]

Writes one <clip>.csv (time_s, jawOpen, mouthClose at the analysis rate, 100 fps) per clip, then runs the
shared scorer, whose last line reads ``lipsync: r=... lag_ms=... closure_f1=...``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from inference.audio.analysis import Analyzer
from inference.audio.decode import probe
from inference.audio.languages import resolve
from inference.pipeline import AnimateOptions, synthesise

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def write_predictions(out: Path, use_transcript: bool) -> None:
    analyzer = Analyzer()
    for wav in sorted((SHARED / "data/video").glob("*.wav")):
        transcript = wav.with_suffix(".txt").read_text() if use_transcript else None
        analysis = analyzer.analyse(probe(wav), transcript, resolve("en"))
        clip = synthesise(analysis, AnimateOptions(fps=100.0))
        t = clip.times()
        table = np.column_stack([t, clip.channels["jawOpen"], clip.channels["mouthClose"]])
        np.savetxt(out / f"{wav.stem}.csv", table, delimiter=",", fmt="%.4f", header="time_s,jawOpen,mouthClose",
                   comments="")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--no-transcript", action="store_true")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    if not (SHARED / "tools/score_lipsync.py").exists():
        print(f"needs {SHARED}/tools/score_lipsync.py and {SHARED}/data/video", file=sys.stderr)
        return 2
    out = args.out or Path(tempfile.mkdtemp(prefix="vividtalk_grid_"))
    out.mkdir(parents=True, exist_ok=True)
    write_predictions(out, not args.no_transcript)
    return subprocess.call([sys.executable, str(SHARED / "tools/score_lipsync.py"), str(out)])


if __name__ == "__main__":
    sys.exit(main())
