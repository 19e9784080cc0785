"""How the mouth's opening splits between the lips: real speakers against our lip sync on the same speech.

    python -m benchmarks.lip_share

For each GRID development clip the video is tracked with MediaPipe's face mesh and the clip's own sound (with its
transcript) is animated on the built-in portrait rig. On both, the inner lips' midpoints (mesh points 13 and 14)
are measured against the point under the nose (2), along the face's vertical, in eye-corner distances: the jaw
does not move that point, and the bridge of the nose would not do (against it every point below the eyes rises with
the opening, the point under the nose by 6 % of the gap: the head, or the tracked mesh, tilts back a little). A
straight line fitted to each lip's travel against the inner-lip gap gives its share of the opening: how much of
the gap the upper lip makes by rising, and the lower lip by falling. Real speakers raise the middle of the
upper lip by about a sixth of the gap, its outer edge (0) by about a ninth, and its sides (the inner edge two thirds
of the way to the corners, 80 and 310) not at all (rigs/lip_bow.py); a lip sync in which only the jaw moves shows
the upper teeth at one height whatever the opening, and one that lifts the whole upper lip reads as a raised lip.
The lower lip's sides (its inner edge three fifths of the way to the corners, 88 and 318) drop about 0.73 as far as
its middle: a jaw that drops the whole lip alike opens the mouth into a box.
Also printed: the 95th percentile of the gap, how wide the mouth opens at its widest, and how narrow and how wide
the mouth gets (the 5th and 95th percentiles of the corners' distance, 61 to 291, over its median): rounded vowels
narrow it, spread ones widen it. Real speakers' narrowest is about 0.95 of their usual width in connected speech; a
lip sync that rounds every "oo" as if it were held (0.85 here before the rounding was calibrated on it) reads to
MediaPipe's FaceLandmarker as a wide-open jaw.
"""

from __future__ import annotations

import sys

import numpy as np

from benchmarks.mouth_interior import EYE_OUTER, SHARED, face_mesh_points, video_frames

UPPER_INNER, LOWER_INNER, UNDER_NOSE = 13, 14, 2
UPPER_OUTER, UPPER_SIDES = 0, (80, 310)
LOWER_SIDES = (88, 318)
MOUTH_CORNERS = (61, 291)


def below_nose(points: np.ndarray, index: int | tuple[int, ...]) -> np.ndarray:
    """Per frame (points: T, N, 2 image coordinates, y down): how far below the point under the nose the mesh point
    ``index`` sits (the mean of several), along the face's vertical, in eye-corner distances."""
    eye_line = points[:, EYE_OUTER[1]] - points[:, EYE_OUTER[0]]
    eye = np.linalg.norm(eye_line, axis=1)
    down = np.stack([-eye_line[:, 1], eye_line[:, 0]], axis=1) / eye[:, None]  # the face's vertical, downward
    where = points[:, list(np.atleast_1d(index))].mean(axis=1)
    return ((where - points[:, UNDER_NOSE]) * down).sum(axis=1) / eye


def lip_travel(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per frame: the inner-lip gap, and how far below the point under the nose the upper and the lower lip sit."""
    upper, lower = below_nose(points, UPPER_INNER), below_nose(points, LOWER_INNER)
    return lower - upper, upper, lower


def shares(points: np.ndarray) -> tuple[float, float, float, float, float, float]:
    """The share of the opening (slopes of their travel against the gap) the upper lip's middle makes by rising and
    the lower lip's by falling (they add up to 1), the upper lip's outer edge and its sides by rising, the lower
    lip's sides' drop over its middle's, and the gap's 95th percentile."""
    gap, upper, lower = lip_travel(points)
    rise = np.polyfit(gap, -upper, 1)[0]
    fall = np.polyfit(gap, lower, 1)[0]
    outer = np.polyfit(gap, -below_nose(points, UPPER_OUTER), 1)[0]
    sides = np.polyfit(gap, -below_nose(points, UPPER_SIDES), 1)[0]
    lower_sides = np.polyfit(gap, below_nose(points, LOWER_SIDES), 1)[0] / fall
    return float(rise), float(fall), float(outer), float(sides), float(lower_sides), float(np.percentile(gap, 95))


def width_range(points: np.ndarray) -> tuple[float, float]:
    """How narrow and how wide the mouth gets: the 5th and 95th percentiles of the mouth corners' distance over its
    median (points: T, N, 2)."""
    width = np.linalg.norm(points[:, MOUTH_CORNERS[0]] - points[:, MOUTH_CORNERS[1]], axis=1)
    low, high = np.percentile(width, [5, 95]) / np.median(width)
    return float(low), float(high)


def tracked_points(video) -> np.ndarray:
    """Face-mesh points (T, 478, 2) of every frame a face is found in."""
    return np.asarray([points for _, points in face_mesh_points(video_frames(video)) if points is not None])


def animated_points(wav, transcript: str) -> np.ndarray:
    """The built-in portrait rig's vertices animated by our lip sync, seen from the front (T, V, 2, y down); the
    head's own motion is left out, as a frontal reading of a still head."""
    from inference.pipeline import AnimateOptions, animate
    from inference.progress import Progress
    from inference.rigs.portrait import default_portrait_rig
    from inference.rigs.rig import clip_channels

    clip = animate(wav, AnimateOptions(transcript=transcript), Progress())
    rig = default_portrait_rig()
    mouth = {name: curve for name, curve in clip_channels(clip).items() if name.startswith(("jaw", "mouth"))}
    vertices = rig.evaluate(mouth).astype(np.float64)
    return np.stack([vertices[..., 0], -vertices[..., 1]], axis=-1)


def main() -> int:
    videos = sorted((SHARED / "video").glob("*.mpg"))
    if not videos:
        print(f"needs the GRID clips in {SHARED}/video", file=sys.stderr)
        return 2
    print(f"{'clip':8s}  {'upper lip share':>17s}  {'lower lip share':>17s}  {'outer edge':>17s}  "
          f"{'sides':>17s}  {'lower sides':>17s}  {'gap p95':>15s}  {'width p5':>15s}  {'width p95':>15s}")
    print(f"{'':8s}" + f"  {'real':>8s} {'ours':>8s}" * 5 + f"  {'real':>7s} {'ours':>7s}" * 3)
    table = []
    for video in videos:
        tracked = tracked_points(video)
        animated = animated_points(video.with_suffix(".wav"), video.with_suffix(".txt").read_text().strip())
        real, ours = (*shares(tracked), *width_range(tracked)), (*shares(animated), *width_range(animated))
        table.append((real, ours))
        print(f"{video.stem:8s}" + "".join(_pair(r, o, k) for k, (r, o) in enumerate(zip(real, ours, strict=True))))
    mean = np.mean(table, axis=0)
    print(f"{'mean':8s}" + "".join(_pair(r, o, k) for k, (r, o) in enumerate(zip(*mean, strict=True))))
    return 0


def _pair(real: float, ours: float, column: int) -> str:
    return f"  {real:8.3f} {ours:8.3f}" if column < 5 else f"  {real:7.3f} {ours:7.3f}"


if __name__ == "__main__":
    sys.exit(main())
