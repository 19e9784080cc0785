"""Emotion presets: constant ARKit offsets plus how the emotion colours mouth and head motion."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import InputError


@dataclass(frozen=True)
class Emotion:
    offsets: dict[str, float] = field(default_factory=dict)  # added at strength 1
    jaw_scale: float = 1.0  # multiplies articulation amplitude
    head_scale: float = 1.0
    head_pitch_deg: float = 0.0  # a constant head posture (+ = looks down)


EMOTIONS: dict[str, Emotion] = {
    "neutral": Emotion(),
    "happy": Emotion({"mouthSmileLeft": 0.55, "mouthSmileRight": 0.55, "cheekSquintLeft": 0.35,
                      "cheekSquintRight": 0.35, "eyeSquintLeft": 0.25, "eyeSquintRight": 0.25,
                      "mouthDimpleLeft": 0.2, "mouthDimpleRight": 0.2, "browOuterUpLeft": 0.1,
                      "browOuterUpRight": 0.1}, jaw_scale=1.1, head_scale=1.25, head_pitch_deg=-1.0),
    "sad": Emotion({"mouthFrownLeft": 0.45, "mouthFrownRight": 0.45, "browInnerUp": 0.55,
                    "browDownLeft": 0.1, "browDownRight": 0.1, "mouthShrugLower": 0.2, "eyeSquintLeft": 0.1,
                    "eyeSquintRight": 0.1, "eyeLookDownLeft": 0.1, "eyeLookDownRight": 0.1},
                   jaw_scale=0.8, head_scale=0.6, head_pitch_deg=4.0),
    "angry": Emotion({"browDownLeft": 0.65, "browDownRight": 0.65, "noseSneerLeft": 0.35,
                      "noseSneerRight": 0.35, "eyeSquintLeft": 0.3, "eyeSquintRight": 0.3, "mouthPressLeft": 0.2,
                      "mouthPressRight": 0.2, "jawForward": 0.15}, jaw_scale=1.15, head_scale=1.3,
                     head_pitch_deg=2.0),
    "surprised": Emotion({"browInnerUp": 0.7, "browOuterUpLeft": 0.65, "browOuterUpRight": 0.65,
                          "eyeWideLeft": 0.55, "eyeWideRight": 0.55, "jawOpen": 0.05}, jaw_scale=1.15,
                         head_scale=1.1, head_pitch_deg=-2.0),
}


def get_emotion(name: str | None) -> Emotion:
    key = (name or "neutral").strip().lower()
    if key not in EMOTIONS:
        raise InputError(f"Unknown emotion '{name}'. Choose one of: {', '.join(EMOTIONS)}.")
    return EMOTIONS[key]
