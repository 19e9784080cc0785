"""The motion clip: the contract between the engine, the add-on and other tools (docs/formats.md)."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..contract import file_format, limit
from ..errors import InputError
from ..io.atomic import atomic_open
from ..io.json_file import read_json
from .arkit import ARKIT_NAMES, HEAD_AXES, region_of

FORMAT, VERSION = file_format("motion_clip")  # version 2: keys carry an incoming and an outgoing slope (1: one)
KEY_SLOPE_MAX = 1e5  # units per second: a full-range change within a frame at 240 fps is 240


@dataclass
class MotionClip:
    """Per-frame ARKit channels and head rotation, sparse keys, and the timing they came from."""

    fps: float
    duration: float
    channels: dict[str, np.ndarray]  # ARKit name -> per-frame values 0..1
    head: dict[str, np.ndarray]  # pitch/yaw/roll -> per-frame degrees
    keys: dict[str, list[list[float]]] = field(default_factory=dict)  # channel -> [[t, v, in, out], ...]
    phones: list[tuple[float, float, str]] = field(default_factory=list)
    visemes: list[tuple[float, float, str]] = field(default_factory=list)
    words: list[tuple[float, float, str]] = field(default_factory=list)
    audio: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n_frames(self) -> int:
        return len(next(iter(self.channels.values()))) if self.channels else 0

    def times(self) -> np.ndarray:
        return np.arange(self.n_frames) / self.fps

    def to_dict(self) -> dict[str, Any]:
        def r4(values) -> list[float]:
            # 1e-4 is far below visible. The whole number of ten-thousandths, divided exactly once, is the double
            # nearest that decimal, so it prints as short as round(v, 4) does, at a twentieth of the cost
            return (np.rint(np.asarray(values, np.float64) * 1e4) / 1e4).tolist()

        return {
            "format": FORMAT, "version": VERSION, "fps": self.fps, "duration": round(self.duration, 4),
            "frame_count": self.n_frames, "audio": self.audio,
            "channels": {k: r4(v) for k, v in self.channels.items()},
            "head": {k: r4(v) for k, v in self.head.items()},
            "keys": self.keys, "key_interpolation": "hermite",
            "channel_groups": {k: region_of(k) for k in (*self.channels, *self.head)},
            "phones": [[round(s, 3), round(e, 3), p] for s, e, p in self.phones],
            "visemes": [[round(s, 3), round(e, 3), v] for s, e, v in self.visemes],
            "words": [[round(s, 3), round(e, 3), w] for s, e, w in self.words],
            "meta": self.meta,
        }

    def save(self, path: str | os.PathLike) -> None:
        with atomic_open(path, "w") as f:
            # dumps, not dump: only the one-shot encoder runs in C (4x faster on a clip's dense curves)
            f.write(json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":")))

    @classmethod
    def load(cls, path: str | os.PathLike) -> MotionClip:
        return cls.from_dict(read_clip_json(path), str(path))

    @classmethod
    def from_dict(cls, data: Any, where: str = "motion clip") -> MotionClip:
        """A clip from its parsed JSON, every field checked: a damaged or hostile file gets a message that names
        the field, never a crash later (NaN in an SVD, a key reduction that never ends, a CSV full of nan)."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise InputError(f"{where} is not a vividtalk motion clip (missing \"format\": \"{FORMAT}\").")
        version = data.get("version", 0)
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise InputError(f"{where} is damaged: its \"version\" must be a whole number (got {version!r}).")
        if version > VERSION:
            raise InputError(f"{where} has format version {version}; this engine reads up to {VERSION}. "
                             "Update vividtalk.")
        fps = _number(data.get("fps"), f"{where}: fps", 1.0, 240.0)
        max_s = limit("clip_max_seconds")
        duration = _number(data.get("duration", 0.0), f"{where}: duration", 0.0, max_s)
        channels = curves_from_json(data.get("channels"), f"{where}: channels", limit("channel_abs_max"), required=True)
        head = curves_from_json(data.get("head", {}), f"{where}: head", limit("head_abs_max_deg"))
        if set(head) - set(HEAD_AXES):
            raise InputError(f"{where} has unknown head axes: {', '.join(sorted(set(head) - set(HEAD_AXES)))}.")
        lengths = {len(v) for v in (*channels.values(), *head.values())}
        if len(lengths) > 1:
            raise InputError(f"{where} is damaged: its channels have different lengths ({min(lengths)}-"
                             f"{max(lengths)} frames).")
        n_frames = lengths.pop() if lengths else 0
        if n_frames == 0:
            raise InputError(f"{where} holds no frames; make it again with 'vividtalk animate'.")
        if n_frames > max_s * fps + 1:
            raise InputError(f"{where} claims {n_frames} frames ({n_frames / fps / 3600:.1f} h at {fps:g} fps); "
                             f"vividtalk handles clips up to {max_s / 3600:g} hours.")
        claimed = data.get("frame_count", n_frames)
        if claimed != n_frames:
            raise InputError(f"{where} is damaged: it claims {str(claimed)[:20]} frames but holds {n_frames}.")
        if duration > n_frames / fps + 1.0:
            raise InputError(f"{where} is damaged: it claims {duration:g} s but holds {n_frames / fps:.2f} s of "
                             "frames.")
        meta = _mapping(data.get("meta", {}), f"{where}: meta")
        unknown = sorted(set(channels) - set(ARKIT_NAMES))
        if unknown:  # e.g. a character's own shape keys sampled by the add-on: kept out of ARKit exports
            meta["ignored_channels"] = unknown
            channels = {k: v for k, v in channels.items() if k in ARKIT_NAMES}
        return cls(fps=fps, duration=duration, channels=channels, head=head,
                   keys=_keys(data.get("keys", {}), f"{where}: keys"),
                   phones=_intervals(data.get("phones", []), f"{where}: phones"),
                   visemes=_intervals(data.get("visemes", []), f"{where}: visemes"),
                   words=_intervals(data.get("words", []), f"{where}: words"),
                   audio=_audio(data.get("audio", {}), f"{where}: audio"), meta=meta)


def _number(value: Any, what: str, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or not lo <= value <= hi:
        raise InputError(f"{what} must be a number from {lo:g} to {hi:g} (got {str(value)[:40]}).")
    return float(value)


def _audio(value: Any, what: str) -> dict:
    audio = _mapping(value, what)
    if not isinstance(audio.get("path", ""), str):
        raise InputError(f"{what}: \"path\" must be the recording's file name as text.")
    return audio


def _mapping(value: Any, what: str) -> dict:
    if not isinstance(value, dict):
        raise InputError(f"{what} must be a JSON object (got {type(value).__name__}).")
    return dict(value)


def curves_from_json(value: Any, what: str, abs_max: float | None = None, required: bool = False
                     ) -> dict[str, np.ndarray]:
    """Named per-frame curves: finite numbers within +-abs_max (the channels' limit by default), one list each."""
    abs_max = limit("channel_abs_max") if abs_max is None else abs_max
    if required and not value:
        raise InputError(f"{what} are missing; the file holds no animation.")
    curves = {}
    for name, values in _mapping(value, what).items():
        try:
            if not isinstance(values, list | tuple | np.ndarray):
                raise TypeError
            arr = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError(f"{what}: '{str(name)[:40]}' must be a list of numbers, one per frame.") from None
        if arr.ndim != 1:
            raise InputError(f"{what}: '{str(name)[:40]}' must be a flat list of numbers, one per frame.")
        bad = ~np.isfinite(arr) | (np.abs(np.nan_to_num(arr, nan=0.0)) > abs_max)
        if bad.any():
            i = int(np.argmax(bad))
            raise InputError(f"{what}: '{str(name)[:40]}' has {int(bad.sum())} value(s) that are not numbers "
                             f"within +-{abs_max:g} (first at frame {i}: {values[i]!r}).")
        curves[str(name)] = arr.astype(np.float32)
    return curves


def _keys(value: Any, what: str) -> dict[str, list[list[float]]]:
    keys = _mapping(value, what)
    for name, points in keys.items():
        try:
            arr = np.asarray(points, dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError(f"{what}: '{str(name)[:40]}' must be a list of [time, value, ...] keys.") from None
        if arr.size and (arr.ndim != 2 or arr.shape[1] not in (2, 3, 4) or not np.isfinite(arr).all()
                         or not (np.abs(arr[:, 0]) <= limit("clip_max_seconds")).all()
                         or not (np.abs(arr[:, 1]) <= limit("head_abs_max_deg")).all()
                         or not (np.abs(arr[:, 2:]) <= KEY_SLOPE_MAX).all()):
            raise InputError(f"{what}: '{str(name)[:40]}' must be a list of [time, value, slope in, slope out] "
                             "keys of finite numbers in range.")
    return keys


def _intervals(value: Any, what: str) -> list[tuple[float, float, str]]:
    if not isinstance(value, list):
        raise InputError(f"{what} must be a list of [start, end, label].")
    out = []
    for item in value:
        if not (isinstance(item, list) and len(item) == 3 and all(
                isinstance(t, int | float) and not isinstance(t, bool) and math.isfinite(t) for t in item[:2])):
            raise InputError(f"{what} must be a list of [start, end, label] (found {str(item)[:40]}).")
        out.append((float(item[0]), float(item[1]), str(item[2])))
    return out


def read_clip_json(path: str | os.PathLike) -> Any:
    """The parsed JSON of a motion clip file, with a clear error when it cannot be read."""
    return read_json(path, "motion clip")
