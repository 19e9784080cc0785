"""How the mouth's opening splits between the lips: real speakers against our lip sync on the same speech.

    python -m benchmarks.lip_share

For each GRID development clip the video is tracked with MediaPipe's face mesh and the clip's own sound (with its
transcript) is animated on the built-in portrait rig. On both, the inner lips' midpoints (mesh points 13 and 14)
are measured against the nasal bridge (168), across the face's vertical, in eye-corner distances. A straight line
fitted to each lip's travel against the inner-lip gap gives its share of the opening: how much of the gap the
upper lip makes by rising, and the lower lip by falling. Real speakers raise the upper lip by about a quarter of
the gap; a lip sync in which only the jaw moves shows the upper teeth at one height whatever the opening.
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

UPPER_INNER, LOWER_INNER, NASAL_BRIDGE = 13, 14, 168
MOUTH_CORNERS = (61, 291)


def lip_travel(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per frame (points: T, N, 2 image coordinates, y down): the inner-lip gap, and how far below the nasal
    bridge the upper and the lower lip sit, along the face's vertical, all in eye-corner distances."""
    eye_line = points[:, EYE_OUTER[1]] - points[:, EYE_OUTER[0]]
    eye = np.linalg.norm(eye_line, axis=1)
    down = np.stack([-eye_line[:, 1], eye_line[:, 0]], axis=1) / eye[:, None]  # the face's vertical, downward

    def below_bridge(i: int) -> np.ndarray:
        return ((points[:, i] - points[:, NASAL_BRIDGE]) * down).sum(axis=1) / eye

    upper, lower = below_bridge(UPPER_INNER), below_bridge(LOWER_INNER)
    return lower - upper, upper, lower


def shares(points: np.ndarray) -> tuple[float, float, float]:
    """The upper lip's and the lower lip's share of the opening (slopes of their travel against the gap; they
    add up to 1), and the gap's 95th percentile."""
    gap, upper, lower = lip_travel(points)
    rise = np.polyfit(gap, -upper, 1)[0]
    fall = np.polyfit(gap, lower, 1)[0]
    return float(rise), float(fall), float(np.percentile(gap, 95))


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
    print(f"{'clip':8s}  {'upper lip share':>17s}  {'lower lip share':>17s}  {'gap p95':>15s}  "
          f"{'width p5':>15s}  {'width p95':>15s}")
    print(f"{'':8s}" + f"  {'real':>8s} {'ours':>8s}" * 2 + f"  {'real':>7s} {'ours':>7s}" * 3)
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
    return f"  {real:8.3f} {ours:8.3f}" if column < 2 else f"  {real:7.3f} {ours:7.3f}"


if __name__ == "__main__":
    sys.exit(main())
