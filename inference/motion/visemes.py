"""Phones -> visemes -> articulation targets (JALI-style: a jaw part and a lip part per phone).

Targets are ARKit channel values a phone reaches at its apex before loudness and the user's gains
scale them. Classes follow the mouth shapes animators use (Rhubarb/Preston Blair A-H, X) so that the
viseme track in the motion clip reads like a dope sheet.
"""

from __future__ import annotations

from dataclasses import dataclass, field

VISEME_OF: dict[str, str] = {
    "SIL": "SIL",
    "P": "MBP", "B": "MBP", "M": "MBP",
    "F": "FV", "V": "FV",
    "W": "W", "UW": "W", "OW": "W", "UH": "W", "OY": "W", "R": "W", "ER": "W",
    "AA": "OPEN", "AE": "OPEN", "AH": "OPEN", "AW": "OPEN", "AY": "OPEN", "AO": "OPEN", "HH": "OPEN",
    "EH": "MID", "EY": "MID",
    "IY": "SPREAD", "IH": "SPREAD", "Y": "SPREAD",
    "CH": "SH", "JH": "SH", "SH": "SH", "ZH": "SH",
    "S": "CONS", "Z": "CONS", "T": "CONS", "D": "CONS", "N": "CONS", "L": "CONS", "TH": "CONS", "DH": "CONS",
    "K": "CONS", "G": "CONS", "NG": "CONS",
}

# Relative vertical mouth opening per phone (0 closed .. 1 widest vowel): the JA part. It follows the
# lip aperture a viewer sees, not the jaw bone alone: rounded vowels and /w/ open the jaw a little but
# the lips narrow the gap; /f v/ tuck the lower lip under the upper teeth.
JAW_TARGET: dict[str, float] = {
    "AA": 1.0, "AE": 0.85, "AW": 0.85, "AY": 0.85, "AO": 0.8, "AH": 0.7, "EH": 0.6, "EY": 0.5, "OW": 0.4,
    "OY": 0.55, "ER": 0.25, "IH": 0.4, "IY": 0.25, "UH": 0.25, "UW": 0.1, "HH": 0.5,
    "P": 0.0, "B": 0.0, "M": 0.0, "F": 0.05, "V": 0.05, "TH": 0.2, "DH": 0.2, "S": 0.12, "Z": 0.12,
    "SH": 0.15, "ZH": 0.15, "CH": 0.12, "JH": 0.12, "T": 0.25, "D": 0.25, "N": 0.25, "L": 0.3, "K": 0.3,
    "G": 0.3, "NG": 0.3, "R": 0.15, "W": 0.05, "Y": 0.25, "SIL": 0.0,
}

# How strongly a phone holds the jaw at its target against its neighbours (Cohen-Massaro dominance). Sibilants
# need the teeth nearly together and labiodentals the lower lip at the teeth, so they resist; alveolar stops
# resist a little; velars, nasals and liquids take their jaw from the vowels around them.
JAW_DOMINANCE: dict[str, float] = {
    "S": 1.6, "Z": 1.6, "SH": 1.6, "ZH": 1.6, "CH": 1.6, "JH": 1.6, "F": 2.0, "V": 2.0, "TH": 1.2, "DH": 1.2,
    "T": 1.2, "D": 1.2, "N": 0.8, "L": 0.8, "K": 0.8, "G": 0.8, "NG": 0.8, "R": 0.8, "W": 1.2, "Y": 0.8,
    "HH": 0.5,
}


@dataclass(frozen=True)
class LipShape:
    """The LI part of a viseme: lip channels at full articulation."""

    channels: dict[str, float] = field(default_factory=dict)
    closes_lips: bool = False  # bilabial seal: mouthClose cancels the jaw, enforced regardless of gains
    dominance: float = 1.0  # how strongly the shape resists its neighbours (coarticulation)


# Rounding (W) is what connected speech shows, not a held "oo": real speakers' mouth corners come to 0.93-0.98 of
# their usual distance on the GRID clips' rounded vowels (5th percentile, python -m benchmarks.lip_share); these
# values give the portrait rig 0.95 on the same speech (0.75 / 0.45 gave 0.85, which MediaPipe's FaceLandmarker
# read as small, wide-open mouths).
LIP_SHAPES: dict[str, LipShape] = {
    "SIL": LipShape({}, dominance=0.3),
    "MBP": LipShape({"mouthPressLeft": 0.35, "mouthPressRight": 0.35, "mouthRollLower": 0.15,
                     "mouthRollUpper": 0.1}, closes_lips=True, dominance=4.0),
    "FV": LipShape({"mouthRollLower": 0.55, "mouthUpperUpLeft": 0.25, "mouthUpperUpRight": 0.25,
                    "mouthShrugUpper": 0.1}, dominance=3.0),
    "W": LipShape({"mouthPucker": 0.3, "mouthFunnel": 0.2}, dominance=2.0),
    "OPEN": LipShape({"mouthLowerDownLeft": 0.3, "mouthLowerDownRight": 0.3, "mouthUpperUpLeft": 0.1,
                      "mouthUpperUpRight": 0.1}, dominance=1.0),
    "MID": LipShape({"mouthStretchLeft": 0.2, "mouthStretchRight": 0.2, "mouthLowerDownLeft": 0.15,
                     "mouthLowerDownRight": 0.15}, dominance=1.0),
    "SPREAD": LipShape({"mouthStretchLeft": 0.4, "mouthStretchRight": 0.4, "mouthSmileLeft": 0.15,
                        "mouthSmileRight": 0.15}, dominance=1.2),
    "SH": LipShape({"mouthFunnel": 0.6, "mouthPucker": 0.25, "mouthShrugUpper": 0.2}, dominance=1.5),
    "CONS": LipShape({"mouthStretchLeft": 0.1, "mouthStretchRight": 0.1}, dominance=0.5),
}

LIP_CHANNELS: tuple[str, ...] = tuple(sorted({c for s in LIP_SHAPES.values() for c in s.channels}))


def viseme_of(phone: str) -> str:
    return VISEME_OF.get(phone, "CONS")
