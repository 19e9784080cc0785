"""The learned backends as the pipeline uses them: loaded once per folder and device (a batch or ``serve``
reuses them), and Audio2Face-3D's output turned into the clip's lower-face and gaze channels."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from ..motion.arkit import ARKIT_NAMES
from .a2f_runner import A2FFrames, A2FRunner

ARKIT = {name.lower(): name for name in ARKIT_NAMES}  # a model's pose names matched without regard to case

# what Audio2Face-3D drives; the eyelids, brows and head stay ours (blinks at phrase boundaries, brows on
# stresses, the head style)
A2F_PREFIXES = ("jaw", "mouth", "cheek", "nose", "tongue")
# our emotions -> A2F's explicit emotion inputs (network_info.json names them; matched by name)
EMOTION_INPUTS = {"happy": "joy", "sad": "sadness", "angry": "anger", "surprised": "amazement"}
JAW_OPEN_FULL_DEG = 25.0  # jaw rotation read as jawOpen 1 where a model's solve leaves jawOpen out
EYE_LOOK_FULL_DEG = 30.0  # eye rotation read as a full eyeLook weight


def _key(folder: str) -> tuple[str, float]:
    """A folder and the time it last changed: a model replaced in place is loaded again."""
    path = Path(folder).expanduser().resolve()
    stamps = [p.stat().st_mtime for p in path.iterdir()] if path.is_dir() else [0.0]
    return str(path), max(stamps, default=0.0)


def a2f_runner(folder: str, device: str, actor: str = "") -> A2FRunner:
    return _a2f_runner(*_key(folder), device, (actor or "").strip().lower())


def phone_model(folder: str, device: str):
    return _phone_model(*_key(folder), device)


@lru_cache(maxsize=2)  # a replaced folder's old model is let go, not kept beside the new one
def _a2f_runner(folder: str, _stamp: float, device: str, actor: str) -> A2FRunner:
    from .a2f_model import load_a2f_model

    return A2FRunner(load_a2f_model(folder, actor or None), device)


@lru_cache(maxsize=2)
def _phone_model(folder: str, _stamp: float, device: str):
    from .wav2vec2_phones import PhoneModel

    return PhoneModel(folder, device)


def explicit_emotion(runner: A2FRunner, emotion: str, strength: float) -> np.ndarray:
    """The network's explicit emotion vector: its default, with ours set where the network has it."""
    m = runner.model
    values = m.default_emotion.copy()
    name = EMOTION_INPUTS.get(emotion)
    if name in m.emotion_names:
        values[m.emotion_names.index(name)] = min(1.0, strength)
    return values


def arkit_channels(frames: A2FFrames, jaw_gain: float, lip_gain: float) -> dict[str, np.ndarray]:
    """The lower face (and gaze, where the model gives eyes) as ARKit curves, gains applied."""
    out: dict[str, np.ndarray] = {}
    for pose, values in frames.weights.items():
        name = ARKIT.get(pose.lower(), "")  # a model's own extra poses are not clip channels
        if name.startswith(A2F_PREFIXES):
            out[name] = values * (jaw_gain if name.startswith("jaw") else lip_gain)
    if float(np.max(out.get("jawOpen", np.zeros(1)), initial=0.0)) <= 0.0:  # not solved: from the jaw's rotation
        out["jawOpen"] = np.clip(frames.jaw_open_deg / JAW_OPEN_FULL_DEG, 0.0, 1.0) * jaw_gain
    if frames.eyes_deg is not None:
        out |= _gaze(frames.eyes_deg)
    # the solve's cancelled poses sit at its bound of 1e-10, not 0: a weight that small is none
    return {k: np.where(v < 1e-6, 0.0, np.clip(v, 0.0, 1.0)).astype(np.float32) for k, v in out.items()}


def _gaze(eyes: np.ndarray) -> dict[str, np.ndarray]:
    """Eye rotations (degrees; x: pitch, down positive; y: yaw, toward the character's left positive) as
    ARKit eyeLook weights."""
    def part(values: np.ndarray) -> np.ndarray:
        return np.clip(values / EYE_LOOK_FULL_DEG, 0.0, 1.0)

    right_x, right_y, left_x, left_y = eyes.T
    return {"eyeLookDownRight": part(right_x), "eyeLookUpRight": part(-right_x),
            "eyeLookDownLeft": part(left_x), "eyeLookUpLeft": part(-left_x),
            "eyeLookOutLeft": part(left_y), "eyeLookInLeft": part(-left_y),
            "eyeLookInRight": part(right_y), "eyeLookOutRight": part(-right_y)}
