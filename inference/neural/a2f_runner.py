"""Running an Audio2Face-3D regression network with onnxruntime (CUDA provider where present, else CPU), and
turning its output into ARKit weights, a jaw angle and eye rotations per frame.

The network is frame-random-access: one ``buffer_len`` window of 16 kHz audio (times the config's
``input_strength``), its output frame at ``buffer_ofs``, gives skin and tongue PCA coefficients, jaw anchor
deltas and eye rotations. Windows are batched. The SDK's skin post-processing (skin strength, eyelid and lip
offsets, separate smoothing and strength for the upper and lower face blended by a soft mask over the
neutral's height) and the blendshape solve are all linear in the PCA coefficients, so they are done in
coefficient space: the 61,520-vertex skin is never built per frame, and memory stays flat with length.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from .a2f_model import A2FModel
from .blendshape_solve import PreparedSolve, prepare, solve
from .devices import onnx_providers

BATCH = 32  # windows per network call: large enough to keep a GPU busy, small enough for flat memory
SACCADE_FPS = 30.0  # the SDK plays its saccade table at 30 frames/s whatever the output rate
ROW_BLOCK = 16384  # rows of the skin basis folded into the solve at a time (bounds the temporary memory)


@dataclass
class A2FFrames:
    """What the network gives per output frame, post-processed."""

    fps: float
    weights: dict[str, np.ndarray]  # the skin solve's poses by name (ARKit names for the released actors)
    jaw_open_deg: np.ndarray  # rotation of the jaw's anchor points about the x axis (opening positive)
    eyes_deg: np.ndarray | None  # (frames, 4): right x, right y, left x, left y, saccades and offsets included
    provider: str


class A2FRunner:
    """One model loaded on one device; ``run`` can be called for many recordings."""

    def __init__(self, model: A2FModel, device: str = "auto") -> None:
        ort = _onnxruntime()
        self.model = model
        providers = onnx_providers(device, ort.get_available_providers())
        options = ort.SessionOptions()
        options.intra_op_num_threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 0
        options.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(model.network_path), options, providers=providers)
        except Exception as e:  # onnxruntime raises its own exception types for a damaged or foreign file
            raise InputError(f"'{model.network_path}' could not be loaded by onnxruntime: {str(e)[:300]}. The "
                             "download is damaged, or the file is not an Audio2Face-3D network.") from e
        self.provider = self.session.get_providers()[0]
        _check_tensors(self.session, model)
        # the inputs' element type as the network declares it (a half-precision export takes float16)
        self._dtypes = {i.name: np.float16 if i.type == "tensor(float16)" else np.float32
                        for i in self.session.get_inputs()}
        self.solve = prepare(model.skin_blendshapes)
        self._fold = _fold_skin(model, self.solve)

    def run(self, audio: np.ndarray, fps: float, n_frames: int, emotion: np.ndarray | None = None,
            progress=None) -> A2FFrames:
        """``n_frames`` output frames at ``fps`` from mono audio at the model's sample rate."""
        m = self.model
        explicit = m.default_emotion if emotion is None else np.asarray(emotion, np.float32)
        emotion_row = np.concatenate([m.implicit_emotion, explicit]).astype(np.float32)
        padded = np.concatenate([np.zeros(m.buffer_len, np.float32), np.asarray(audio, np.float32),
                                 np.zeros(m.buffer_len, np.float32)]) * np.float32(m.animator["input_strength"])
        centres = np.rint(np.arange(n_frames) / fps * m.sample_rate).astype(np.int64)
        starts = centres - m.buffer_offset + m.buffer_len
        offsets = np.arange(m.buffer_len)
        result = np.empty((n_frames, m.result_size), np.float32)
        for lo in range(0, n_frames, BATCH):
            hi = min(n_frames, lo + BATCH)
            windows = padded[starts[lo:hi, None] + offsets][:, None, :]
            emotions = np.broadcast_to(emotion_row, (hi - lo, 1, len(emotion_row))).copy()
            out = self.session.run(["result"], {"input": windows.astype(self._dtypes["input"], copy=False),
                                                "emotion": emotions.astype(self._dtypes["emotion"], copy=False)})[0]
            result[lo:hi] = np.asarray(out, np.float32).reshape(hi - lo, -1)
            if progress is not None:
                progress(hi / max(1, n_frames))
        if not np.isfinite(result).all():
            raise InputError(f"The network '{m.network_path}' gave values that are not finite numbers.")
        skin = result[:, :m.n_skin]
        jaw = result[:, m.n_skin + m.n_tongue:m.n_skin + m.n_tongue + m.jaw_size]
        eyes = result[:, m.n_skin + m.n_tongue + m.jaw_size:]
        weights = solve(self.solve, self._fold.project(skin, fps, m.animator))
        return A2FFrames(fps=fps, weights={name: weights[:, i].astype(np.float32)
                                           for i, name in enumerate(self.solve.pose_names)},
                         jaw_open_deg=jaw_open_deg(m, jaw), eyes_deg=_eyes(m, eyes, fps) if m.eyes_size else None,
                         provider=self.provider)


@dataclass(frozen=True)
class _SkinFold:
    """The skin post-processing folded into the solve: Dᵀ(pose - neutral) = constant + cu·upper + cl·lower,
    where cu and cl are the PCA coefficients smoothed with the upper and lower face's time constants."""

    constant: np.ndarray  # (active,)
    upper: np.ndarray  # (n_skin, active): basis x (1 - lower-face mask) x D
    lower: np.ndarray  # (n_skin, active): basis x lower-face mask x D

    def project(self, coefficients: np.ndarray, fps: float, a: dict[str, float]) -> np.ndarray:
        scaled = coefficients.astype(np.float64) * a["skin_strength"]
        cu = smooth(scaled, a["upper_face_smoothing"], 1.0 / fps) * a["upper_face_strength"]
        cl = smooth(scaled, a["lower_face_smoothing"], 1.0 / fps) * a["lower_face_strength"]
        return self.constant + cu @ self.upper + cl @ self.lower


def _fold_skin(m: A2FModel, prep: PreparedSolve) -> _SkinFold:
    a = m.animator
    lower = lower_face_mask(m.skin_mean, a["face_mask_level"], a["face_mask_softness"])
    per_row = np.repeat(lower, 3)
    rows = np.arange(m.skin_mean.size) if prep.rows is None else prep.rows
    offset = (-a["eyelid_open_offset"] * m.eye_close_delta + a["lip_open_offset"] * m.lip_open_delta)
    blend = (1.0 - per_row) * a["upper_face_strength"] + per_row * a["lower_face_strength"]
    pose_rest = m.skin_mean.astype(np.float64) + blend * offset
    constant = (pose_rest[rows] - prep.neutral) @ prep.deltas
    upper = np.zeros((m.n_skin, len(prep.active)))
    low = np.zeros_like(upper)
    for lo in range(0, len(rows), ROW_BLOCK):
        r = rows[lo:lo + ROW_BLOCK]
        basis = m.skin_matrix[:, r].astype(np.float64)
        d = prep.deltas[lo:lo + ROW_BLOCK]
        upper += (basis * (1.0 - per_row[r])) @ d
        low += (basis * per_row[r]) @ d
    return _SkinFold(constant, upper, low)


def lower_face_mask(neutral: np.ndarray, level: float, softness: float) -> np.ndarray:
    """Per vertex, how much it belongs to the lower face: a sigmoid over its height in the neutral."""
    y = neutral.reshape(-1, 3)[:, 1].astype(np.float64)
    span = float(y.max() - y.min())
    if span <= 0:
        raise InputError("The model's neutral skin is flat in height; its face mask cannot be computed.")
    return 1.0 / (1.0 + np.exp(-(level - (y - y.min()) / span) / softness))


def smooth(values: np.ndarray, half_life_s: float, dt: float) -> np.ndarray:
    """The SDK's smoothing: two cascaded exponential followers (half-life ``half_life_s``), started at the
    first frame; none when the half-life is 0."""
    if half_life_s <= 0 or len(values) == 0:
        return values
    alpha = 1.0 - 0.5 ** (dt / half_life_s)
    first = values[0].copy()
    second = values[0].copy()
    out = np.empty_like(values)
    for t, raw in enumerate(values):  # a few hundred coefficients per frame: the loop is cheap
        first += (raw - first) * alpha
        second += (first - second) * alpha
        out[t] = second
    return out


def jaw_open_deg(m: A2FModel, jaw: np.ndarray) -> np.ndarray:
    """The jaw's rotation about x per frame: its anchor points (deltas x strength, plus the height and depth
    offsets, plus the neutral) fitted by a rigid transform from the neutral (Kabsch)."""
    if m.jaw_size == 0 or len(jaw) == 0:
        return np.zeros(len(jaw), np.float32)
    a = m.animator
    points = jaw.reshape(len(jaw), -1, 3).astype(np.float64) * a["lower_teeth_strength"]
    points += np.array([0.0, a["lower_teeth_height_offset"], a["lower_teeth_depth_offset"]]) + m.neutral_jaw
    ref = m.neutral_jaw.astype(np.float64)
    ref_c = ref - ref.mean(axis=0)
    moved = points - points.mean(axis=1, keepdims=True)
    h = np.einsum("pi,fpj->fij", ref_c, moved)
    u, _, vt = np.linalg.svd(h)
    v, ut = np.swapaxes(vt, 1, 2), np.swapaxes(u, 1, 2)
    v[:, :, -1] *= np.sign(np.linalg.det(v @ ut))[:, None]  # a rotation, never a reflection
    r = v @ ut  # takes the neutral's centred points to the posed ones
    return np.degrees(np.arctan2(r[:, 2, 1], r[:, 1, 1])).astype(np.float32)


def _eyes(m: A2FModel, eyes: np.ndarray, fps: float) -> np.ndarray:
    a = m.animator
    out = eyes.astype(np.float64) * a["eyeballs_strength"]
    out += [a["right_eye_rot_x_offset"], a["right_eye_rot_y_offset"], a["left_eye_rot_x_offset"],
            a["left_eye_rot_y_offset"]]
    if len(m.saccades):
        index = np.floor(np.mod(a["eye_saccade_seed"] + np.arange(len(eyes)) / fps * SACCADE_FPS,
                                len(m.saccades))).astype(np.int64)
        out += a["saccade_strength"] * np.tile(m.saccades[index], (1, 2))
    return out.astype(np.float32)


def _check_tensors(session, m: A2FModel) -> None:
    """The network's inputs and output must be the ones network_info.json describes."""
    inputs = {i.name: i.shape for i in session.get_inputs()}
    outputs = {o.name: o.shape for o in session.get_outputs()}
    expect = {"input": m.buffer_len, "emotion": m.emotion_size}
    for name, last in expect.items():
        if name not in inputs:
            raise InputError(f"'{m.network_path}' has no input '{name}' (it has {', '.join(inputs)}): not an "
                             "Audio2Face-3D regression network.")
        dims = inputs[name]
        if len(dims) == 3 and isinstance(dims[1], int) and dims[1] != 1:
            raise InputError(f"'{m.network_path}': input '{name}' has shape {dims}; the released regression "
                             "networks take one window per batch item ([batch, 1, n]).")
        if len(dims) != 3 or (isinstance(dims[-1], int) and dims[-1] != last):
            raise InputError(f"'{m.network_path}': input '{name}' has shape {dims}; network_info.json implies "
                             f"[batch, 1, {last}]. The network and its files come from different models.")
    if "result" not in outputs:
        raise InputError(f"'{m.network_path}' has no output 'result' (it has {', '.join(outputs)}).")
    dims = outputs["result"]
    if isinstance(dims[-1], int) and dims[-1] != m.result_size:
        raise InputError(f"'{m.network_path}': output 'result' has {dims[-1]} values per frame; network_info.json "
                         f"says {m.result_size} (skin {m.n_skin} + tongue {m.n_tongue} + jaw {m.jaw_size} + eyes "
                         f"{m.eyes_size}).")


def _onnxruntime():
    try:
        import onnxruntime
    except ImportError as e:
        raise InputError("The Audio2Face-3D engine needs onnxruntime: pip install -e '.[neural]' (or "
                         "onnxruntime-gpu for NVIDIA GPUs).") from e
    return onnxruntime
