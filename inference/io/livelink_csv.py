"""ARKit curves as CSV in the layout of Unreal's Live Link Face recordings.

Columns: Timecode (HH:MM:SS:FF.mmm at the clip's frame rate), BlendshapeCount (61), the 52 ARKit
curves with capitalised names (EyeBlinkLeft, ..., TongueOut), then HeadYaw, HeadPitch, HeadRoll,
LeftEyeYaw, LeftEyePitch, LeftEyeRoll, RightEyeYaw, RightEyePitch, RightEyeRoll. Head and eye values are
normalised to -1..1 as the app writes them (the app maps +-90 degrees of head rotation to +-1).
"""

from __future__ import annotations

import os

import numpy as np

from ..io.atomic import atomic_open
from ..motion.arkit import ARKIT_NAMES
from ..motion.clip import MotionClip

EXTRA = ("HeadYaw", "HeadPitch", "HeadRoll", "LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll", "RightEyeYaw",
         "RightEyePitch", "RightEyeRoll")
HEAD_DEG_PER_UNIT = 90.0
EYE_DEG_PER_UNIT = 90.0
EYE_RANGE_DEG = 30.0  # an eyeLook* value of 1 turns the eye this far


def header() -> list[str]:
    return ["Timecode", "BlendshapeCount", *(n[0].upper() + n[1:] for n in ARKIT_NAMES), *EXTRA]


def timecode(t: float, fps: float) -> str:
    whole = int(np.floor(t * fps + 1e-6))
    frames_per_s = round(fps)
    s, f = divmod(whole, frames_per_s)
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    sub = (t * fps - whole) * 1000.0  # sub-frame, thousandths of a frame
    return f"{h:02d}:{m:02d}:{sec:02d}:{f:02d}.{max(0.0, sub):03.0f}"


def write_csv(clip: MotionClip, path: str | os.PathLike) -> None:
    n = clip.n_frames
    zeros = np.zeros(n, np.float32)
    ch = lambda name: clip.channels.get(name, zeros)  # noqa: E731
    head = {k: clip.head.get(k, zeros) for k in ("pitch", "yaw", "roll")}
    eye_yaw_l = (ch("eyeLookOutLeft") - ch("eyeLookInLeft")) * EYE_RANGE_DEG / EYE_DEG_PER_UNIT
    eye_yaw_r = (ch("eyeLookInRight") - ch("eyeLookOutRight")) * EYE_RANGE_DEG / EYE_DEG_PER_UNIT
    eye_pitch_l = (ch("eyeLookDownLeft") - ch("eyeLookUpLeft")) * EYE_RANGE_DEG / EYE_DEG_PER_UNIT
    eye_pitch_r = (ch("eyeLookDownRight") - ch("eyeLookUpRight")) * EYE_RANGE_DEG / EYE_DEG_PER_UNIT
    columns = [ch(name) for name in ARKIT_NAMES] + [
        head["yaw"] / HEAD_DEG_PER_UNIT, head["pitch"] / HEAD_DEG_PER_UNIT, head["roll"] / HEAD_DEG_PER_UNIT,
        eye_yaw_l, eye_pitch_l, zeros, eye_yaw_r, eye_pitch_r, zeros]
    table = np.column_stack(columns) if n else np.zeros((0, len(columns)))
    row = ",".join(["%.6g"] * len(columns))  # one format per row: formatting is most of the writing time
    with atomic_open(path, "w") as f:
        f.write(",".join(header()) + "\n")
        for i, values in enumerate(table.tolist()):
            f.write(f"{timecode(i / clip.fps, clip.fps)},{len(columns)}," + row % tuple(values) + "\n")
