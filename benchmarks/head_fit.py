"""How closely the ICT-FaceKit head fits portraits: mean and worst 2-D landmark error, in % of the eye-corner
distance, per photo and per region, and the time the fit takes.

    python -m benchmarks.head_fit [PHOTO ...]      (default: the portraits in ../shared/data and the built-in one)

The bar (issue "The 3D head"): mean error <= 1.5 % of the distance between the outer eye corners.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from inference.io.images import load_rgb
from inference.rigs import mediapipe_topology as mt
from inference.rigs.head_fit import LandmarkBasis, builtin_correspondence, fit_head
from inference.rigs.ict import builtin_head_path
from inference.rigs.ict_model import read_npz
from inference.rigs.landmarks import detect_landmarks

PORTRAITS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "portraits"
REGIONS = {
    "lips": set(mt.LIP_UPPER_OUTER + mt.LIP_LOWER_OUTER + mt.LIP_UPPER_INNER + mt.LIP_LOWER_INNER),
    "eyelids": {i for side in "LR" for i in (*mt.EYE_UPPER[side], *mt.EYE_LOWER[side])},
    "brows": {i for side in "LR" for i in mt.BROW[side]},
    "oval": set(mt.FACE_OVAL),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("photos", nargs="*", type=Path)
    args = ap.parse_args()
    photos = args.photos or sorted(PORTRAITS.glob("*.png"))
    corr = builtin_correspondence()
    basis = LandmarkBasis.of(read_npz(builtin_head_path()), corr)
    images = [("built-in astronaut", None)] + [(p.name, p) for p in photos]
    print(f"{'photo':24s} {'mean %':>7s} {'max %':>6s} " + " ".join(f"{r:>8s}" for r in REGIONS) + "  fit ms")
    for name, path in images:
        if path is None:
            from skimage.data import astronaut

            rgb = astronaut()
        else:
            rgb = load_rgb(path)
        lm = detect_landmarks(rgb, name)
        fit_head(lm, basis, corr)  # warm
        started = time.perf_counter()
        fit = fit_head(lm, basis, corr)
        ms = (time.perf_counter() - started) * 1000
        region = [np.mean([e for i, e in zip(fit.mp_index, fit.errors_iod, strict=True) if i in ids]) * 100
                  for ids in REGIONS.values()]
        print(f"{name:24s} {fit.mean_error_percent:7.2f} {fit.errors_iod.max() * 100:6.2f} "
              + " ".join(f"{r:8.2f}" for r in region) + f"  {ms:6.0f}")


if __name__ == "__main__":
    main()
