"""The motion clip: the contract between the engine, the add-on and other tools (docs/formats.md)."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..io.atomic import atomic_open
from .arkit import ARKIT_NAMES, HEAD_AXES, region_of

FORMAT = "vividtalk.motion"
VERSION = 2  # 2: keys carry an incoming and an outgoing slope (1: one slope)


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
        r4 = lambda a: [round(float(v), 4) for v in a]  # noqa: E731 - 1e-4 is far below visible
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
            json.dump(self.to_dict(), f, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def load(cls, path: str | os.PathLike) -> MotionClip:
        return cls.from_dict(read_clip_json(path), str(path))

    @classmethod
    def from_dict(cls, data: Any, where: str = "motion clip") -> MotionClip:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise InputError(f"{where} is not a vividtalk motion clip (missing \"format\": \"{FORMAT}\").")
        if int(data.get("version", 0)) > VERSION:
            raise InputError(f"{where} has format version {data['version']}; this engine reads up to {VERSION}. "
                             "Update vividtalk.")
        try:
            fps = float(data["fps"])
            channels = {k: np.asarray(v, np.float32) for k, v in data["channels"].items()}
            head = {k: np.asarray(v, np.float32) for k, v in data.get("head", {}).items()}
        except (KeyError, TypeError, ValueError) as e:
            raise InputError(f"{where} is damaged: {e}.") from e
        lengths = {len(v) for v in (*channels.values(), *head.values())}
        if not math.isfinite(fps) or fps <= 0 or len(lengths) > 1:
            raise InputError(f"{where} is damaged: bad fps or channels of different lengths.")
        if set(head) - set(HEAD_AXES):
            raise InputError(f"{where} has unknown head axes: {', '.join(sorted(set(head) - set(HEAD_AXES)))}.")
        meta = dict(data.get("meta", {}))
        unknown = sorted(set(channels) - set(ARKIT_NAMES))
        if unknown:  # e.g. a character's own shape keys sampled by the add-on: kept out of ARKit exports
            meta["ignored_channels"] = unknown
            channels = {k: v for k, v in channels.items() if k in ARKIT_NAMES}
        return cls(fps=fps, duration=float(data.get("duration", 0.0)), channels=channels, head=head,
                   keys=data.get("keys", {}), phones=[tuple(x) for x in data.get("phones", [])],
                   visemes=[tuple(x) for x in data.get("visemes", [])],
                   words=[tuple(x) for x in data.get("words", [])], audio=data.get("audio", {}),
                   meta=meta)


def read_clip_json(path: str | os.PathLike) -> Any:
    """The parsed JSON of a motion clip file, with a clear error when it cannot be read."""
    p = Path(path)
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise InputError(f"Motion clip '{p}' does not exist.") from e
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"'{p}' is not a readable motion clip (JSON): {e}.") from e
