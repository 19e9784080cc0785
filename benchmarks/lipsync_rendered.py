"""Lip sync end to end: the mouth in our rendered video against the mouths tracked in real speech videos.

    python -m benchmarks.lipsync_rendered [PHOTO ...] [--no-transcript] [--size 512]

``benchmarks.lipsync_grid`` scores the jawOpen curve; a viewer sees the rendered mouth. Here each GRID development
clip's sound (with its transcript unless --no-transcript) is animated, rendered on each portrait (the portraits in
../shared/data without arguments), and MediaPipe's face mesh re-tracks the rendered lips frame by frame. Their gap
over the eye-corner distance, times 4, is handed to ../shared/tools/score_lipsync.py as the prediction's jawOpen
(the scorer counts a tracked closure below a gap of 0.025 and a predicted one below 0.1: the factor 4 puts both on
one scale), so r, lag and closure F1 mean what they mean for the curves, measured on what a viewer sees.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.mouth_interior import EYE_OUTER, face_mesh_points, render_clip

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
GAP_TO_JAW = 4.0  # the scorer's closure thresholds: a tracked gap of 0.025 <-> a predicted aperture of 0.1


def rendered_gaps(photo: Path, wav: Path, transcript: str | None, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(times in seconds, re-tracked lip gap over the eye-corner distance) of ``wav`` animated and rendered on
    ``photo``; frames without a face hold the gap before them."""
    from inference.pipeline import AnimateOptions, animate
    from inference.progress import Progress

    clip = animate(wav, AnimateOptions(transcript=transcript), Progress())
    gaps, last = [], 0.0
    for _, points in face_mesh_points(render_clip(clip, photo, size)):
        if points is not None:
            last = float(np.linalg.norm(points[13] - points[14])
                         / max(np.linalg.norm(points[EYE_OUTER[0]] - points[EYE_OUTER[1]]), 1e-6))
        gaps.append(last)
    return np.arange(len(gaps)) / clip.fps, np.array(gaps)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("photos", nargs="*", type=Path)
    ap.add_argument("--no-transcript", action="store_true")
    ap.add_argument("--size", type=int, default=512)
    args = ap.parse_args()
    scorer = SHARED / "tools/score_lipsync.py"
    clips = sorted((SHARED / "data/video").glob("*.wav"))
    if not scorer.exists() or not clips:
        print(f"needs {scorer} and the GRID clips in {SHARED}/data/video", file=sys.stderr)
        return 2
    photos = args.photos or sorted((SHARED / "data/portraits").glob("*.png"))
    for photo in photos:
        with tempfile.TemporaryDirectory(prefix="vividtalk_rendered_") as out:
            for wav in clips:
                transcript = None if args.no_transcript else wav.with_suffix(".txt").read_text()
                times, gaps = rendered_gaps(photo, wav, transcript, args.size)
                np.savetxt(Path(out) / f"{wav.stem}.csv", np.column_stack([times, GAP_TO_JAW * gaps]), delimiter=",",
                           fmt="%.4f", header="time_s,jawOpen", comments="")
            result = subprocess.run([sys.executable, str(scorer), out], capture_output=True, text=True)
            last = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr.strip()
            print(f"{photo.stem}: {last}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
