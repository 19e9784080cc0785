"""Sampling the photo through a backward map: OpenCV on the CPU, torch ``grid_sample`` on a GPU.

Both take the map in source-image pixel indices (pixel centres at integers) and return uint8 RGB, so the
rest of the renderer does not care where the sampling ran. ``smooth_tears`` then antialiases the frame where
the map tears (whichever sampled it).
"""

from __future__ import annotations

from typing import Protocol

import cv2
import numpy as np

from ..errors import InputError

DEVICES = ("cpu", "cuda")
TEAR_SIGMA = 0.7


class Remapper(Protocol):
    def remap(self, backward: np.ndarray) -> np.ndarray: ...


class OpenCvRemapper:
    def __init__(self, source: np.ndarray):
        self.source = np.ascontiguousarray(source)

    def remap(self, backward: np.ndarray) -> np.ndarray:
        # the (h, w, 2) map as one two-channel map: split into x and y, OpenCV copied each strided half first.
        # Converted to OpenCV's fixed-point map first: remap samples at 1/32 px either way, so the frame is
        # bit-identical, and converting once then sampling took 1.55 ms against 1.77 at 512²
        whole, fraction = cv2.convertMaps(np.ascontiguousarray(backward, np.float32), None, cv2.CV_16SC2)
        return cv2.remap(self.source, whole, fraction, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


class TorchRemapper:
    """Bilinear sampling with ``torch.nn.functional.grid_sample`` (border padding, as OpenCV's replicate)."""

    def __init__(self, source: np.ndarray, device: str):
        import torch

        self.torch = torch
        self.device = torch.device(device)
        self.h, self.w = source.shape[:2]
        self.source = torch.from_numpy(np.ascontiguousarray(source)).to(self.device).permute(2, 0, 1)[None].float()
        self.scale = torch.tensor([2.0 / self.w, 2.0 / self.h], device=self.device)

    def remap(self, backward: np.ndarray) -> np.ndarray:
        torch = self.torch
        grid = torch.from_numpy(np.ascontiguousarray(backward, dtype=np.float32)).to(self.device)
        grid = (grid + 0.5) * self.scale - 1.0  # align_corners=False: -1 and 1 are the outer pixel edges
        out = torch.nn.functional.grid_sample(self.source, grid[None], mode="bilinear", padding_mode="border",
                                              align_corners=False)
        return out[0].permute(1, 2, 0).round_().clamp_(0, 255).to(torch.uint8).cpu().numpy()


def make_remapper(device: str, source: np.ndarray) -> Remapper:
    if device == "cpu":
        return OpenCvRemapper(source)
    if device not in DEVICES and not device.startswith("cuda:"):
        raise InputError(f"Unknown device '{device}'; use cpu or cuda.")
    try:
        import torch
    except ImportError as e:
        raise InputError("--device cuda needs PyTorch with CUDA in the engine's environment "
                         "(pip install torch); or use --device cpu.") from e
    if not torch.cuda.is_available():
        raise InputError("--device cuda: PyTorch sees no CUDA GPU here; use --device cpu.")
    return TorchRemapper(source, device)


def smooth_tears(frame: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> None:
    """Antialias ``frame`` (modified in place) at the pixels ``rows``, ``cols`` either side of a tear in the
    map. The face's triangles are filled without coverage, so an occlusion edge steps by whole pixels and shows
    the far surface in single-pixel specks (a dark nostril along the nose's edge on a turn); each of those pixels
    takes a Gaussian mean of its 3x3 neighbours instead, about what a pixel an edge crosses averages in a camera."""
    if not len(rows):
        return
    y0, x0 = max(int(rows.min()) - 1, 0), max(int(cols.min()) - 1, 0)
    region = frame[y0:int(rows.max()) + 2, x0:int(cols.max()) + 2]
    region[rows - y0, cols - x0] = cv2.GaussianBlur(region, (3, 3), TEAR_SIGMA)[rows - y0, cols - x0]
