"""Head motion learned from a reference video (``--head-from``): the reference speaker's tracked head rotation
against the motion generated for other speech, on the GRID dev videos in ../shared/data/video.

    python -m benchmarks.head_from_video [--no-lively]

For each dev video: its tracked rotation (standard deviation per axis, median angular speed), and the same
figures for a style learned from it driving each of the other dev clips' audio (mean over them). The bar (issue
"Motion that looks alive"): generated std and speed within ±35 % of the tracked reference's.

The GRID speakers read 3 s sentences and hardly move. A lively speaker is made too: the address and a monologue
(37.7 s) animated with ``--head-style lively`` and rendered on flux_woman_0033, whose true head rotation is the
clip's: the tracker against that truth, and the style learned from the video driving three other recordings (two
seeds each).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from benchmarks.head_styles import AXES, head_angles, head_statistics
from inference.audio.analysis import Analyzer
from inference.audio.decode import probe
from inference.audio.languages import resolve
from inference.motion.head_tracking import track_head
from inference.pipeline import AnimateOptions, head_style_from_video, synthesise

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
VIDEOS = SHARED / "video"
LIVELY_SPEECH = ("en/jfk_ask_not", "en/mfa_acoustic_corpus")
OTHER_SPEECH = (("en/mfa_cold_corpus", "en"), ("multi/de_aeneas_simplicissimus", "de"), ("en/librivox_ss01_0920", "en"))


def spread_and_speed(angles: np.ndarray, fps: float) -> tuple[np.ndarray, float]:
    """(std per axis, median angular speed in degrees/s) of (T, 3) rotations."""
    stats = head_statistics(angles, fps)
    return np.array([stats[a] for a in AXES]), float(stats["speed50"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-lively", action="store_true", help="only the GRID videos")
    args = ap.parse_args()
    grid()
    if not args.no_lively:
        lively()


def _axes(values, digits: int = 2) -> str:
    """Per-axis figures (pitch/yaw/roll) as one column."""
    return "/".join(f"{v:.{digits}f}" for v in values)


def grid() -> None:
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
        print(f"{video.stem:10s} {_axes(ref_std):>20s} {ref_speed:7.1f}   {_axes(gen_std):>20s} {gen_speed:7.1f}   "
              f"{_axes(std_ratio):>16s} {speed_ratio:11.2f}")
    worst = max(max(np.abs(s - 1).max(), abs(v - 1)) for s, v in ratios)
    print(f"largest deviation from the reference: {worst * 100:.0f} % (bar: 35 %)")


def lively() -> None:
    """A rendered lively speaker (true rotation known): tracker against truth, style against the tracked."""
    from inference.pipeline import animate
    from inference.progress import Progress
    from inference.render.job import render_video
    from inference.render.mesh_frames import frames_from_clip
    from inference.rigs.portrait import portrait_rig_from_file

    analyzer = Analyzer()
    with tempfile.TemporaryDirectory() as tmp:
        wav, video = Path(tmp) / "lively.wav", Path(tmp) / "lively.mp4"
        sf.write(wav, np.concatenate([sf.read(SHARED / "speech" / f"{name}.wav")[0] for name in LIVELY_SPEECH]), 16000)
        clip = animate(wav, AnimateOptions(head_style="lively"), Progress())
        rig = portrait_rig_from_file(SHARED / "portraits" / "flux_woman_0033.png")
        render_video(rig, frames_from_clip(clip, rig), video, str(wav), size=512, progress=Progress())
        truth = head_angles(clip.head)
        true_std, true_speed = spread_and_speed(truth, clip.fps)
        track = track_head(video)
        ref_std, ref_speed = spread_and_speed(track.angles, track.fps)
        n = min(len(truth), len(track.angles))
        r = [np.corrcoef(truth[:n, k], track.angles[:n, k])[0, 1] for k in range(3)]
        print(f"\nlively speaker ({clip.duration:.1f} s rendered): true std p/y/r {_axes(true_std)}, speed "
              f"{true_speed:.1f}; tracked {_axes(ref_std)}, speed {ref_speed:.1f}; tracked against true r "
              f"{_axes(r, 3)}")
        style = head_style_from_video(video)
        worst = 0.0
        for name, lang in OTHER_SPEECH:
            path = SHARED / "speech" / f"{name}.wav"
            analysis = analyzer.analyse(probe(path), path.with_suffix(".txt").read_text(encoding="utf-8"),
                                        resolve(lang))
            for seed in (0, 1):
                made = synthesise(analysis, AnimateOptions(head_style_model=style, seed=seed))
                gen_std, gen_speed = spread_and_speed(head_angles(made.head), made.fps)
                std_ratio, speed_ratio = gen_std / np.maximum(ref_std, 1e-9), gen_speed / ref_speed
                worst = max(worst, np.abs(std_ratio - 1).max(), abs(speed_ratio - 1))
                print(f"  driving {path.stem} ({made.duration:.0f} s), seed {seed}: std ratio {_axes(std_ratio)}, "
                      f"speed ratio {speed_ratio:.2f}")
        print(f"largest deviation from the tracked lively speaker: {worst * 100:.0f} % (bar: 35 %)")


if __name__ == "__main__":
    main()
