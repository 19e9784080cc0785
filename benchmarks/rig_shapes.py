"""How closely the portrait rig's procedural ARKit shapes agree with ICT-FaceKit's artist-made ones.

Both neutral faces are aligned on 51 corresponding landmarks (iBUG-68 points 17-67 and the chin, which
ICT ships and MediaPipe has equivalents for) with a similarity transform. For each ARKit shape, the
displacements of those landmarks at weight 1 are compared: direction as the motion-weighted cosine, size
as the ratio of RMS displacement (ours / ICT). Run: ``python -m benchmarks.rig_shapes [PHOTO ...]``.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inference.rigs.flame import similarity_transform
from inference.rigs.ict import load_ict_rig
from inference.rigs.mediapipe_topology import IBUG_TO_MEDIAPIPE
from inference.rigs.portrait import default_portrait_rig, portrait_rig_from_file
from inference.rigs.rig import FaceRig

ICT_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "heads" / "ict_facekit"

MOVING_MM = 0.5


@dataclass
class ShapeAgreement:
    name: str
    cosine: float  # motion-weighted mean cosine between displacement directions
    size_ratio: float  # RMS displacement, ours / ICT
    ict_max_mm: float
    ours_max_mm: float


def landmark_motion(rig: FaceRig, idx: np.ndarray, channel: str) -> np.ndarray:
    frames = rig.evaluate({channel: np.array([0.0, 1.0])}, 2)
    return (frames[1, idx] - frames[0, idx]).astype(np.float64) * 1000.0


def compare(portrait: FaceRig, ict: FaceRig, ict_multipie: np.ndarray) -> list[ShapeAgreement]:
    ours_idx = np.array(list(IBUG_TO_MEDIAPIPE.values()))
    ict_idx = ict_multipie[list(IBUG_TO_MEDIAPIPE)]
    _, rot, _ = similarity_transform(portrait.vertices[ours_idx], ict.vertices[ict_idx])
    rows = []
    for name in sorted(set(ict.channels_used()) & set(portrait.channels_used())):
        if name.startswith("head."):
            continue
        theirs = landmark_motion(ict, ict_idx, name)
        ours = landmark_motion(portrait, ours_idx, name) @ rot.T  # directions in ICT's frame
        n_t, n_o = np.linalg.norm(theirs, axis=1), np.linalg.norm(ours, axis=1)
        moving = n_t > MOVING_MM
        if not moving.any() or n_o.max() == 0:  # e.g. gaze: our rig turns the irises, not these points
            continue
        cos = (theirs * ours).sum(1)[moving] / np.maximum(n_t * n_o, 1e-9)[moving]
        rows.append(ShapeAgreement(
            name, float(np.average(cos, weights=n_t[moving])),
            float(np.sqrt((n_o[moving] ** 2).mean() / (n_t[moving] ** 2).mean())), float(n_t.max()), float(n_o.max())))
    return rows


def print_speed(repeats: int = 5) -> None:
    """Portrait rig build time (photo already decoded, MediaPipe loaded once) and 1,800-frame evaluation."""
    from skimage.data import astronaut

    from inference.rigs.portrait import build_portrait_rig

    image = astronaut()
    rig = build_portrait_rig(image)  # warms MediaPipe's model
    build = []
    for _ in range(repeats):
        t = time.perf_counter()
        rig = build_portrait_rig(image)
        build.append(time.perf_counter() - t)
    rng = np.random.default_rng(0)
    channels = {k: rng.uniform(0, 1, 1800) for k in rig.shape_names} | {"head.yaw": rng.uniform(-10, 10, 1800)}
    evaluate = []
    for _ in range(repeats):
        t = time.perf_counter()
        rig.evaluate(channels)
        evaluate.append(time.perf_counter() - t)
    print(f"portrait rig: build {np.median(build) * 1000:.0f} ms, evaluate 1800 frames "
          f"{np.median(evaluate) * 1000:.0f} ms (medians of {repeats})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("photos", nargs="*", help="portrait photos (default: the built-in astronaut)")
    args = ap.parse_args()
    ict = load_ict_rig(ICT_DIR)
    with np.load(ICT_DIR / "ict_arkit.npz") as z:
        multipie = z["landmarks_multipie68"]
    rigs = [portrait_rig_from_file(p) for p in args.photos] or [default_portrait_rig()]
    print_speed()
    for rig in rigs:
        rows = compare(rig, ict, multipie)
        print(f"# {rig.meta['source']}\n{'shape':22s} {'cosine':>7s} {'size':>6s} {'ICT mm':>7s} {'ours mm':>8s}")
        for r in rows:
            print(f"{r.name:22s} {r.cosine:7.2f} {r.size_ratio:6.2f} {r.ict_max_mm:7.1f} {r.ours_max_mm:8.1f}")
        cos = np.array([r.cosine for r in rows])
        print(f"shapes: {len(rows)}  median cosine {np.median(cos):.2f}  cosine>0.7: {(cos > 0.7).sum()}  "
              f"median size ratio {np.median([r.size_ratio for r in rows]):.2f}")


if __name__ == "__main__":
    main()
