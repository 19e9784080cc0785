"""Closing eyes: how shut the rendered lids read, on every portrait in ../shared/data/portraits.

    python -m benchmarks.blinks [--face-landmarker face_landmarker.task] [--size 512]

Each portrait is rendered with both eyes' eyeBlink at 0, 0.2, ... 1.0 (nothing else moving). Per frame:

- **lid** (eyes shut, eyeBlink 1): over the upper 60 % of the photo's eye opening (clear of the lash line), the
  darkest tenth's luma over the median of the skin around the eye (an annulus 1.4-2x the opening), the lower of
  the two eyes. Stretched lashes and lid pixels read dark (0.27-0.71 on these portraits before the lid was
  drawn); lid skin reads 0.8-1.
- **grain** (eyes shut): the spread (median absolute deviation) of the fine detail (luma minus its Gaussian blur,
  sigma 1.5 px) in the middle of the shut lid (from 15 to 50 % of the way down the photo's eye opening, clear of
  the lash line and the lid's top) over that of the skin around the eye, the lower of the two eyes. A lid drawn
  flat reads 0.25-0.5 at 1024²; skin reads about 1.
- **FaceLandmarker** (with ``--face-landmarker``): the mean of its eyeBlinkLeft/Right, a model of real faces reading
  our lids. Real blinks in the GRID clips of ../shared/data read 0.57-0.70 at their most shut (25 frames/s, so a
  blink's shut frame is often missed); a reading that rises steadily with the blink is what matters.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from benchmarks.mouth_interior import SHARED, blendshape_reader
from inference.io.images import load_rgb
from inference.render.portrait_renderer import PortraitRenderer
from inference.rigs import mediapipe_topology as mt
from inference.rigs.portrait import build_portrait_rig

BLINKS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


def lid_darkest(frame: np.ndarray, photo_px: np.ndarray) -> float:
    """The darkest tenth of the lid-covered part of both eye openings (photo landmarks ``photo_px``) over the skin
    around the eyes, the smaller of the two eyes'."""
    luma = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float64)
    ratios = []
    for side in ("L", "R"):
        upper, lower = photo_px[list(mt.EYE_UPPER[side])], photo_px[list(mt.EYE_LOWER[side])]
        covered = np.vstack([upper[1:-1], (upper + 0.6 * (lower - upper))[-2:0:-1]])
        lid, around = _masks(luma.shape, covered, np.vstack([upper, lower[::-1]]))
        if lid.any() and around.any():
            ratios.append(np.percentile(luma[lid > 0], 10) / max(np.median(luma[around > 0]), 1.0))
    return float(min(ratios)) if ratios else float("nan")


def lid_grain(frame: np.ndarray, photo_px: np.ndarray) -> float:
    """The fine detail's spread in the middle of both shut lids over that of the skin around the eyes (photo
    landmarks ``photo_px``), the smaller of the two eyes'."""
    luma = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float64)
    detail = luma - cv2.GaussianBlur(luma, (0, 0), 1.5)
    ratios = []
    for side in ("L", "R"):
        upper, lower = photo_px[list(mt.EYE_UPPER[side])], photo_px[list(mt.EYE_LOWER[side])]
        middle = np.vstack([(upper + 0.15 * (lower - upper))[1:-1], (upper + 0.5 * (lower - upper))[-2:0:-1]])
        lid, around = _masks(luma.shape, middle, np.vstack([upper, lower[::-1]]))
        if lid.any() and around.any():
            ratios.append(_spread(detail[lid > 0]) / max(_spread(detail[around > 0]), 1e-6))
    return float(min(ratios)) if ratios else float("nan")


def _masks(shape: tuple[int, ...], inside: np.ndarray, loop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A mask of the polygon ``inside``, and of the skin around the eye whose opening is ``loop``: the annulus from
    1.4 to 2 times the opening about its centre."""
    centre = loop.mean(0)
    region, around = np.zeros(shape[:2], np.uint8), np.zeros(shape[:2], np.uint8)
    cv2.fillPoly(region, [np.round(inside).astype(np.int32)], 1)
    cv2.fillPoly(around, [np.round(centre + 2.0 * (loop - centre)).astype(np.int32)], 1)
    cv2.fillPoly(around, [np.round(centre + 1.4 * (loop - centre)).astype(np.int32)], 0)
    return region, around


def _spread(values: np.ndarray) -> float:
    """The median absolute deviation, scaled to a normal distribution's standard deviation."""
    return 1.4826 * float(np.median(np.abs(values - np.median(values))))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--face-landmarker", type=Path, metavar="TASK",
                    help="MediaPipe's face_landmarker.task (Apache-2.0; not shipped): also report its eyeBlink")
    args = ap.parse_args()
    if args.face_landmarker is not None and not args.face_landmarker.is_file():
        ap.error(f"no such file: {args.face_landmarker}")
    print("FaceLandmarker's eyeBlink read at eyeBlink " + " ".join(f"{b:.1f}" for b in BLINKS))
    with blendshape_reader(args.face_landmarker, ("eyeBlinkLeft", "eyeBlinkRight")) as read:
        for portrait in sorted((SHARED / "portraits").glob("*.png")):
            rig = build_portrait_rig(load_rgb(portrait), source=portrait.name)
            renderer = PortraitRenderer(rig, size=args.size)
            readings = []
            for blink in BLINKS:
                frame = renderer.render(rig.evaluate({"eyeBlinkLeft": blink, "eyeBlinkRight": blink}, 1)[0])
                if read is not None:
                    readings.append(float(np.mean(read(frame))))
            darkest, grain = lid_darkest(frame, renderer.src_px), lid_grain(frame, renderer.src_px)
            line = f"{portrait.stem}: shut lid's darkest tenth over the skin {darkest:.2f}, grain {grain:.2f}"
            if readings:
                line += "; FaceLandmarker eyeBlink " + " ".join(f"{v:.2f}" for v in readings)
            print(line)


if __name__ == "__main__":
    main()
