"""Driving any character: match its shape-key names to ARKit channels, or to visemes for viseme-only rigs.

ARKit names are matched in their common spellings (jawOpen, JawOpen, jaw_open, eyeBlink_L, eyeBlinkLeft,
EyeBlink.L, blendShape1.eyeBlinkLeft, ...). Rigs with only mouth shapes get per-frame viseme weights made
from the clip's phones: the Oculus/VRChat set (sil PP FF TH DD kk CH SS nn RR aa E ih oh ou), VRM
(aa ih ou ee oh) or Rhubarb/Hanna-Barbera letters (A-H, X). See docs/rigs.md for the tables.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..contract import file_format
from ..motion.arkit import ARKIT_NAMES, region_of
from ..motion.lipsync import JAW_SCALE, SPEECH_FLOOR
from ..motion.visemes import JAW_TARGET, LIP_SHAPES, viseme_of

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

_SIDES = {"left": ("left", "l"), "right": ("right", "r")}


def _squash(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _arkit_spellings() -> dict[str, str]:
    """Squashed spelling -> ARKit name: suffix and prefix sides (eyeBlinkL, leftEyeBlink, l_eye_blink)."""
    table: dict[str, str] = {}
    for name in ARKIT_NAMES:
        m = re.match(r"(.*?)(Left|Right)$", name)
        if not m:
            table[_squash(name)] = name
            continue
        base, side = _squash(m.group(1)), _SIDES[m.group(2).lower()]
        for s in side:
            table[base + s] = name
            table[s + base] = name
    return table


ARKIT_SPELLINGS = _arkit_spellings()

# phone (ARPAbet) -> Oculus/VRChat viseme
OCULUS_OF_PHONE = {
    "SIL": "sil", "P": "PP", "B": "PP", "M": "PP", "F": "FF", "V": "FF", "TH": "TH", "DH": "TH",
    "T": "DD", "D": "DD", "K": "kk", "G": "kk", "NG": "kk", "CH": "CH", "JH": "CH", "SH": "CH", "ZH": "CH",
    "S": "SS", "Z": "SS", "N": "nn", "L": "nn", "R": "RR", "ER": "RR",
    "AA": "aa", "AE": "aa", "AH": "aa", "AW": "aa", "AY": "aa", "HH": "aa", "EH": "E", "EY": "E",
    "IH": "ih", "IY": "ih", "Y": "ih", "AO": "oh", "OW": "oh", "OY": "oh", "UW": "ou", "UH": "ou", "W": "ou",
}
OCULUS = ("sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "nn", "RR", "aa", "E", "ih", "oh", "ou")
# Oculus viseme -> VRM 1.0 vowel preset and Rhubarb mouth letter
VRM_OF_OCULUS = {"aa": "aa", "E": "ee", "ih": "ih", "oh": "oh", "ou": "ou", "RR": "ou", "CH": "ou"}
RHUBARB_OF_OCULUS = {"sil": "X", "PP": "A", "FF": "G", "TH": "B", "DD": "B", "kk": "B", "CH": "B", "SS": "B",
                     "nn": "H", "RR": "E", "aa": "D", "E": "C", "ih": "B", "oh": "E", "ou": "F"}
_VISEME_SPELLINGS = {
    "oculus": {**{_squash(v): v for v in OCULUS}, **{_squash("viseme_" + v): v for v in OCULUS},
               **{_squash("v_" + v): v for v in OCULUS}, **{_squash("vrc.v_" + v): v for v in OCULUS}},
    "vrm": {_squash(v): v for v in ("aa", "ih", "ou", "ee", "oh")} | {"a": "aa", "i": "ih", "u": "ou", "e": "ee",
                                                                         "o": "oh"},
    "rhubarb": {**{c.lower(): c for c in "ABCDEFGHX"}, **{_squash("mouth_" + c): c for c in "ABCDEFGHX"}},
}
CROSSFADE_S = 0.08
"""Viseme weights blend over this long around each phone boundary (no one-frame pops)."""


@dataclass
class ChannelMap:
    """How a target's shape keys take the clip: each mapped key gets one ARKit channel or one viseme."""

    scheme: str  # "arkit" or a viseme scheme ("oculus", "vrm", "rhubarb")
    targets: dict[str, str]  # target shape-key name -> ARKit channel / viseme
    unmapped_targets: list[str] = field(default_factory=list)  # keys left alone
    unused_channels: list[str] = field(default_factory=list)  # clip channels nothing on the target shows


def _strip_namespace(name: str) -> str:
    return name.rsplit(".", 1)[-1] if "." in name and not re.search(r"\.[LRlr]$", name) else name


def map_shape_keys(names: list[str]) -> ChannelMap:
    """Match a character's shape-key names: ARKit if any match, else the viseme scheme matching most keys."""
    arkit: dict[str, str] = {}
    for n in names:
        hit = ARKIT_SPELLINGS.get(_squash(_strip_namespace(n))) or ARKIT_SPELLINGS.get(_squash(n))
        if hit and hit not in arkit.values():
            arkit[n] = hit
    if arkit:
        return ChannelMap("arkit", arkit, [n for n in names if n not in arkit],
                          [c for c in ARKIT_NAMES if c not in arkit.values()])
    best = ChannelMap("none", {}, list(names), list(ARKIT_NAMES))
    for scheme, spellings in _VISEME_SPELLINGS.items():
        found = {n: spellings[_squash(_strip_namespace(n))] for n in names
                 if _squash(_strip_namespace(n)) in spellings}
        if len(set(found.values())) > len(set(best.targets.values())) and len(set(found.values())) >= 3:
            best = ChannelMap(scheme, found, [n for n in names if n not in found], [])
    return best


def viseme_weights(phones: list[tuple[float, float, str]], fps: float, n_frames: int,
                   scheme: str = "oculus") -> dict[str, np.ndarray]:
    """Per-frame weights (summing to 1) of each viseme of ``scheme`` from the clip's phone timing."""
    oculus = np.zeros((n_frames, len(OCULUS)))
    t = np.arange(n_frames) / fps
    oculus[:, 0] = 1.0
    for start, end, phone in phones:
        v = OCULUS.index(OCULUS_OF_PHONE.get(phone.upper(), "sil"))
        # a trapezoid that ramps up across the start boundary and down across the end one
        ramp_in = np.clip((t - (start - CROSSFADE_S / 2)) / CROSSFADE_S, 0, 1)
        ramp_out = np.clip(((end + CROSSFADE_S / 2) - t) / CROSSFADE_S, 0, 1)
        w = np.minimum(ramp_in, ramp_out)
        oculus[:, v] = np.maximum(oculus[:, v], w)
        if v:
            oculus[:, 0] = np.minimum(oculus[:, 0], 1 - w)
    oculus /= np.maximum(oculus.sum(1, keepdims=True), 1e-9)
    if scheme == "oculus":
        return {v: oculus[:, i] for i, v in enumerate(OCULUS)}
    table = VRM_OF_OCULUS if scheme == "vrm" else RHUBARB_OF_OCULUS
    out: dict[str, np.ndarray] = {}
    for i, name in enumerate(OCULUS):
        if name in table:
            out[table[name]] = out.get(table[name], 0) + oculus[:, i]
    return out


def retarget_clip(clip, names: list[str]) -> dict:
    """Keys for a character's own shape keys: ARKit channels by name, or viseme weights from the phones.

    The result (JSON-ready) maps each matched shape key to sparse ``[time, value, slope]`` keys, and lists
    what was left unmapped on both sides.
    """
    from ..motion.keys import BLENDSHAPE_TOLERANCE, sparse_many_keys

    mapping = map_shape_keys(names)
    if mapping.scheme == "arkit":
        dense = {target: np.asarray(clip.channels[channel]) for target, channel in mapping.targets.items()}
    elif mapping.targets:
        weights = viseme_weights(clip.phones, clip.fps, clip.n_frames, mapping.scheme)
        dense = {target: weights.get(v, np.zeros(clip.n_frames)) for target, v in mapping.targets.items()}
    else:
        dense = {}
    curves = dict(zip(dense, sparse_many_keys(list(dense.values()), clip.fps, BLENDSHAPE_TOLERANCE), strict=True))
    groups = {t: region_of(c) if mapping.scheme == "arkit" else "Mouth" for t, c in mapping.targets.items()}
    fmt, version = file_format("retarget")
    return {"format": fmt, "version": version, "scheme": mapping.scheme, "targets": mapping.targets,
            "channel_groups": groups,
            "unmapped_targets": mapping.unmapped_targets,
            "unused_channels": mapping.unused_channels, "keys": curves}


# the phone each viseme of each scheme stands for, to turn viseme weights back into ARKit poses
_PHONE_OF_VISEME = {
    "oculus": {"sil": "SIL", "PP": "M", "FF": "F", "TH": "TH", "DD": "T", "kk": "K", "CH": "SH", "SS": "S",
               "nn": "N", "RR": "R", "aa": "AA", "E": "EH", "ih": "IH", "oh": "OW", "ou": "UW"},
    "vrm": {"aa": "AA", "ih": "IH", "ou": "UW", "ee": "EY", "oh": "OW"},
    "rhubarb": {"A": "M", "B": "S", "C": "EH", "D": "AA", "E": "AO", "F": "UW", "G": "F", "H": "L", "X": "SIL"},
}


def viseme_pose(phone: str) -> dict[str, float]:
    """The ARKit pose the lip sync gives ``phone`` at its apex (jaw from JAW_TARGET, lips from its viseme)."""
    if phone == "SIL":
        return {}
    shape = LIP_SHAPES[viseme_of(phone)]
    jaw = SPEECH_FLOOR + JAW_TARGET.get(phone, 0.25) * (JAW_SCALE - SPEECH_FLOOR)
    pose = {"jawOpen": jaw, **shape.channels}
    if shape.closes_lips:
        pose["mouthClose"] = jaw
    return pose


def arkit_channels(channels: Mapping[str, ArrayLike]) -> dict[str, np.ndarray]:
    """A take sampled from a character's own shape keys, as ARKit channels: ARKit spellings renamed, viseme
    weights turned into the mouth pose of each viseme (so the portrait renderer can show any character's
    take). Channels that already have ARKit names pass through."""
    values = {k: np.asarray(v, np.float64) for k, v in channels.items()}
    if all(k in ARKIT_NAMES for k in values):
        return values
    mapping = map_shape_keys(list(values))
    if mapping.scheme == "arkit":
        return {channel: values[target] for target, channel in mapping.targets.items()}
    if not mapping.targets:
        return {k: v for k, v in values.items() if k in ARKIT_NAMES}
    n = max(len(v) for v in values.values())
    out: dict[str, np.ndarray] = {}
    for target, viseme in mapping.targets.items():
        for channel, amount in viseme_pose(_PHONE_OF_VISEME[mapping.scheme].get(viseme, "SIL")).items():
            out[channel] = out.get(channel, np.zeros(n)) + amount * values[target]
    return {k: np.clip(v, 0.0, 1.0) for k, v in out.items()}
