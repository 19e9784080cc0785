"""The bad-input corpus: damaged, hostile and absurd inputs against every command of the engine.

Each case names the command line, the exit code it must end with and words its message must hold. Every case
also checks what must hold whatever the input: no traceback (nothing escapes ``main``), no partial or
temporary file left, the user's files in the output folder byte-identical, and no code run from a file.
Signals and a full disk need a real process: they are at the end.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from inference.cli import main
from inference.motion.clip import MotionClip
from tests.flame_factory import ellipsoid_flame_arrays, write_flame_pkl

BAD_INPUT, NOT_WRITABLE, CANCELLED = 2, 3, 130
PRECIOUS = b"the user's own bytes\n"


@dataclass
class Case:
    id: str
    argv: list[str]  # placeholders: {tmp} the case's folder, {out} the output folder, {voice} {clip} {rig} {flame}
    code: int
    message: str
    make: Callable[[Path], object] | None = None  # writes the bad input into {tmp}

    def __str__(self) -> str:
        return self.id


# ------------------------------------------------------------------------------------------ makers
def _wav(name: str, samples, subtype: str = "FLOAT", rate: int = 16000):
    return lambda tmp: sf.write(tmp / name, np.asarray(samples, np.float32), rate, subtype=subtype)


def _bytes(name: str, data: bytes):
    return lambda tmp: (tmp / name).write_bytes(data)


def _text(name: str, text: str):
    return lambda tmp: (tmp / name).write_text(text, encoding="utf-8")


def _folder(name: str):
    return lambda tmp: (tmp / name).mkdir()


def _fifo(name: str):
    return lambda tmp: os.mkfifo(tmp / name)


def _npz(name: str, **arrays):
    def make(tmp: Path) -> None:
        with open(tmp / name, "wb") as f:
            np.savez(f, **arrays)
    return make


def _good_clip_dict(n: int = 12) -> dict:
    ramp = np.linspace(0, 1, n)
    return MotionClip(fps=30.0, duration=n / 30, channels={"jawOpen": ramp, "mouthClose": ramp[::-1].copy()},
                      head={a: np.zeros(n) for a in ("pitch", "yaw", "roll")}).to_dict()


def _clip(name: str, change: Callable[[dict], object]):
    """A small valid clip, changed by ``change`` (which edits it in place or returns raw JSON text)."""
    def make(tmp: Path) -> None:
        data = _good_clip_dict()
        raw = change(data)
        (tmp / name).write_text(raw if isinstance(raw, str) else json.dumps(data), encoding="utf-8")
    return make


def _set(path: str, value):
    def change(d: dict) -> None:
        *parents, last = path.split(".")
        for p in parents:
            d = d[p]
        d[last] = value
    return change


def _pickle_that_runs_code(tmp: Path) -> None:
    class Exploit:
        def __reduce__(self):
            return os.system, (f"touch {tmp / 'pwned'}",)
    (tmp / "model.pkl").write_bytes(pickle.dumps({"v_template": Exploit()}))


def _flame_with_nan(tmp: Path) -> None:
    arrays = ellipsoid_flame_arrays()
    arrays["v_template"] = arrays["v_template"].copy()
    arrays["v_template"][3, 1] = np.nan
    write_flame_pkl(arrays, tmp / "model.pkl")


def _png(name: str, w: int, h: int, value: int = 128):
    def make(tmp: Path) -> None:
        from PIL import Image
        Image.fromarray(np.full((h, w, 3), value, np.uint8)).save(tmp / name, format="PNG")
    return make


def _truncated(name: str, source: Callable[[Path], object], keep: float = 0.5):
    def make(tmp: Path) -> None:
        source(tmp)
        data = (tmp / name).read_bytes()
        (tmp / name).write_bytes(data[: int(len(data) * keep)])
    return make


def _npy_bytes(array: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def _with_value(clip: dict, value: float) -> str:
    """The clip's JSON with ``value`` at one frame of jawOpen (Python writes NaN and Infinity literals)."""
    clip["channels"]["jawOpen"][3] = value
    return json.dumps(clip)


def _deep_json(name: str, depth: int = 200_000):
    return _text(name, "[" * depth + "]" * depth)


# ------------------------------------------------------------------------------------------ the corpus
ANIMATE = ["animate", "{tmp}/in.wav", "-o", "{out}/result.json"]
AUDIO_CASES = [
    Case("audio-missing", ["animate", "{tmp}/nowhere.wav", "-o", "{out}/result.json"], BAD_INPUT, "does not exist"),
    Case("audio-folder", ANIMATE, BAD_INPUT, "is a folder", _folder("in.wav")),
    Case("audio-fifo", ANIMATE, BAD_INPUT, "not a regular file", _fifo("in.wav")),
    Case("audio-zero-bytes", ANIMATE, BAD_INPUT, "empty", _bytes("in.wav", b"")),
    Case("audio-header-only", ANIMATE, BAD_INPUT, "ms of audio", _wav("in.wav", [], "PCM_16")),
    Case("audio-one-sample", ANIMATE, BAD_INPUT, "ms of audio", _wav("in.wav", [0.1], "PCM_16")),
    Case("audio-1ms", ANIMATE, BAD_INPUT, "1 ms of audio", _wav("in.wav", np.full(16, 0.1), "PCM_16")),
    Case("audio-50ms", ANIMATE, BAD_INPUT, "50 ms of audio", _wav("in.wav", np.full(800, 0.1), "PCM_16")),
    Case("audio-nan", ANIMATE, BAD_INPUT, "not numbers", _wav("in.wav", [0.1, np.nan] * 8000)),
    Case("audio-inf", ANIMATE, BAD_INPUT, "not numbers", _wav("in.wav", [0.1, np.inf] * 8000)),
    Case("audio-minus-inf", ANIMATE, BAD_INPUT, "not numbers", _wav("in.wav", [-np.inf, 0.2] * 8000)),
    Case("audio-one-nan-late", ANIMATE, BAD_INPUT, "not numbers",
         _wav("in.wav", np.r_[np.zeros(200_000), np.nan, np.zeros(10)])),
    Case("audio-1e30", ANIMATE, BAD_INPUT, "full scale", _wav("in.wav", [1e30, -1e30] * 8000)),
    Case("audio-junk-bytes", ANIMATE, BAD_INPUT, "Cannot read audio", _bytes("in.wav", b"RIFF\x00\x00WAVEjunk" * 9)),
    Case("audio-text-as-mp3", ["animate", "{tmp}/in.mp3", "-o", "{out}/result.json"], BAD_INPUT,
         "Cannot read audio", _text("in.mp3", "this is not a recording\n" * 50)),
    Case("audio-png-as-wav", ANIMATE, BAD_INPUT, "Cannot read audio", _png("in.wav", 64, 64)),
    Case("audio-zip-as-wav", ANIMATE, BAD_INPUT, "Cannot read audio",
         lambda tmp: zipfile.ZipFile(tmp / "in.wav", "w").writestr("a.txt", "x" * 1000)),
    Case("audio-truncated-header", ANIMATE, BAD_INPUT, "Cannot read audio",
         _truncated("in.wav", _wav("in.wav", np.zeros(16000), "PCM_16"), 0.001)),
]

GOOD_WAV = _wav("good.wav", 0.2 * np.sin(np.arange(16000) / 16000 * 2 * np.pi * 220), "PCM_16")
OPTION = ["animate", "{tmp}/good.wav", "-o", "{out}/result.json"]
OPTION_CASES = [
    Case(f"option{flag}={value}", [*OPTION, flag, value], BAD_INPUT, words, GOOD_WAV)
    for flag, value, words in [
        ("--fps", "0", "out of range"), ("--fps", "-30", "out of range"), ("--fps", "nan", "out of range"),
        ("--fps", "inf", "out of range"), ("--fps", "1e9", "out of range"), ("--fps", "thirty", "not a number"),
        ("--mouth-gain", "-1", "out of range"), ("--mouth-gain", "4", "out of range"),
        ("--mouth-gain", "nan", "out of range"), ("--jaw-gain", "inf", "out of range"),
        ("--lip-gain", "-0.5", "out of range"), ("--head-gain", "1e308", "out of range"),
        ("--emotion-strength", "3", "out of range"), ("--seed", "-1", "out of range"),
        ("--seed", "1.5", "not a whole number"), ("--seed", "99999999999999999999", "out of range"),
        ("--emotion", "bored", "invalid choice"), ("--progress", "loud", "invalid choice"),
        ("--lang", "", "must not be empty"), ("--lang", "   ", "must not be empty"),
        ("--lang", "xx-nowhere", "Unknown language"),
        ("-t", "{tmp}/missing.txt", "does not exist"), ("-t", "{tmp}", "is a folder"),
    ]
] + [
    Case("transcript-folder-named-txt", [*OPTION, "-t", "{tmp}/words.txt"], BAD_INPUT, "is a folder",
         lambda tmp: (GOOD_WAV(tmp), (tmp / "words.txt").mkdir())),
    Case("transcript-empty-file", [*OPTION, "-t", "{tmp}/words.txt"], BAD_INPUT, "is empty",
         lambda tmp: (GOOD_WAV(tmp), (tmp / "words.txt").write_text(" \n"))),
    Case("transcript-not-utf8", [*OPTION, "-t", "{tmp}/words.txt"], BAD_INPUT, "not UTF-8",
         lambda tmp: (GOOD_WAV(tmp), (tmp / "words.txt").write_bytes(b"\xff\xfe\x00h\x00i\x81\x82"))),
]

CLIP_CHANGES: list[tuple[str, Callable[[dict], object], str]] = [
    ("not-json", lambda d: "{this is not json", "not a readable motion clip"),
    ("empty-file", lambda d: "", "not a readable motion clip"),
    ("binary", lambda d: "\x00\x01\x02", "not a readable motion clip"),
    ("nan-literal", lambda d: _with_value(d, float("nan")), "not a number JSON allows"),
    ("infinity-literal", lambda d: _with_value(d, float("inf")), "not a number JSON allows"),
    ("1e308", lambda d: d["channels"]["jawOpen"].__setitem__(3, 1e308), "not numbers within"),
    ("1e999", lambda d: _with_value(d, 12345.5).replace("12345.5", "1e999"), "not numbers within"),
    ("null-value", lambda d: d["channels"]["jawOpen"].__setitem__(3, None), "not numbers within"),
    ("string-value", lambda d: d["channels"]["jawOpen"].__setitem__(3, "x"), "list of numbers"),
    ("channels-string", _set("channels", "jawOpen"), "must be a JSON object"),
    ("channels-list", _set("channels", [1, 2, 3]), "must be a JSON object"),
    ("channel-dict", _set("channels.jawOpen", {"a": 1}), "list of numbers"),
    ("channel-nested", _set("channels.jawOpen", [[0.1, 0.2]] * 12), "flat list"),
    ("channel-number", _set("channels.jawOpen", 0.5), "list of numbers"),
    ("channels-empty", _set("channels", {}), "holds no animation"),
    ("no-frames", lambda d: d.update(channels={"jawOpen": []}, head={}, frame_count=0), "no frames"),
    ("uneven-lengths", _set("channels.jawOpen", [0.1] * 5), "different lengths"),
    ("no-format", lambda d: d.pop("format") and None, "not a vividtalk motion clip"),
    ("wrong-format", _set("format", "something.else"), "not a vividtalk motion clip"),
    ("top-level-list", lambda d: "[1, 2, 3]", "not a vividtalk motion clip"),
    ("version-99", _set("version", 99), "Update vividtalk"),
    ("version-string", _set("version", "2"), "whole number"),
    ("version-bool", _set("version", True), "whole number"),
    ("fps-zero", _set("fps", 0), "fps must be a number"),
    ("fps-string", _set("fps", "30"), "fps must be a number"),
    ("fps-huge", _set("fps", 1e9), "fps must be a number"),
    ("duration-1e9", _set("duration", 1e9), "duration must be a number"),
    ("duration-negative", _set("duration", -5), "duration must be a number"),
    ("claims-10-million-frames", _set("frame_count", 10_000_000), "claims 10000000 frames"),
    ("head-axis-unknown", _set("head.spin", [0.0] * 12), "unknown head axes"),
    ("head-1e6-degrees", lambda d: d["head"]["yaw"].__setitem__(2, 1e6), "not numbers within"),
    ("keys-garbage", _set("keys", {"jawOpen": [["a", "b"]]}), "keys"),
    ("keys-nan", lambda d: json.dumps({**d, "keys": {"jawOpen": [[0, float("nan"), 0, 0]]}}),
     "not a number JSON allows"),
    ("keys-1e300", _set("keys", {"jawOpen": [[0, 1e300, 0, 0]]}), "keys"),
    ("phones-garbage", _set("phones", [1, 2, 3]), "start, end, label"),
    ("meta-list", _set("meta", [1]), "must be a JSON object"),
    ("deep-nesting", lambda d: "[" * 200_000 + "]" * 200_000, "nested far too deeply"),
]
CLIP_CASES = [Case(f"clip-{name}/export-csv", ["export-csv", "{tmp}/clip.json", "-o", "{out}/result.csv"],
                   BAD_INPUT, words, _clip("clip.json", change)) for name, change, words in CLIP_CHANGES]
SOME_CLIPS = [c for c in CLIP_CHANGES if c[0] in {"not-json", "nan-literal", "1e308", "channel-nested",
                                                   "claims-10-million-frames", "deep-nesting", "null-value"}]
CLIP_CASES += [
    Case(f"clip-{name}/{cmd}", [*argv, "-o", "{out}/" + out], BAD_INPUT, words,
         lambda tmp, change=change: (_clip("clip.json", change)(tmp), (tmp / "keys.json").write_text('["jawOpen"]')))
    for name, change, words in SOME_CLIPS
    for cmd, argv, out in [
        ("retarget", ["retarget", "{tmp}/clip.json", "--shape-keys", "{tmp}/keys.json"], "result.json"),
        ("render", ["render", "--rig", "{rig}", "--motion", "{tmp}/clip.json"], "result.mp4"),
        ("export-flame", ["export-flame", "{tmp}/clip.json", "--model", "{flame}"], "result.npz"),
    ]
]

RIG_ARGV = ["render", "--rig", "{tmp}/rig.npz", "--motion", "{clip}", "-o", "{out}/result.mp4"]
FILE_CASES = [
    Case("rig-missing", RIG_ARGV, BAD_INPUT, "does not exist"),
    Case("rig-not-zip", RIG_ARGV, BAD_INPUT, "not a readable rig", _text("rig.npz", "hello")),
    Case("rig-empty", RIG_ARGV, BAD_INPUT, "not a readable rig", _bytes("rig.npz", b"")),
    Case("rig-truncated", RIG_ARGV, BAD_INPUT, "not a readable rig",
         _truncated("rig.npz", _npz("rig.npz", format=np.array("vividtalk.rig"), big=np.arange(50000.0)))),
    Case("rig-pickled-object", RIG_ARGV, BAD_INPUT, "not a readable rig",
         _npz("rig.npz", format=np.array("vividtalk.rig"), evil=np.array([{"a": 1}], dtype=object))),
    Case("rig-npy-not-npz", RIG_ARGV, BAD_INPUT, "not a readable rig",
         lambda tmp: (tmp / "rig.npz").write_bytes(_npy_bytes(np.arange(5)))),
    Case("rig-wrong-format", RIG_ARGV, BAD_INPUT, "not a vividtalk rig", _npz("rig.npz", format=np.array("x"))),
    Case("rig-version-99", RIG_ARGV, BAD_INPUT, "update vividtalk",
         _npz("rig.npz", format=np.array("vividtalk.rig"), version=np.array(99))),
    Case("rig-version-text", RIG_ARGV, BAD_INPUT, "damaged version",
         _npz("rig.npz", format=np.array("vividtalk.rig"), version=np.array("two"))),
    Case("rig-incomplete", RIG_ARGV, BAD_INPUT, "incomplete or damaged",
         _npz("rig.npz", format=np.array("vividtalk.rig"), version=np.array(1))),
    Case("ict-folder-missing", ["rig", "--ict", "{tmp}/nowhere", "-o", "{out}/result.npz"], BAD_INPUT,
         "No ICT-FaceKit head"),
    Case("ict-folder-empty", ["rig", "--ict", "{tmp}/ict", "-o", "{out}/result.npz"], BAD_INPUT,
         "No ICT-FaceKit head", _folder("ict")),
    Case("ict-not-zip", ["rig", "--ict", "{tmp}/ict", "-o", "{out}/result.npz"], BAD_INPUT, "not a readable",
         lambda tmp: ((tmp / "ict").mkdir(), (tmp / "ict/ict_arkit.npz").write_text("garbage"))),
    Case("ict-incomplete", ["rig", "--ict", "{tmp}/ict", "-o", "{out}/result.npz"], BAD_INPUT,
         "not a complete ICT-FaceKit head",
         lambda tmp: ((tmp / "ict").mkdir(), _npz("ict/ict_arkit.npz", neutral_vertices=np.zeros((3, 3)))(tmp))),
    Case("flame-missing", ["rig", "--flame", "{tmp}/model.pkl", "-o", "{out}/result.npz"], BAD_INPUT,
         "does not exist"),
    Case("flame-hostile-pickle", ["rig", "--flame", "{tmp}/model.pkl", "-o", "{out}/result.npz"], BAD_INPUT, "",
         _pickle_that_runs_code),
    Case("flame-nan-vertices", ["rig", "--flame", "{tmp}/model.pkl", "-o", "{out}/result.npz"], BAD_INPUT,
         "NaN or infinity", _flame_with_nan),
    Case("flame-npz-not-zip", ["rig", "--flame", "{tmp}/model.npz", "-o", "{out}/result.npz"], BAD_INPUT,
         "not a readable", _text("model.npz", "not a zip")),
    Case("flame-text-pkl", ["rig", "--flame", "{tmp}/model.pkl", "-o", "{out}/result.npz"], BAD_INPUT, "",
         _text("model.pkl", "just words")),
    Case("flame-export-hostile", ["export-flame", "{clip}", "--model", "{tmp}/model.pkl", "-o",
                                  "{out}/result.npz"], BAD_INPUT, "", _pickle_that_runs_code),
    Case("fit-without-ict", ["rig", "--fit", "{tmp}/me.png", "-o", "{out}/result.npz"], BAD_INPUT, "use it with --ict",
         _png("me.png", 300, 300)),
    Case("fit-photo-missing", ["rig", "--ict", "--fit", "{tmp}/me.png", "-o", "{out}/result.npz"], BAD_INPUT,
         "does not exist"),
    Case("fit-photo-no-face", ["rig", "--ict", "--fit", "{tmp}/me.png", "-o", "{out}/result.npz"], BAD_INPUT,
         "No face found", _png("me.png", 400, 400)),
    Case("fit-photo-is-text", ["rig", "--ict", "--fit", "{tmp}/me.png", "-o", "{out}/result.npz"], BAD_INPUT,
         "not an image", _text("me.png", "words")),
    Case("image-missing", ["rig", "--image", "{tmp}/me.jpg", "-o", "{out}/result.npz"], BAD_INPUT, "does not exist"),
    Case("image-folder", ["rig", "--image", "{tmp}/me.jpg", "-o", "{out}/result.npz"], BAD_INPUT, "not a file",
         _folder("me.jpg")),
    Case("image-empty", ["rig", "--image", "{tmp}/me.jpg", "-o", "{out}/result.npz"], BAD_INPUT,
         "not an image", _bytes("me.jpg", b"")),
    Case("image-text", ["rig", "--image", "{tmp}/me.jpg", "-o", "{out}/result.npz"], BAD_INPUT, "not an image",
         _text("me.jpg", "hello")),
    Case("image-truncated-png", ["rig", "--image", "{tmp}/me.png", "-o", "{out}/result.npz"], BAD_INPUT,
         "truncated", _truncated("me.png", _png("me.png", 600, 600, 90), 0.3)),
    Case("image-1x1", ["rig", "--image", "{tmp}/me.png", "-o", "{out}/result.npz"], BAD_INPUT, "1×1 pixels",
         _png("me.png", 1, 1)),
    Case("image-20000x1", ["rig", "--image", "{tmp}/me.png", "-o", "{out}/result.npz"], BAD_INPUT,
         "20000×1 pixels", _png("me.png", 20000, 1)),
    Case("image-5000x20", ["rig", "--image", "{tmp}/me.png", "-o", "{out}/result.npz"], BAD_INPUT,
         "5000×20 pixels", _png("me.png", 5000, 20)),
    Case("image-no-face", ["rig", "--image", "{tmp}/me.png", "-o", "{out}/result.npz"], BAD_INPUT, "face",
         _png("me.png", 400, 400)),
    Case("shape-keys-missing", ["retarget", "{clip}", "--shape-keys", "{tmp}/keys.json", "-o", "{out}/result.json"],
         BAD_INPUT, "does not exist"),
    Case("shape-keys-dict", ["retarget", "{clip}", "--shape-keys", "{tmp}/keys.json", "-o", "{out}/result.json"],
         BAD_INPUT, "JSON list of shape-key names", _text("keys.json", '{"a": 1}')),
    Case("shape-keys-numbers", ["retarget", "{clip}", "--shape-keys", "{tmp}/keys.json", "-o",
                                "{out}/result.json"], BAD_INPUT, "JSON list of shape-key names",
         _text("keys.json", "[1, 2]")),
    Case("shape-keys-deep", ["retarget", "{clip}", "--shape-keys", "{tmp}/keys.json", "-o", "{out}/result.json"],
         BAD_INPUT, "nested far too deeply", _deep_json("keys.json")),
    Case("meshes-nan", ["render", "--rig", "{rig}", "--meshes", "{tmp}/m.npz", "-o", "{out}/result.mp4"],
         BAD_INPUT, "not finite", lambda tmp: _npz("m.npz", format=np.array("vividtalk.meshes"), version=np.array(1),
                                                   fps=np.array(30.0), vertices=_nan_meshes(tmp))(tmp)),
    Case("meshes-fps-text", ["render", "--rig", "{rig}", "--meshes", "{tmp}/m.npz", "-o", "{out}/result.mp4"],
         BAD_INPUT, "fps of 1-240", _npz("m.npz", format=np.array("vividtalk.meshes"), version=np.array(1),
                                         fps=np.array("fast"), vertices=np.zeros((2, 4, 3)))),
    Case("render-audio-corrupt", ["render", "--rig", "{rig}", "--motion", "{clip}", "--audio", "{tmp}/v.wav",
                                  "-o", "{out}/result.mp4"], BAD_INPUT, "Cannot read audio",
         _bytes("v.wav", b"RIFF junk that is no recording" * 20)),
    Case("render-audio-missing", ["render", "--rig", "{rig}", "--motion", "{clip}", "--audio", "{tmp}/v.wav",
                                  "-o", "{out}/result.mp4"], BAD_INPUT, "does not exist"),
    Case("render-size-10", ["render", "--rig", "{rig}", "--motion", "{clip}", "--size", "10", "-o",
                            "{out}/result.mp4"], BAD_INPUT, "out of range"),
    Case("render-size-huge", ["render", "--rig", "{rig}", "--motion", "{clip}", "--size", "99999", "-o",
                              "{out}/result.mp4"], BAD_INPUT, "out of range"),
    Case("render-size-odd", ["render", "--rig", "{rig}", "--motion", "{clip}", "--size", "65", "-o",
                             "{out}/result.mp4"], BAD_INPUT, "must be even"),
    Case("render-workers-0", ["render", "--rig", "{rig}", "--motion", "{clip}", "--workers", "0", "-o",
                              "{out}/result.mp4"], BAD_INPUT, "out of range"),
    Case("render-background", ["render", "--rig", "{rig}", "--motion", "{clip}", "--background", "sky", "-o",
                               "{out}/result.mp4"], BAD_INPUT, "invalid choice"),
    Case("render-mouth", ["render", "--rig", "{rig}", "--motion", "{clip}", "--mouth", "teeth", "-o",
                          "{out}/result.mp4"], BAD_INPUT, "invalid choice"),
    Case("render-device", ["render", "--rig", "{rig}", "--motion", "{clip}", "--device", "tpu", "-o",
                           "{out}/result.mp4"], BAD_INPUT, "Unknown device"),
]


def _rig_changed(change: Callable[[dict], object]):
    """The shared valid portrait rig with one array damaged by ``change``."""
    def make(tmp: Path) -> None:
        with np.load(tmp.parent / "shared" / "rig.npz") as z:
            arrays = dict(z)
        change(arrays)
        with open(tmp / "rig.npz", "wb") as f:
            np.savez(f, **arrays)
    return make


def _meta(arrays: dict, key: str, value: str) -> None:
    values = list(arrays["meta_values"])
    values[list(arrays["meta_keys"]).index(key)] = value
    arrays["meta_values"] = np.array(values)


RIG_DAMAGE = [
    ("vertices-nan", lambda a: a["vertices"].__setitem__((3, 1), np.nan), "NaN or infinity"),
    ("vertices-flat", lambda a: a.__setitem__("vertices", a["vertices"].ravel()), "inconsistent"),
    ("deltas-text", lambda a: a.__setitem__("shape_deltas", np.array(["x"])), "damaged"),
    ("weights-short", lambda a: a.__setitem__("weights", a["weights"][:10]), "weights must be"),
    ("faces-out-of-range", lambda a: a.__setitem__("face_indices", a["face_indices"] + 10**6), "does not exist"),
    ("texture-tiny", lambda a: a.__setitem__("texture", np.zeros((2, 2, 3), np.uint8)), "texture must be"),
    ("texture-text", lambda a: a.__setitem__("texture", np.array("abc")), "texture must be"),
    ("texture-float", lambda a: a.__setitem__("texture", a["texture"].astype(float)), "texture must be"),
    ("photo-vertices-short", lambda a: a.__setitem__("photo_vertices", np.zeros((3, 3))), "photo_vertices"),
    ("landmark-out-of-range", lambda a: a.__setitem__("landmark_vertices", a["landmark_vertices"] + 10**6),
     "landmark"),
    ("meta-mismatch", lambda a: a.__setitem__("meta_values", np.array(["x"])), "damaged"),
    ("scale-not-a-number", lambda a: _meta(a, "pixels_per_metre", "abc"), "measurements"),
    ("scale-zero", lambda a: _meta(a, "pixels_per_metre", "0"), "damaged"),
    ("drivers-uneven", lambda a: a.__setitem__("driver_axes", a["driver_axes"][:1]), "damaged"),
]
FILE_CASES += [Case(f"rig-{name}", RIG_ARGV, BAD_INPUT, words, _rig_changed(change))
               for name, change, words in RIG_DAMAGE]


def _nan_meshes(tmp: Path) -> np.ndarray:
    from inference.rigs.rig import FaceRig

    n = FaceRig.load(tmp.parent / "shared" / "rig.npz").n_vertices
    verts = np.zeros((3, n, 3))
    verts[1, 5, 0] = np.nan
    return verts


OUTPUT_CASES = [
    Case("out-folder-missing", ["export-csv", "{clip}", "-o", "{tmp}/no/such/folder/x.csv"], NOT_WRITABLE,
         "does not exist"),
    Case("out-is-a-folder", ["export-csv", "{clip}", "-o", "{out}"], NOT_WRITABLE, "is a folder"),
    Case("out-animate-is-a-folder", ["animate", "{tmp}/good.wav", "-o", "{out}"], NOT_WRITABLE, "is a folder",
         GOOD_WAV),
    Case("out-render-gif", ["render", "--rig", "{rig}", "--motion", "{clip}", "-o", "{out}/result.gif"],
         BAD_INPUT, "Cannot write video as '.gif'"),
    Case("out-render-onto-a-file", ["render", "--rig", "{rig}", "--motion", "{clip}", "-o", "{out}/notes"],
         NOT_WRITABLE, "is a file", lambda tmp: (tmp / "out" / "notes").write_bytes(PRECIOUS)),
    Case("out-demo-onto-a-file", ["demo", "-o", "{out}/notes"], NOT_WRITABLE, "is a file",
         lambda tmp: (tmp / "out" / "notes").write_bytes(PRECIOUS)),
    Case("out-rig-csv-under-a-file", ["export-csv", "{clip}", "-o", "{out}/notes/x.csv"], NOT_WRITABLE, "",
         lambda tmp: (tmp / "out" / "notes").write_bytes(PRECIOUS)),
]

OUTPUT_CASES += [
    Case("out-is-the-input-clip", ["export-csv", "{tmp}/c.json", "-o", "{tmp}/c.json"], BAD_INPUT,
         "would destroy the input", _clip("c.json", lambda d: None)),
    Case("out-is-the-input-audio", ["animate", "{tmp}/good.wav", "-o", "{tmp}/good.wav"], BAD_INPUT,
         "would destroy the input", GOOD_WAV),
    Case("out-is-the-input-by-another-name", ["animate", "{tmp}/good.wav", "-o", "{tmp}/./sub/../good.wav"],
         BAD_INPUT, "would destroy the input", lambda tmp: (GOOD_WAV(tmp), (tmp / "sub").mkdir())),
    Case("out-csv-is-the-clip", ["animate", "{tmp}/good.wav", "-o", "{out}/result.json", "--csv",
                                 "{out}/result.json"], BAD_INPUT, "are the same file", GOOD_WAV),
    Case("out-rig-is-the-photo", ["rig", "--image", "{tmp}/me.png", "-o", "{tmp}/me.png"], BAD_INPUT,
         "would destroy the input", _png("me.png", 300, 300)),
    Case("out-device", ["export-csv", "{clip}", "-o", "/dev/null"], NOT_WRITABLE, "not a file"),
    Case("out-fifo", ["export-csv", "{clip}", "-o", "{out}/pipe"], NOT_WRITABLE, "not a file",
         lambda tmp: os.mkfifo(tmp / "out" / "pipe")),
    Case("clip-audio-path-number", ["render", "--rig", "{rig}", "--motion", "{tmp}/c.json", "-o", "{out}/v.mp4"],
         BAD_INPUT, "must be the recording's file name", _clip("c.json", _set("audio", {"path": 123}))),
]

CORPUS = AUDIO_CASES + OPTION_CASES + CLIP_CASES + FILE_CASES + OUTPUT_CASES


def test_the_corpus_is_large_and_has_unique_names():
    assert len(CORPUS) >= 100
    assert len({c.id for c in CORPUS}) == len(CORPUS)


# ------------------------------------------------------------------------------------------ running a case
@pytest.fixture(scope="module")
def shared_inputs(tmp_path_factory, demo_voice) -> dict[str, str]:
    """Valid inputs the bad cases lean on: a clip, the built-in portrait rig, a FLAME model."""
    from inference.rigs.portrait import default_portrait_rig

    folder = tmp_path_factory.mktemp("cases") / "shared"
    folder.mkdir()
    (folder / "clip.json").write_text(json.dumps(_good_clip_dict()), encoding="utf-8")
    default_portrait_rig().save(folder / "rig.npz")
    write_flame_pkl(ellipsoid_flame_arrays(), folder / "flame.pkl")
    return {"clip": str(folder / "clip.json"), "rig": str(folder / "rig.npz"), "flame": str(folder / "flame.pkl"),
            "voice": str(demo_voice)}


def run_in_process(argv: list[str], capsys) -> tuple[int, str]:
    """(exit code, stderr) of ``vividtalk argv``; argparse's exits count, any other exception fails the test."""
    try:
        code = main(argv)
    except SystemExit as e:
        code = e.code
    return code, capsys.readouterr().err


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("case", CORPUS, ids=str)
def test_bad_input(case: Case, shared_inputs, tmp_path, capsys):
    case_dir = shared_inputs["clip"] and Path(shared_inputs["clip"]).parent.parent / case.id.replace("/", "_")
    case_dir.mkdir()
    out = case_dir / "out"
    out.mkdir()
    for name in ("result.json", "result.csv", "result.npz", "result.mp4", "user notes.txt"):
        (out / name).write_bytes(PRECIOUS)  # the user's files, and earlier outputs, must come through untouched
    if case.make:
        case.make(case_dir)
    before, inputs_before = snapshot(out), snapshot(case_dir)
    argv = [a.format(tmp=case_dir, out=out, **shared_inputs) for a in case.argv]

    code, err = run_in_process(argv, capsys)

    assert code == case.code, f"{case.id}: exit {code}, expected {case.code}; stderr: {err}"
    assert case.message in err, f"{case.id}: the message lacks '{case.message}': {err}"
    assert "Traceback" not in err and err.strip(), f"{case.id}: {err}"
    assert snapshot(out) == before, f"{case.id}: the output folder changed"
    assert snapshot(case_dir) == inputs_before, f"{case.id}: files were added or changed: a partial output?"
    assert not (case_dir / "pwned").exists(), f"{case.id}: code from a file ran"


# ------------------------------------------------------------------------------------------ real processes
def _engine(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "inference", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


@pytest.fixture(scope="module")
def long_line(tmp_path_factory, demo_voice) -> Path:
    """About 50 s of speech: long enough for the aligner's worker processes."""
    audio, rate = sf.read(demo_voice)
    path = tmp_path_factory.mktemp("long") / "long line.wav"
    sf.write(path, np.concatenate([audio] * 4), rate)
    return path


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    return found


@pytest.mark.skipif(sys.platform != "linux", reason="worker processes and /proc are Linux only")
@pytest.mark.parametrize("sig,ignored_by_parent", [(signal.SIGINT, False), (signal.SIGINT, True),
                                                   (signal.SIGTERM, False)])
def test_a_signal_cancels_a_run_with_workers(long_line, tmp_path, sig, ignored_by_parent):
    """Ctrl+C and SIGTERM end the run with 130 and nothing written, workers included, even when the engine was
    started with SIGINT ignored (a shell's background job)."""
    preexec = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if ignored_by_parent else None
    out = tmp_path / "clip.json"
    engine = _engine("animate", str(long_line), "-o", str(out), "--progress", "quiet", preexec_fn=preexec)
    deadline = time.monotonic() + 60
    while len(_children(engine.pid)) < 2 and engine.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = _children(engine.pid)
    assert len(workers) >= 2, "the engine finished before its workers started"
    engine.send_signal(sig)
    _, err = engine.communicate(timeout=30)
    assert engine.returncode == CANCELLED, err
    assert "Cancelled" in err and "Traceback" not in err
    deadline = time.monotonic() + 5
    while any(Path(f"/proc/{p}").exists() for p in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(Path(f"/proc/{p}").exists() for p in workers)
    assert os.listdir(tmp_path) == []


def _full_disk(limit_bytes: int):
    """A file-size limit stands in for a full disk: writes past it fail with EFBIG, as ENOSPC would."""
    def apply() -> None:
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))
    return apply


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_FSIZE semantics")
@pytest.mark.parametrize("command", [["rig"], ["demo"], ["animate", "{voice}"], ["export-csv", "{clip}"],
                                     ["render", "--rig", "{rig}", "--motion", "{clip}", "--size", "128"],
                                     ["render", "--rig", "{rig}", "--motion", "{clip}", "--size", "128", "-o"]])
def test_a_full_disk_fails_cleanly(command, shared_inputs, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "user notes.txt").write_bytes(PRECIOUS)
    frames = command[-1] == "-o"  # PNG frames into a new folder
    target = {"rig": "face.npz", "demo": "demo", "animate": "clip.json", "export-csv": "curves.csv",
              "render": "frames" if frames else "video.mp4"}[command[0]]
    args = [a.format(**shared_inputs) for a in command if a != "-o"] + ["-o", str(out / target)]
    engine = _engine(*args, "--progress", "quiet", preexec_fn=_full_disk(2048))
    _, err = engine.communicate(timeout=300)
    assert engine.returncode == NOT_WRITABLE, err
    assert "Traceback" not in err and any(w in err.lower() for w in ("too large", "no space", "disk has space")), err
    assert snapshot(out) == {"user notes.txt": PRECIOUS}  # no partial file, no folder left behind


# ------------------------------------------------------------------------------------------ folders it did not make
@pytest.mark.parametrize("target", ["frames", "."])
def test_frames_into_a_users_folder_leave_everything_else(target, shared_inputs, tmp_path, monkeypatch, capsys):
    """PNG frames into a folder that exists (the current one included) are added beside the user's files; the
    folder keeps its files, sub-folders and mode, and an earlier render's frame is replaced in place."""
    folder = tmp_path / "work"
    (folder / "sub").mkdir(parents=True)
    (folder / "script.txt").write_bytes(PRECIOUS)
    (folder / "sub" / "take.blend").write_bytes(PRECIOUS)
    (folder / "frame_00002.png").write_bytes(b"an older render")
    os.chmod(folder, 0o751)
    monkeypatch.chdir(folder if target == "." else tmp_path)
    argv = ["render", "--rig", shared_inputs["rig"], "--motion", shared_inputs["clip"], "--size", "64",
            "--workers", "1", "-o", "." if target == "." else "work"]
    code, err = run_in_process(argv, capsys)
    assert code == 0, err
    assert (folder / "script.txt").read_bytes() == PRECIOUS and (folder / "sub" / "take.blend").read_bytes() == PRECIOUS
    frames = sorted(p.name for p in folder.glob("frame_*.png"))
    assert frames == [f"frame_{i:05d}.png" for i in range(1, 13)]
    assert (folder / "frame_00002.png").read_bytes()[:4] == b"\x89PNG"
    assert oct(folder.stat().st_mode & 0o777) == oct(0o751)
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temporary folder left


def test_warnings_reach_stderr_when_it_is_not_a_terminal(tmp_path):
    """Piped, in CI or in a batch tool the user still sees what went wrong, in every progress mode."""
    sf.write(tmp_path / "hum.wav", 0.001 * np.sin(np.arange(32000) / 16000 * 2 * np.pi * 50), 16000)
    for mode in ("quiet", "json"):
        engine = _engine("animate", str(tmp_path / "hum.wav"), "-o", str(tmp_path / f"{mode}.json"), "--progress",
                         mode)
        out, err = engine.communicate(timeout=120)
        assert engine.returncode == 0, err
        assert "vividtalk: warning: No speech found" in err
        if mode == "json":
            assert any(json.loads(line)["event"] == "warning" for line in out.splitlines())


def test_far_too_much_transcript_falls_back_at_once(demo_voice, tmp_path, capsys):
    (tmp_path / "words.txt").write_text("hello there " * 20000, encoding="utf-8")
    code, err = run_in_process(["animate", str(demo_voice), "-t", str(tmp_path / "words.txt"), "-o",
                                str(tmp_path / "c.json")], capsys)
    assert code == 0 and "far more than anyone says" in err


def test_a_closed_output_pipe_ends_the_run_quietly(demo_voice, tmp_path):
    engine = _engine("animate", str(demo_voice), "-o", str(tmp_path / "c.json"), "--progress", "json")
    engine.stdout.readline()
    engine.stdout.close()  # the reader went away (a Blender that quit)
    err = engine.stderr.read()
    engine.wait(timeout=120)
    assert engine.returncode == CANCELLED and "Traceback" not in err and "closed it" in err
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(sys.platform != "linux", reason="worker processes are Linux only")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_signal_cancels_a_render_and_leaves_nothing(sig, shared_inputs, long_line, tmp_path):
    clip = tmp_path / "clip.json"
    long_clip = _good_clip_dict(900)
    clip.write_text(json.dumps(long_clip), encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    for target in ("v.mp4", "frames"):
        engine = _engine("render", "--rig", shared_inputs["rig"], "--motion", str(clip), "--size", "512",
                         "--workers", "2", "-o", str(out / target), "--progress", "json")
        for line in engine.stdout:  # wait until frames are being made
            if '"stage": "render"' in line:
                break
        engine.send_signal(sig)
        _, err = engine.communicate(timeout=60)
        assert engine.returncode == CANCELLED, err
        assert os.listdir(out) == []


def test_a_cancelled_demo_leaves_no_folder(tmp_path):
    engine = _engine("demo", "-o", str(tmp_path / "demo"), "--progress", "json")
    for line in engine.stdout:
        if '"stage": "phones"' in line or '"stage": "align"' in line or '"stage": "decode"' in line:
            break
    engine.send_signal(signal.SIGINT)
    _, err = engine.communicate(timeout=120)
    assert engine.returncode == CANCELLED, err
    assert not (tmp_path / "demo").exists()


@pytest.mark.parametrize("command", [["demo"], ["export-csv", "{clip}"], ["animate", "{voice}"],
                                     ["render", "--rig", "{rig}", "--motion", "{clip}", "--size", "64"]])
def test_a_read_only_folder_is_an_output_problem(command, shared_inputs, read_only_folder, capsys):
    name = {"demo": "demo", "export-csv": "x.csv", "animate": "x.json", "render": "x.mp4"}[command[0]]
    target = read_only_folder if command[0] == "demo" else read_only_folder / name
    argv = [a.format(**shared_inputs) for a in command] + ["-o", str(target)]
    code, err = run_in_process(argv, capsys)
    assert code == NOT_WRITABLE and "not writable" in err, err
    assert os.listdir(read_only_folder) == []
