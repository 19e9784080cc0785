"""Head motion learned from a reference video (``--head-from``): the reference speaker's tracked head rotation
against the motion generated for other speech, on the GRID dev videos in ../shared/data/video.

    python -m benchmarks.head_from_video

For each dev video: its tracked rotation (standard deviation per axis, median angular speed), and the same
figures for a style learned from it driving each of the other dev clips' audio (mean over them). The bar (issue
"Motion that looks alive"): generated std and speed within ±35 % of the tracked reference's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.head_styles import AXES, head_angles, head_statistics
from inference.audio.analysis import Analyzer
from inference.audio.decode import probe
from inference.audio.languages import resolve
from inference.motion.head_tracking import track_head
from inference.pipeline import AnimateOptions, head_style_from_video, synthesise

VIDEOS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "video"


def spread_and_speed(angles: np.ndarray, fps: float) -> tuple[np.ndarray, float]:
    """(std per axis, median angular speed in degrees/s) of (T, 3) rotations."""
    stats = head_statistics(angles, fps)
    return np.array([stats[a] for a in AXES]), float(stats["speed50"])


def main() -> None:
    videos = sorted(VIDEOS.glob("*.mpg"))
    analyzer = Analyzer()
    analyses = {v: analyzer.analyse(probe(v.with_suffix(".wav")), v.with_suffix(".txt").read_text(encoding="utf-8"),
                                    resolve("en")) for v in videos}
    print(f"{'reference':10s} {'tracked std p/y/r':>20s} {'speed':>7s}   {'generated std p/y/r':>20s} {'speed':>7s}"
          f"   {'std ratio':>16s} {'speed ratio':>11s}")
    ratios = []
    for video in videos:
        track = track_head(video)
        ref_std, ref_speed = spread_and_speed(track.angles, track.fps)
        style = head_style_from_video(video)
        generated = []
        for other, analysis in analyses.items():
            if other == video:
                continue
            clip = synthesise(analysis, AnimateOptions(head_style_model=style, seed=len(generated)))
            generated.append(spread_and_speed(head_angles(clip.head), clip.fps))
        gen_std = np.mean([g[0] for g in generated], axis=0)
        gen_speed = float(np.mean([g[1] for g in generated]))
        std_ratio, speed_ratio = gen_std / np.maximum(ref_std, 1e-9), gen_speed / ref_speed
        ratios.append((std_ratio, speed_ratio))
        print(f"{video.stem:10s} {'/'.join(f'{v:.2f}' for v in ref_std):>20s} {ref_speed:7.1f}   "
              f"{'/'.join(f'{v:.2f}' for v in gen_std):>20s} {gen_speed:7.1f}   "
              f"{'/'.join(f'{v:.2f}' for v in std_ratio):>16s} {speed_ratio:11.2f}")
    worst = max(max(np.abs(s - 1).max(), abs(v - 1)) for s, v in ratios)
    print(f"largest deviation from the reference: {worst * 100:.0f} % (bar: 35 %)")


if __name__ == "__main__":
    main()
