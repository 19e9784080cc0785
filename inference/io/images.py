"""Reading a portrait photo as RGB, whatever the file holds (EXIF rotation, greyscale, RGBA, CMYK, 16-bit)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from ..errors import InputError

MIN_SIDE = 32
"""Smaller than this holds no face MediaPipe can find."""
MAX_SIDE = 4096
"""Larger photos are scaled down on reading: face detection and a 1080p video need nothing bigger."""


def load_rgb(path: str | os.PathLike, max_side: int = MAX_SIDE) -> np.ndarray:
    """(H, W, 3) uint8 RGB, upright as a viewer shows it; transparent pixels composited over white."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    p = Path(path)
    if not p.is_file():
        raise InputError(f"Image '{p}' does not exist." if not p.exists() else f"'{p}' is not a file.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(p) as opened:
                im = ImageOps.exif_transpose(opened)
                width, height = im.size
                if min(width, height) < MIN_SIDE:
                    raise InputError(f"Image '{p}' is only {width}×{height} pixels; use a photo of at least "
                                     "256×256.")
                im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
                rgb = _to_rgb(im)
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise InputError(f"'{p}' is not an image this tool can read (use JPEG, PNG, WebP, TIFF or BMP): "
                         f"{e}.") from e
    except OSError as e:
        raise InputError(f"Could not read image '{p}': {e}. The file may be truncated or damaged.") from e
    if min(rgb.shape[:2]) < MIN_SIDE:  # a very long thin picture shrunk by the thumbnail above
        raise InputError(f"Image '{p}' is {width}×{height} pixels, far too narrow for a portrait; use a photo of "
                         "at least 256×256.")
    return rgb


def _to_rgb(im) -> np.ndarray:
    from PIL import Image

    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        a = np.asarray(im, dtype=np.float64)
        im = Image.fromarray(np.clip(a / max(a.max(), 1) * 255, 0, 255).astype(np.uint8))
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        im = im.convert("RGBA")
        white = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(white, im)
    return np.ascontiguousarray(np.asarray(im.convert("RGB"), dtype=np.uint8))
