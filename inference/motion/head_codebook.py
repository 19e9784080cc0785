"""Head motion in the style of a reference video (``--head-from VIDEO``): VividTalk's head-pose codebook, learned
at use time from the user's own footage.

Learning cuts the reference's tracked head rotation (its rest pose removed) into overlapping one-second
snippets, each keyed by the prosody under it (loudness, how much of it is speech, whether a phrase starts in it,
the pitch movement). Generating walks new audio window by window, takes one of the snippets whose prosody is
nearest (drawn by the seed, never the same one twice running), and joins them with overlapping fades; the
result is scaled so its spread per axis is the reference's, with the return to rest whose speed is then the
reference's too. So a new line moves like the reference speaker
(range, speed, when turns and nods come) without replaying the reference's timeline. A style can be saved
(``vividtalk head-style VIDEO -o style.npz``) and reused (``--head-style-file``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..errors import InputError

FPS = 100
WINDOW = 100  # frames (1 s)
LEARN_HOP = 25
NEAREST = 4
"""Snippets drawn from for each window: the nearest few by prosody."""
RETURN_S = 2.0
"""The generated pose drifts back toward rest with this time constant (the reference's own rest), for a style
saved without the reference's speed."""
RETURN_CHOICES_S = np.geomspace(0.5, 16.0, 11)
"""Return times tried: the one whose motion, scaled to the reference's spread, moves at the reference's speed.
A presenter who turns and holds needs a slow return: with a fixed 2 s the joined snippets spread too little, the
scaling to the reference's spread sped them up, and a rendered lively speaker's style moved 1.3-1.6x as fast as
the speaker."""
MIN_SECONDS = 2.0
RICH_SECONDS = 20.0
"""Shorter references work, with fewer snippets to draw from (a warning says so)."""
STYLE_FORMAT, STYLE_VERSION = "vividtalk.head_style", 1


@dataclass
class HeadStyleModel:
    snippets: np.ndarray  # (K, WINDOW, 3) pitch, yaw, roll in degrees at 100 fps, the reference's rest removed
    keys: np.ndarray  # (K, D) the prosody under each snippet
    key_scale: np.ndarray  # (D,) how far apart keys are, per feature
    spread: np.ndarray  # (3,) the reference's standard deviation per axis
    source: str = ""
    speed: float = float("nan")  # the reference's median angular speed, degrees/s (NaN: a style saved before it)

    def save(self, path: str | os.PathLike) -> None:
        from ..io.npz import write_npz

        write_npz(path, {"format": np.array(STYLE_FORMAT), "version": np.array(STYLE_VERSION),
                         "snippets": self.snippets.astype(np.float32), "keys": self.keys.astype(np.float32),
                         "key_scale": self.key_scale, "spread": self.spread, "source": np.array(self.source),
                         "speed": np.array(self.speed)})

    @classmethod
    def load(cls, path: str | os.PathLike) -> HeadStyleModel:
        from ..io.npz import read_npz, require_finite

        data = read_npz(path, "head style", STYLE_FORMAT, STYLE_VERSION,
                        "make one with `vividtalk head-style VIDEO -o style.npz`")
        try:
            model = cls(data["snippets"].astype(np.float64), data["keys"].astype(np.float64),
                        data["key_scale"].astype(np.float64), data["spread"].astype(np.float64),
                        str(data.get("source", "")), float(data.get("speed", float("nan"))))
        except KeyError as e:
            raise InputError(f"The head style '{path}' lacks {e}; make it again with `vividtalk head-style`.") \
                from None
        require_finite({"snippets": model.snippets, "keys": model.keys}, str(path))
        if model.snippets.ndim != 3 or model.snippets.shape[1:] != (WINDOW, 3) or len(model.keys) != len(
                model.snippets) or not len(model.snippets):
            raise InputError(f"The head style '{path}' is damaged; make it again with `vividtalk head-style`.")
        return model


def prosody_keys(loud: np.ndarray, speech: np.ndarray, st: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """(K, 4) for windows starting at ``starts``: mean loudness, share of speech, a phrase starting in the first
    third, pitch movement (semitones, last quarter against the first)."""
    n = len(loud)
    onset = np.r_[False, speech[1:] & ~speech[:-1]] | (speech & (np.arange(n) == 0))
    keys = []
    for a in starts:
        b = min(n, a + WINDOW)
        q = max(1, (b - a) // 4)
        keys.append([loud[a:b].mean(), speech[a:b].mean(), float(onset[a:a + WINDOW // 3].any()),
                     st[b - q:b].mean() - st[a:a + q].mean()])
    return np.array(keys, np.float64).reshape(-1, 4)


def learn(angles: np.ndarray, loud: np.ndarray, speech: np.ndarray, st: np.ndarray,
          source: str = "") -> HeadStyleModel:
    """A style from tracked head rotation (T, 3) and the prosody of its audio, all at 100 frames/s."""
    n = min(len(angles), len(loud), len(speech), len(st))
    if n < MIN_SECONDS * FPS:
        raise InputError(f"The reference has {n / FPS:.1f} s of tracked speech; a head style needs at least "
                         f"{MIN_SECONDS:.0f} s ({RICH_SECONDS:.0f} s or more gives a richer one).")
    motion = angles[:n] - np.median(angles[:n], axis=0)  # the reference's rest pose is not its style
    starts = np.arange(0, n - WINDOW + 1, LEARN_HOP)
    snippets = np.stack([motion[a:a + WINDOW] for a in starts])
    keys = prosody_keys(loud[:n], speech[:n], st[:n], starts)
    scale = np.maximum(keys.std(0), 1e-3)
    return HeadStyleModel(snippets, keys, scale, motion.std(0), source, median_speed(motion))


def angular_speeds(rotations: np.ndarray, fps: float) -> np.ndarray:
    """(T - 1,) angular speed in degrees/s between consecutive (T, 3) pitch/yaw/roll rotations at ``fps``."""
    return np.linalg.norm(np.diff(rotations, axis=0), axis=1) * fps


def median_speed(motion: np.ndarray) -> float:
    """Median angular speed (degrees/s) of (T, 3) rotations at FPS."""
    return float(np.median(angular_speeds(motion, FPS)))


def generate(model: HeadStyleModel, loud: np.ndarray, speech: np.ndarray, st: np.ndarray,
             rng: np.random.Generator) -> dict[str, np.ndarray]:
    """pitch / yaw / roll in degrees at 100 fps for new audio's prosody.

    Snippets are joined by their velocities (overlapping fades of how the head moves, not of where it is), and the
    pose is that motion added up with a slow return to rest: joining positions of two different snippets would
    add a movement between them that the reference never made. Of the return times RETURN_CHOICES_S, the one whose
    motion moves at the reference's median speed once scaled to its spread.
    """
    n = len(loud)
    hop = WINDOW // 2
    starts = np.arange(0, max(1, n - hop), hop)
    keys = prosody_keys(loud, speech, st, starts)
    fade = np.sin(np.pi * (np.arange(WINDOW) + 0.5) / WINDOW) ** 2  # overlapping halves add up to one
    velocity = np.diff(model.snippets, axis=1, prepend=model.snippets[:, :1])  # (K, WINDOW, 3) per frame
    out = np.zeros((len(starts) * hop + WINDOW, 3))
    weight = np.zeros(len(out))
    previous = -1
    for a, key in zip(starts, keys, strict=True):
        distance = (((model.keys - key) / model.key_scale) ** 2).mean(1)
        choices = [int(k) for k in np.argsort(distance)[:NEAREST + 1] if k != previous][:NEAREST]
        pick = choices[int(rng.integers(len(choices)))]
        out[a:a + WINDOW] += fade[:, None] * velocity[pick]
        weight[a:a + WINDOW] += fade
        previous = pick
    step = out[:n] / np.maximum(weight[:n], 1e-6)[:, None]
    if np.isfinite(model.speed) and model.speed > 0:  # the return time whose speed is nearest the reference's
        made = (_returning(step, seconds, model.spread) for seconds in RETURN_CHOICES_S)
        motion = min(made, key=lambda m: abs(np.log(max(median_speed(m), 1e-9) / model.speed)))
    else:
        motion = _returning(step, RETURN_S, model.spread)
    return {"pitch": motion[:, 0], "yaw": motion[:, 1], "roll": motion[:, 2]}


def _returning(step: np.ndarray, return_s: float, spread: np.ndarray) -> np.ndarray:
    """The joined velocities ``step`` (T, 3) added up with a return to rest of ``return_s``, scaled to ``spread``."""
    from scipy.signal import lfilter  # only here: scipy.signal is slow to import, and most runs never need it

    keep = np.exp(-1.0 / (return_s * FPS))
    motion = lfilter([1.0], [1.0, -keep], step, axis=0)  # pose[t] = keep * pose[t - 1] + step[t]
    motion -= motion.mean(0)
    made = motion.std(0)
    return motion * np.where(made > 1e-6, spread / np.maximum(made, 1e-6), 0.0)
