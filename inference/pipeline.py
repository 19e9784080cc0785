"""Stage 1 end to end: a recording (+ transcript) -> a MotionClip."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import __version__
from .audio import SAMPLE_RATE
from .audio.analysis import FPS as ANALYSIS_FPS
from .audio.analysis import Analyzer, SpeechAnalysis
from .audio.decode import probe
from .audio.languages import resolve
from .contract import contract
from .errors import InputError
from .motion import eyes, head, head_codebook
from .motion.arkit import ARKIT_NAMES, HEAD_AXES
from .motion.clip import MotionClip
from .motion.emotion import get_emotion
from .motion.head_codebook import HeadStyleModel
from .motion.keys import BLENDSHAPE_TOLERANCE, HEAD_TOLERANCE_DEG, sparse_many_keys
from .motion.lipsync import MouthParams, loudness01, mouth_curves
from .motion.visemes import viseme_of
from .motion.vowel_openness import jaw_targets
from .progress import Progress


@dataclass(frozen=True)
class AnimateOptions:
    transcript: str | None = None
    language: str = "en"
    fps: float = 30.0
    mouth_gain: float = 1.0
    jaw_gain: float = 1.0
    lip_gain: float = 1.0
    head_gain: float = 1.0
    head_style: str = "conversational"
    emotion: str = "neutral"
    emotion_strength: float = 1.0
    seed: int = 0
    head_style_model: HeadStyleModel | None = None
    """Head motion in the style of a reference video (head_codebook.py), instead of ``head_style``."""
    engine: str = "builtin"  # "a2f": lips and jaw from an Audio2Face-3D model (inference/neural/)
    a2f_model: str | None = None
    a2f_actor: str = ""  # a v3.0 model's identity (default: its first)
    phones: str = "builtin"  # "wav2vec2": phone timing from a wav2vec2 phoneme model
    phone_model: str | None = None
    device: str = "auto"

    @classmethod
    def from_contract(cls, values: dict, transcript: str | None = None) -> AnimateOptions:
        """From the contract's animate and engine options by their names (``lang`` is ``language``); missing
        ones default."""
        names = [*contract()["animate_options"], *contract()["engine_options"]]
        fields = {("language" if name == "lang" else name): values[name]
                  for name in names if values.get(name) is not None}
        return cls(transcript=transcript, **fields)

    def validate(self) -> None:
        """The contract's ranges and choices (the CLI checks them too; this guards callers of the library)."""
        for name, spec in contract()["animate_options"].items():
            value = getattr(self, "language" if name == "lang" else name)
            if spec["type"] == "enum" and str(value).strip().lower() not in spec["choices"]:
                raise InputError(f"--{name.replace('_', '-')} '{value}' is not one of {', '.join(spec['choices'])}.")
            if spec["type"] == "str" and not str(value).strip():
                raise InputError(f"--{name} must not be empty (e.g. --{name} {spec['default']}).")
            if spec["type"] in ("int", "float") and not (
                    math.isfinite(value) and spec["min"] <= value <= spec["max"]):
                raise InputError(f"--{name.replace('_', '-')} {value} is out of range; use "
                                 f"{spec['min']:g}-{spec['max']:g}.")
        for name, spec in contract()["engine_options"].items():
            value = getattr(self, name)
            if spec["type"] == "enum" and str(value).strip().lower() not in spec["choices"]:
                raise InputError(f"--{name.replace('_', '-')} '{value}' is not one of {', '.join(spec['choices'])}.")
        if self.engine == "a2f" and not (self.a2f_model or "").strip():
            raise InputError("--engine a2f needs --a2f-model DIR: the folder of an Audio2Face-3D model "
                             "('vividtalk models fetch a2f-mark' downloads one).")
        if self.phones == "wav2vec2" and not (self.phone_model or "").strip():
            raise InputError("--phones wav2vec2 needs --phone-model DIR: the folder of a wav2vec2 phoneme model "
                             "('vividtalk models fetch wav2vec2-espeak' downloads one).")


def read_transcript(value: str | None) -> str | None:
    """A transcript given as text, or as the path of a UTF-8 text file."""
    if not value or not value.strip():
        return None
    looks_like_file = len(value) < 1024 and "\n" not in value and value.strip().lower().endswith(".txt")
    if looks_like_file and not os.path.exists(value):
        raise InputError(f"Transcript file '{value}' does not exist; check the path, or pass the words themselves.")
    if (looks_like_file or len(value) < 1024) and os.path.isdir(value):
        raise InputError(f"Transcript '{value}' is a folder; pass a UTF-8 .txt file or the words themselves.")
    if looks_like_file and not os.path.isfile(value):
        raise InputError(f"Transcript '{value}' is not a file; pass a UTF-8 .txt file or the words themselves.")
    if len(value) < 1024 and "\n" not in value and os.path.isfile(value):
        try:
            text = Path(value).read_text(encoding="utf-8-sig")
            if not text.strip():
                raise InputError(f"Transcript file '{value}' is empty; put the words that are said in it, or leave "
                                 "-t out to have them recognised.")
            return text
        except UnicodeDecodeError as e:
            raise InputError(f"Transcript file '{value}' is not UTF-8 text; save it as UTF-8.") from e
        except OSError as e:
            raise InputError(f"Cannot read transcript file '{value}': {e.strerror}.") from e
    return value


def animate(audio_path: str | os.PathLike, options: AnimateOptions, progress: Progress | None = None,
            analyzer: Analyzer | None = None) -> MotionClip:
    """Analyse the recording and synthesise the face and head motion."""
    progress = progress or Progress()
    options.validate()
    lang = resolve(options.language)
    emotion = get_emotion(options.emotion)
    info = probe(audio_path)
    analyzer = analyzer or Analyzer(progress)
    analyzer.progress = progress
    phone_model = None
    if options.phones == "wav2vec2":
        from .neural.engines import phone_model as load_phone_model

        progress.update("model", 0.0, "wav2vec2")
        phone_model = load_phone_model(str(options.phone_model), options.device)
    analysis = analyzer.analyse(info, options.transcript, lang, phone_model)
    learned: dict[str, np.ndarray] | None = None
    engine_meta: dict = {}
    if options.engine == "a2f":
        learned, engine_meta = _a2f_lower_face(info, analysis.duration, options, progress)
    progress.update("motion", 0.0)
    clip = synthesise(analysis, options, emotion, learned)
    clip.audio = {"path": str(Path(audio_path).resolve()), "sample_rate": info.sample_rate,
                  "channels": info.channels, "duration": round(analysis.duration, 4)}
    clip.meta.update({"engine": f"vividtalk {__version__}", "language": lang.code, "espeak_voice": lang.voice,
                      "transcript": options.transcript or "", "timing_methods": analysis.methods,
                      "warnings": list(progress.warnings)})
    if engine_meta:
        clip.meta["a2f"] = engine_meta
    if phone_model is not None:
        clip.meta["phone_model"] = {"folder": str(phone_model.folder), "device": phone_model.device}
    progress.update("motion", 1.0)
    return clip


def frame_count(duration: float, fps: float) -> int:
    """Frames of a clip: one at 0 s and one per 1/fps up to the end."""
    return int(np.floor(duration * fps + 1e-6)) + 1


def _a2f_lower_face(info, duration: float, options: AnimateOptions,
                    progress: Progress) -> tuple[dict[str, np.ndarray], dict]:
    """Audio2Face-3D's lips, jaw and gaze at the clip's frame rate, and what ran it (for the clip's meta)."""
    from .audio.decode import stream_mono16k
    from .neural.engines import a2f_runner as load_runner
    from .neural.engines import arkit_channels, explicit_emotion

    progress.update("model", 0.0, "Audio2Face-3D")
    runner = load_runner(str(options.a2f_model), options.device, options.a2f_actor)
    audio = np.concatenate([*stream_mono16k(info), np.zeros(0, np.float32)])
    if runner.model.sample_rate != SAMPLE_RATE:
        import soxr

        audio = soxr.resample(audio, SAMPLE_RATE, runner.model.sample_rate).astype(np.float32)
    frames = runner.run(audio, options.fps, frame_count(duration, options.fps),
                        explicit_emotion(runner, options.emotion.strip().lower(), options.emotion_strength),
                        lambda done: progress.update("a2f", done), seed=options.seed)
    channels = arkit_channels(frames, options.mouth_gain * options.jaw_gain, options.mouth_gain * options.lip_gain)
    meta = {"model": str(runner.model.folder), "kind": runner.model.kind, "actor": runner.model.actor,
            "provider": frames.provider,
            "channels": sorted(channels)}
    return channels, meta


def synthesise(analysis: SpeechAnalysis, options: AnimateOptions, emotion=None,
               learned: dict[str, np.ndarray] | None = None) -> MotionClip:
    """Motion from an analysis (no audio access): mouth, head, eyes, brows, emotion, keys. ``learned``:
    channels a learned backend made at the clip's frame rate, which replace ours."""
    emotion = emotion or get_emotion(options.emotion)
    n = len(analysis.energy_db)
    rng = np.random.default_rng(options.seed)
    strength = options.emotion_strength
    loud = loudness01(analysis.energy_db, analysis.speech)
    articulation = options.mouth_gain * (1.0 + (emotion.jaw_scale - 1.0) * strength)
    dense = mouth_curves(analysis.phones, loud, n, MouthParams(jaw_gain=articulation * options.jaw_gain,
                                                              lip_gain=articulation * options.lip_gain),
                         jaw_targets(analysis.phones, analysis.f1_hz))
    st = head.semitone_contour(analysis.f0_hz, analysis.speech)
    accents = head.find_accents(st, loud, analysis.speech)
    head_gain = options.head_gain * (1.0 + (emotion.head_scale - 1.0) * strength)
    head_rng = np.random.default_rng(rng.integers(1 << 31))
    if options.head_style_model is not None:
        rot = {axis: values * head_gain for axis, values in
               head_codebook.generate(options.head_style_model, loud, analysis.speech, st, head_rng).items()}
    else:
        rot = head.head_motion(st, loud, analysis.speech, accents, head_rng, head_gain,
                               head.STYLES[options.head_style.strip().lower()])
    rot["pitch"] = rot["pitch"] + emotion.head_pitch_deg * strength * options.head_gain
    eye_rng = np.random.default_rng(rng.integers(1 << 31))
    blink = eyes.blink_curve(n, eyes.blink_times(analysis.speech, eye_rng))
    dense["eyeBlinkLeft"] = blink
    dense["eyeBlinkRight"] = np.r_[blink[:1], blink[:-1]] if n else blink  # right lid trails by 10 ms
    brow = eyes.brow_raise(n, accents)
    dense["browInnerUp"] = brow
    dense["browOuterUpLeft"] = brow * 0.8
    dense["browOuterUpRight"] = brow * 0.8
    dense.update(eyes.saccades(n, eye_rng, analysis.speech))
    for name, value in emotion.offsets.items():
        dense[name] = dense.get(name, np.zeros(n)) + value * strength
    # the eyelids must still close fully on a blink whatever the emotion does to squint/wide
    for side in ("Left", "Right"):
        if f"eyeWide{side}" in dense:
            dense[f"eyeWide{side}"] = dense[f"eyeWide{side}"] * (1.0 - dense[f"eyeBlink{side}"])

    times = np.arange(frame_count(analysis.duration, options.fps)) / options.fps
    src = np.arange(n) / ANALYSIS_FPS
    resample = (lambda a: np.interp(times, src, a).astype(np.float32)) if n else (
        lambda a: np.zeros(len(times), np.float32))
    channels = {name: np.clip(resample(dense[name]), 0.0, 1.0) if name in dense else
                np.zeros(len(times), np.float32) for name in ARKIT_NAMES}
    for name, values in (learned or {}).items():
        channels[name] = np.asarray(values, np.float32)[:len(times)]
    head_deg = {axis: resample(rot[axis]) for axis in HEAD_AXES}
    clip = MotionClip(fps=float(options.fps), duration=float(analysis.duration), channels=channels, head=head_deg)
    clip.keys = make_keys(clip)
    clip.phones = [(p.start, p.end, p.label) for p in analysis.phones]
    clip.visemes = merge_visemes(clip.phones)
    clip.words = list(analysis.words)
    clip.meta["options"] = {k: v for k, v in options.__dict__.items() if k not in ("transcript", "head_style_model")}
    if options.head_style_model is not None:  # the clip says whose head style it has
        clip.meta["options"]["head_style"] = f"from {options.head_style_model.source or 'a saved style'}"
    clip.meta["seed"] = options.seed
    clip.meta["key_tolerance"] = {"blendshape": BLENDSHAPE_TOLERANCE, "head_deg": HEAD_TOLERANCE_DEG}
    return clip


def make_keys(clip: MotionClip) -> dict[str, list[list[float]]]:
    """Sparse keys for every channel that moves (constant channels get none).

    Mirrored channels often carry the same curve (both smile corners, both gaze directions); it is reduced
    once and the keys shared. Channels of one tolerance are searched together (see ``sparse_many_keys``).
    """
    unique: dict[tuple[bytes, float], np.ndarray] = {}
    wanted: dict[str, tuple[bytes, float]] = {}
    for name, values in (*clip.channels.items(), *clip.head.items()):
        tol = HEAD_TOLERANCE_DEG if name in HEAD_AXES else BLENDSHAPE_TOLERANCE
        if len(values) == 0 or (np.ptp(values) < 1e-6 and abs(float(values[0])) < 1e-6):
            continue
        wanted[name] = seen = (np.ascontiguousarray(values).tobytes(), tol)
        unique.setdefault(seen, values)
    reduced: dict[tuple[bytes, float], list[list[float]]] = {}
    for tol in {tol for _, tol in unique}:
        group = [seen for seen in unique if seen[1] == tol]
        reduced |= zip(group, sparse_many_keys([unique[seen] for seen in group], clip.fps, tol), strict=True)
    return {name: [list(k) for k in reduced[seen]] for name, seen in wanted.items()}


def merge_visemes(phones: list[tuple[float, float, str]]) -> list[tuple[float, float, str]]:
    out: list[tuple[float, float, str]] = []
    for s, e, p in phones:
        v = viseme_of(p)
        if out and out[-1][2] == v and abs(out[-1][1] - s) < 1e-6:
            out[-1] = (out[-1][0], e, v)
        else:
            out.append((s, e, v))
    return out


def load_head_style(source: str | os.PathLike, progress: Progress | None = None) -> HeadStyleModel:
    """A head style saved by ``vividtalk head-style`` (.npz), or learned now from a video of a speaker."""
    if str(source).lower().endswith(".npz"):
        return HeadStyleModel.load(source)
    return head_style_from_video(source, progress)


def head_style_from_video(video: str | os.PathLike, progress: Progress | None = None) -> HeadStyleModel:
    """A head style learned from a video of a speaker: the head rotation tracked in its frames, keyed by the
    prosody of its soundtrack."""
    from .audio.analysis import speech_mask
    from .audio.decode import load_mono16k
    from .audio.prosody import energy_db, pitch_hz
    from .motion.head_tracking import track_head

    progress = progress or Progress()
    progress.update("track", 0.0, Path(video).name)
    track = track_head(video)
    progress.update("track", 1.0)
    audio, _ = load_mono16k(video)
    level = energy_db(audio)
    speech = speech_mask(level)
    if speech.sum() < 100:
        raise InputError(f"No speech found in the soundtrack of '{video}'; the reference video must have the "
                         "speaker's voice.")
    st = head.semitone_contour(pitch_hz(audio), speech)
    t = np.arange(len(level)) / ANALYSIS_FPS
    angles = np.stack([np.interp(t, np.arange(len(track.angles)) / track.fps, track.angles[:, k])
                       for k in range(3)], axis=1)
    if len(level) < head_codebook.RICH_SECONDS * ANALYSIS_FPS:
        progress.warn(f"'{video}' is {len(level) / ANALYSIS_FPS:.0f} s long; a head style learned from "
                      f"{head_codebook.RICH_SECONDS:.0f} s or more of footage has more ways to move.")
    return head_codebook.learn(angles, loudness01(level, speech), speech, st, source=str(video))
