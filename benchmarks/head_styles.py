"""Head motion per style (``--head-style calm|conversational|lively``) on the real speech in ../shared/data.

    python -m benchmarks.head_styles

For each recording (English with transcripts, the other languages with theirs) and each style: the standard
deviation of pitch, yaw and roll (degrees), the median and 90th-percentile angular speed (degrees/s) and nods
per minute (downward pitch peaks of at least 1 degree). What the styles aim at (the issue "Motion that looks
alive", from real talking videos): calm, a reader, well under 1 degree on every axis; conversational 1.5-3
degrees of yaw; lively, a presenter, 3-8 degrees of yaw with quick turns.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from inference.audio.analysis import Analyzer
from inference.audio.decode import probe
from inference.audio.languages import resolve
from inference.motion.head import STYLES
from inference.motion.head_codebook import angular_speeds
from inference.motion.peaks import find_peaks
from inference.pipeline import AnimateOptions, synthesise

SPEECH = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "speech"


def recordings() -> list[tuple[Path, str | None, str]]:
    out = []
    for folder, lang in (("en", "en"), ("multi", None)):
        for wav in sorted((SPEECH / folder).glob("*.wav")):
            if "silence" in wav.name:
                continue
            text = wav.with_suffix(".txt")
            out.append((wav, text.read_text(encoding="utf-8") if text.exists() else None, lang or wav.name[:2]))
    return out


AXES = ("pitch", "yaw", "roll")


def head_angles(head: dict[str, np.ndarray]) -> np.ndarray:
    """A clip's head channels as (T, 3) pitch, yaw, roll."""
    return np.stack([np.asarray(head[a], float) for a in AXES], 1)


def head_statistics(h: np.ndarray, fps: float) -> dict[str, float]:
    """Spread per axis, angular speed and nods of (T, 3) head rotations in degrees."""
    speed = angular_speeds(h, fps)
    nods, _ = find_peaks(h[:, 0], distance=fps * 0.3, min_prominence=1.0)
    minutes = len(h) / fps / 60
    return {"pitch": h[:, 0].std(), "yaw": h[:, 1].std(), "roll": h[:, 2].std(), "speed50": np.median(speed),
            "speed90": np.percentile(speed, 90), "nods_per_min": len(nods) / max(minutes, 1e-9)}


def blinks_per_minute(clip) -> float:
    """Blinks (the left lid closing past half) per minute of the clip."""
    lid = np.asarray(clip.channels.get("eyeBlinkLeft", np.zeros(clip.n_frames))) > 0.5
    closings = np.count_nonzero(lid[1:] & ~lid[:-1]) + int(lid[:1].sum())
    return closings / max(clip.duration / 60, 1e-9)


def main() -> None:
    analyzer = Analyzer()
    table: dict[str, list[dict[str, float]]] = {s: [] for s in STYLES}
    blinks: list[tuple[float, float]] = []  # (per minute, seconds) of each recording
    print(f"{'recording':32s} {'s':>5s} " + "  ".join(f"{s:>26s}" for s in STYLES))
    for wav, text, lang in recordings():
        analysis = analyzer.analyse(probe(wav), text, resolve(lang))
        cells = []
        for style in STYLES:
            clip = synthesise(analysis, AnimateOptions(transcript=text, language=lang, head_style=style))
            stats = head_statistics(head_angles(clip.head), clip.fps)
            if style == "conversational":
                blinks.append((blinks_per_minute(clip), clip.duration))
            table[style].append(stats)
            cells.append(f"{stats['pitch']:4.1f}/{stats['yaw']:4.1f}/{stats['roll']:4.1f} {stats['speed50']:4.1f}°/s "
                         f"{stats['nods_per_min']:3.0f}")
        print(f"{wav.name[:32]:32s} {analysis.duration:5.1f} " + "  ".join(f"{c:>26s}" for c in cells))
    print("\nmean over recordings (std pitch/yaw/roll in degrees, speed median / p90 in degrees/s, nods/min):")
    for style, rows in table.items():
        m = {k: np.mean([r[k] for r in rows]) for k in rows[0]}
        print(f"  {style:15s} {m['pitch']:.2f} / {m['yaw']:.2f} / {m['roll']:.2f}   speed {m['speed50']:.1f} / "
              f"{m['speed90']:.1f}   nods {m['nods_per_min']:.0f}/min")
    long = [rate for rate, seconds in blinks if seconds >= 20]
    print(f"blinks per minute on the recordings of 20 s or more: {', '.join(f'{r:.0f}' for r in long)} "
          f"(all recordings, weighted by length: {sum(r * s for r, s in blinks) / sum(s for _, s in blinks):.0f})")


if __name__ == "__main__":
    main()
