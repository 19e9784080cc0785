"""How closely the ICT-FaceKit head fits portraits: mean and worst 2-D landmark error, in % of the eye-corner
distance, per photo and per region, and the time the fit takes.

    python -m benchmarks.head_fit [PHOTO ...] [--leave-one-out] [--speed]
        (default photos: the portraits in ../shared/data and the built-in one)

--leave-one-out rebuilds the correspondence table without each photo (tools/build_head_correspondence.py) before
fitting it, so the table has not seen the face it is judged on (about a minute per photo). --speed times the
whole head from a photo, warm (fit, texture, rig, the rig file written) and evaluating 1,800 frames of it.
The bars (issue "The 3D head"): mean error <= 1.5 % of the distance between the outer eye corners; fitting and
writing <= 2 s warm; 1,800 frames <= 1 s.
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


def leave_one_out(photos: list[Path]) -> None:
    import subprocess
    import sys
    import tempfile

    from inference.rigs.head_fit import Correspondence

    tool = Path(__file__).resolve().parents[1] / "tools" / "build_head_correspondence.py"
    model = read_npz(builtin_head_path())
    for held in photos:
        table = Path(tempfile.mkdtemp(prefix="vividtalk_loo_")) / "table.npz"
        subprocess.run([sys.executable, str(tool), *[str(p) for p in photos if p != held], "-o", str(table)],
                       check=True, capture_output=True)
        with np.load(table) as z:
            corr = Correspondence(z["mp_index"], z["triangles"].astype(int), z["barycentric"].astype(float))
        fit = fit_head(detect_landmarks(load_rgb(held), held), LandmarkBasis.of(model, corr), corr)
        print(f"leave-one-out {held.name:24s} mean {fit.mean_error_percent:.2f} %  max "
              f"{fit.errors_iod.max() * 100:.2f} %")


def speed(photo: Path) -> None:
    import tempfile

    from inference.render.mesh_frames import CHUNK_FRAMES
    from inference.rigs.ict import load_ict_rig

    load_ict_rig(None, photo)  # warm: imports, MediaPipe's model, the texture's UV layout
    started = time.perf_counter()
    rig = load_ict_rig(None, photo)
    rig.save(Path(tempfile.mkdtemp(prefix="vividtalk_speed_")) / "head.npz")
    built = time.perf_counter() - started
    rng = np.random.default_rng(0)
    channels = {n: rng.random(1800).astype(np.float32) * 0.3 for n in rig.shape_names}
    channels |= {"head.yaw": rng.random(1800) * 5, "head.pitch": rng.random(1800) * 5}
    # as the renderer reads them: CHUNK_FRAMES at a time, here into one reused buffer
    buffer = np.empty((CHUNK_FRAMES, rig.n_vertices, 3), np.float32)
    started = time.perf_counter()
    for a in range(0, 1800, CHUNK_FRAMES):
        piece = {k: v[a:a + CHUNK_FRAMES] for k, v in channels.items()}
        rig.evaluate(piece, CHUNK_FRAMES, out=buffer)
    chunked = time.perf_counter() - started
    started = time.perf_counter()
    rig.evaluate(channels, 1800)
    whole = time.perf_counter() - started
    print(f"{photo.name}: fit + texture + rig + file, warm {built:.2f} s; 1,800 frames of {rig.n_vertices} "
          f"vertices {chunked:.2f} s in {CHUNK_FRAMES}-frame pieces, {whole:.2f} s as one "
          f"{1800 * rig.n_vertices * 12 / 1e6:.0f} MB array")


def main() -> None:
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")  # as the command line runs (cli.main)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("photos", nargs="*", type=Path)
    ap.add_argument("--leave-one-out", action="store_true")
    ap.add_argument("--speed", action="store_true")
    args = ap.parse_args()
    photos = args.photos or sorted(PORTRAITS.glob("*.png"))
    if args.leave_one_out:
        leave_one_out(photos)
    if args.speed:
        speed(photos[0])
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
