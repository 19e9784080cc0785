"""The renderer on the CPU and on a CUDA GPU: do the frames agree, and what does each give, with how many workers.

    python -m benchmarks.render_devices --rig RIG.npz --motion CLIP.json [--audio VOICE.wav] [--sizes 512,1024]
                                        [--workers 1,2,4,8] [--frames 600] [--devices cpu,cuda]

``--device cuda`` samples the photo through the warp's map with torch ``grid_sample`` on the GPU; everything else
(the map, the mouth's geometry, the eyes) is built on the CPU in each worker. This prints, per size:

1. agreement: the first 60 frames rendered on each device, the CUDA frames' difference from the CPU's
   (largest, mean, share of pixels more than 2 levels apart);
2. render only: frames per second of the worker pool ``vividtalk render`` uses, per device and worker count
   (frames back in order, not encoded; counted from the first frame out);
3. end to end: the clip to an H.264 MP4 with its voice, as ``vividtalk render`` writes it with its own choice of
   workers (``auto_workers``), seconds of wall time per device.

The rig and the motion are files (``vividtalk rig --image``, ``vividtalk animate``), so the machine with the GPU
needs none of the audio stack. The 3-D head's fit and the person's matte need MediaPipe: ``--prepared DIR`` saves
them there where MediaPipe runs (``--devices cpu``) and reads them back on a machine without it. Runs with
OPENBLAS_NUM_THREADS=1, as the CLI does.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from inference.motion.clip import MotionClip
from inference.render import job
from inference.render.frame_pool import FramePool, auto_workers
from inference.render.mesh_frames import MeshFrames, frames_from_clip
from inference.render.portrait_renderer import PortraitRenderer, fitted_head, person_matte
from inference.rigs.rig import FaceRig

AGREEMENT_FRAMES = 60


class Prepared:
    """The head fit and the person matte per size, from ``folder`` where saved, else computed (and saved)."""

    def __init__(self, rig: FaceRig, folder: Path | None):
        self.rig, self.folder = rig, folder
        self._mattes: dict[int, np.ndarray | None] = {}
        path = folder / "head.npz" if folder else None
        if path and path.is_file():
            self.head = FaceRig.load(path)
        else:
            self.head = fitted_head(rig)
            if path and self.head is not None:
                folder.mkdir(parents=True, exist_ok=True)
                self.head.save(path)
        if self.head is None:
            raise SystemExit("the 3-D head could not be fitted (no MediaPipe here?): pass --prepared DIR saved "
                             "on a machine with it")

    def matte(self, size: int) -> np.ndarray | None:
        """Read or computed once per size: every device and worker count renders with it."""
        if size not in self._mattes:
            self._mattes[size] = self._read_or_find_matte(size)
        return self._mattes[size]

    def _read_or_find_matte(self, size: int) -> np.ndarray | None:
        path = self.folder / f"matte_{size}.npz" if self.folder else None
        if path and path.is_file():
            with np.load(path, allow_pickle=False) as saved:
                return saved["matte"]
        matte = person_matte(self.rig, size)
        if path and matte is not None:
            np.savez_compressed(path, matte=matte)
        return matte


def first_frames(frames: MeshFrames, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` frames' vertices and lip seals (the rig evaluated once, chunk by chunk)."""
    chunks = list(frames.chunks())
    return np.concatenate([v for v, _ in chunks])[:n], np.concatenate([s for _, s in chunks])[:n]


def agreement(rig: FaceRig, prepared: Prepared, frames: MeshFrames, size: int, devices: list[str]) -> str:
    """The other devices' frames against the first's: largest and mean difference, share over 2 levels."""
    verts, seal = first_frames(frames, AGREEMENT_FRAMES)
    rendered = {}
    for device in devices:
        renderer = PortraitRenderer(rig, size=size, device=device, head=prepared.head, matte=prepared.matte(size))
        rendered[device] = np.stack([renderer.render(v, float(s)) for v, s in zip(verts, seal, strict=True)])
    base = rendered[devices[0]].astype(np.int16)
    lines = []
    for device in devices[1:]:
        diff = np.abs(rendered[device].astype(np.int16) - base)
        lines.append(f"{device} against {devices[0]}: largest {diff.max()} levels, mean {diff.mean():.4f}, "
                     f"{(diff > 2).mean() * 100:.3f} % of values over 2 levels")
    return "; ".join(lines) or "one device only"


def pool_fps(rig: FaceRig, prepared: Prepared, frames: MeshFrames, size: int, n: int, device: str,
             workers: int) -> float:
    verts, seal = first_frames(frames, n)
    with FramePool(size, workers).start(rig, device=device, head=prepared.head, matte=prepared.matte(size)) as pool:
        out = pool.frames([(verts, seal)])
        next(out)
        started = time.perf_counter()
        count = sum(1 for _ in out)
    return count / (time.perf_counter() - started)


def end_to_end(rig: FaceRig, prepared: Prepared, frames: MeshFrames, size: int, device: str, audio: str | None,
               folder: Path) -> str:
    """``vividtalk render``'s own job, its head fit and person matte taken from ``prepared``."""
    job.fitted_head = lambda _rig: prepared.head
    job.person_matte = lambda _rig, size: prepared.matte(size)
    started = time.perf_counter()
    result = job.render_video(rig, frames, folder / f"clip_{device}_{size}.mp4", audio, size=size, device=device)
    seconds = time.perf_counter() - started
    return (f"{result.duration:.1f} s of motion -> MP4 at {size}², {device}, "
            f"{auto_workers(frames.n_frames, device)} worker(s): {seconds:.1f} s "
            f"({result.duration / seconds:.1f}x real time)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rig", required=True, type=Path, help="portrait rig (.npz, vividtalk rig --image)")
    ap.add_argument("--motion", required=True, type=Path, help="motion clip (.json, vividtalk animate)")
    ap.add_argument("--audio", default=None, help="voice to mux (default: the clip's own, where it is readable)")
    ap.add_argument("--sizes", default="512,1024")
    ap.add_argument("--workers", default="1,2,4,8")
    ap.add_argument("--frames", type=int, default=600)
    ap.add_argument("--devices", default="cpu,cuda")
    ap.add_argument("--prepared", type=Path, default=None, help="folder for the head fit and person mattes")
    args = ap.parse_args()
    rig = FaceRig.load(args.rig)
    prepared = Prepared(rig, args.prepared)
    clip = MotionClip.load(args.motion)
    frames = frames_from_clip(clip, rig)
    devices = args.devices.split(",")
    worker_counts = [int(w) for w in args.workers.split(",")]
    print(f"(cpu count {os.cpu_count()}; {frames.n_frames} frames, {frames.duration:.1f} s)", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            print(f"{size}²: {agreement(rig, prepared, frames, size, devices)}", flush=True)
            for device in devices:
                for workers in worker_counts:
                    fps = pool_fps(rig, prepared, frames, size, args.frames, device, workers)
                    print(f"render only, {size}², {device}, {workers} worker(s): {fps:.0f} frames/s", flush=True)
            for device in devices:
                print(end_to_end(rig, prepared, frames, size, device, args.audio, Path(tmp)), flush=True)


if __name__ == "__main__":
    main()
