"""Running an Audio2Face-3D network with onnxruntime (CUDA provider where present, else CPU), and turning its
output into ARKit weights, a jaw angle and eye rotations per frame.

A regression network (v2.3) is frame-random-access: one ``buffer_len`` window of 16 kHz audio (times the
config's ``input_strength``), its output frame at ``buffer_ofs``, gives skin and tongue PCA coefficients, jaw
anchor deltas and eye rotations; windows are batched. A diffusion network (v3.0) runs its windows in order,
carrying its state, and gives vertex deltas at its own frame rate. The SDK's skin post-processing (skin
strength, eyelid and lip offsets, separate smoothing and strength for the upper and lower face blended by a
soft mask over the neutral's height) and the blendshape solve are linear in the network's skin values, so each
frame is projected onto the solve's few dimensions first (``_SkinFold``): the skin is never built per frame,
and memory stays flat with length.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from ..cores import usable_cores
from ..errors import InputError
from ..geometry.rigid import kabsch
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
        options.intra_op_num_threads = usable_cores()  # a batch worker's one core, else all this process may use
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
            progress=None, seed: int = 0) -> A2FFrames:
        """``n_frames`` output frames at ``fps`` from mono audio at the model's sample rate. ``seed``: a v3.0
        model's diffusion noise (the same seed gives the same motion)."""
        m = self.model
        explicit = m.default_emotion if emotion is None else np.asarray(emotion, np.float32)
        audio = np.asarray(audio, np.float32) * np.float32(m.animator["input_strength"])
        if m.kind == "regression":
            native_fps, times = fps, None
            upper, lower, jaw, eyes = self._regression(audio, fps, n_frames, explicit, progress)
        else:
            native_fps, times, (upper, lower, jaw, eyes) = self._diffusion(audio, fps, n_frames, explicit,
                                                                          progress, seed)
        with threadpool_limits(limits=1, user_api="blas"):  # thousands of 52 x 52 solves: threads only cost
            weights = solve(self.solve, self._fold.finish(upper, lower, native_fps, m.animator))
        jaw_deg = jaw_open_deg(m, jaw)
        eyes_deg = _eyes(m, eyes, native_fps) if m.eyes_size else None
        if times is not None:  # a v3.0 network's own frame rate -> the clip's
            wanted = np.arange(n_frames) / fps
            weights = np.stack([np.interp(wanted, times, w) for w in weights.T], axis=1)
            jaw_deg = np.interp(wanted, times, jaw_deg)
            if eyes_deg is not None:
                eyes_deg = np.stack([np.interp(wanted, times, e) for e in eyes_deg.T], axis=1)
        return A2FFrames(fps=fps, weights={name: weights[:, i].astype(np.float32)
                                           for i, name in enumerate(self.solve.pose_names)},
                         jaw_open_deg=jaw_deg.astype(np.float32),
                         eyes_deg=None if eyes_deg is None else eyes_deg.astype(np.float32), provider=self.provider)

    def _regression(self, audio: np.ndarray, fps: float, n_frames: int, explicit: np.ndarray, progress):
        """One window per output frame, batched: the skin's two projections, the jaw and the eyes per frame."""
        m = self.model
        emotion_row = np.concatenate([m.implicit_emotion, explicit]).astype(np.float32)
        padded = np.concatenate([np.zeros(m.buffer_len, np.float32), audio, np.zeros(m.buffer_len, np.float32)])
        centres = np.rint(np.arange(n_frames) / fps * m.sample_rate).astype(np.int64)
        starts = centres - m.buffer_offset + m.buffer_len
        offsets = np.arange(m.buffer_len)
        parts = _Parts(m, n_frames)
        for lo in range(0, n_frames, BATCH):
            hi = min(n_frames, lo + BATCH)
            windows = padded[starts[lo:hi, None] + offsets][:, None, :]
            emotions = np.broadcast_to(emotion_row, (hi - lo, 1, len(emotion_row)))
            out = self.session.run(["result"], {"input": windows.astype(self._dtypes["input"]),
                                                "emotion": emotions.astype(self._dtypes["emotion"])})[0]
            parts.take(lo, np.asarray(out, np.float32).reshape(hi - lo, -1), self._fold)
            if progress is not None:
                progress(hi / max(1, n_frames))
        return parts.upper, parts.lower, parts.jaw, parts.eyes

    def _diffusion(self, audio: np.ndarray, fps: float, n_frames: int, explicit: np.ndarray, progress,
                   seed: int):
        """v3.0: windows in order, the GRU state carried from each to the next, the center frames kept; noise
        drawn once from ``seed`` (the SDK's constant-noise mode)."""
        m, d = self.model, self.model.diffusion
        assert d is not None
        native_fps = d.frames * m.sample_rate / m.buffer_len
        stride = m.buffer_len * d.center / d.frames  # samples between windows: the kept frames' span
        first = (d.left * m.buffer_len / d.frames - d.padding_left) / m.sample_rate  # time of the first kept frame
        needed = int(np.ceil(((n_frames - 1) / fps - first) * native_fps)) + 1
        windows = max(1, -(-needed // d.center))
        padded = np.concatenate([np.zeros(d.padding_left, np.float32), audio,
                                 np.zeros(int(windows * stride) + m.buffer_len, np.float32)])
        identity = np.zeros((1, len(m.identities)), np.float32)
        identity[0, m.identities.index(m.actor)] = 1.0
        emotions = np.broadcast_to(explicit.astype(np.float32), (1, d.center, len(explicit)))
        state = np.zeros((d.steps, d.gru_layers, 1, d.gru_size), np.float32)
        noise = np.random.default_rng(seed).standard_normal((1, d.steps + 1, d.frames, m.result_size),
                                                            dtype=np.float32)
        dtype = self._dtypes
        parts = _Parts(m, windows * d.center)
        for k in range(windows):
            start = round(k * stride)
            feeds = {"window": padded[None, start:start + m.buffer_len], "identity": identity, "emotion": emotions,
                     "input_latents": state, "noise": noise}
            feeds = {k: v.astype(dtype[k], copy=False) for k, v in feeds.items()}  # no copy unless half precision
            prediction, state = self.session.run(["prediction", "output_latents"], feeds)
            kept = np.asarray(prediction, np.float32)[0, d.left:d.left + d.center]
            parts.take(k * d.center, kept, self._fold)
            state = np.asarray(state, np.float32)
            if progress is not None:
                progress((k + 1) / windows)
        times = first + np.arange(windows * d.center) / native_fps
        return native_fps, times, (parts.upper, parts.lower, parts.jaw, parts.eyes)


class _Parts:
    """What is kept of the network's output per frame: the skin's two projections (not the skin itself),
    the jaw and the eyes."""

    def __init__(self, m: A2FModel, frames: int) -> None:
        self.m = m
        self.upper: np.ndarray | None = None  # the skin's PCA coefficients, sized by the first rows taken
        self.lower: np.ndarray | None = None
        self.jaw = np.zeros((frames, m.jaw_size), np.float32)
        self.eyes = np.zeros((frames, m.eyes_size), np.float32)
        self._frames = frames

    def take(self, at: int, rows: np.ndarray, fold: _SkinFold) -> None:
        m = self.m
        if not np.isfinite(rows).all():
            raise InputError(f"The network '{m.network_path}' gave values that are not finite numbers.")
        upper, lower = fold.project(rows[:, :m.n_skin])
        if self.upper is None or self.lower is None:
            self.upper = np.zeros((self._frames, upper.shape[1]))
            self.lower = np.zeros_like(self.upper)
        self.upper[at:at + len(rows)], self.lower[at:at + len(rows)] = upper, lower
        tail = rows[:, m.n_skin + m.n_tongue:]
        self.jaw[at:at + len(rows)] = tail[:, :m.jaw_size]
        self.eyes[at:at + len(rows)] = tail[:, m.jaw_size:m.jaw_size + m.eyes_size]


@dataclass(frozen=True)
class _SkinFold:
    """The SDK's skin post-processing folded into the solve. Per frame the skin is
    neutral + rest offsets + s·(upper strength·(1 - mask)·smooth_upper(x) + lower strength·mask·smooth_lower(x))
    for the network's skin values x (through the PCA basis where there is one), and the solve needs only
    Dᵀ(skin - solve neutral). Smoothing is linear and per value, so it commutes with the projection: each frame
    is projected first (two small vectors) and the projections are smoothed."""

    constant: np.ndarray  # (active,)
    upper: np.ndarray  # (network skin values, active): basis x (1 - mask) x D
    lower: np.ndarray  # (network skin values, active): basis x mask x D

    def project(self, skin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = skin.astype(np.float64)
        return x @ self.upper, x @ self.lower

    def finish(self, upper: np.ndarray, lower: np.ndarray, fps: float, a: dict[str, float]) -> np.ndarray:
        """Dᵀ(skin - neutral) per frame from the frames' projections."""
        s = a["skin_strength"]
        return (self.constant + s * a["upper_face_strength"] * smooth(upper, a["upper_face_smoothing"], 1.0 / fps)
                + s * a["lower_face_strength"] * smooth(lower, a["lower_face_smoothing"], 1.0 / fps))


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
    if m.skin_matrix is None:  # the network gives vertex deltas: its values are the rows themselves
        upper[rows] = (1.0 - per_row[rows])[:, None] * prep.deltas
        low[rows] = per_row[rows][:, None] * prep.deltas
        return _SkinFold(constant, upper, low)
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
    r = np.stack([kabsch(ref, posed)[0] for posed in points])  # each frame's rotation from the neutral
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
    """The network's inputs and outputs must be the ones network_info.json describes (SDK model_regression.cpp,
    model_diffusion.cpp): names, ranks and every fixed size."""
    inputs = {i.name: i.shape for i in session.get_inputs()}
    outputs = {o.name: o.shape for o in session.get_outputs()}
    if m.kind == "regression":
        expect_in = {"input": [None, 1, m.buffer_len], "emotion": [None, 1, m.emotion_size]}
        expect_out = {"result": [None, 1, m.result_size]}
    else:
        d = m.diffusion
        assert d is not None
        expect_in = {"window": [None, m.buffer_len], "identity": [None, len(m.identities)],
                     "emotion": [None, d.center, len(m.emotion_names)],
                     "input_latents": [d.steps, d.gru_layers, None, d.gru_size],
                     "noise": [None, d.steps + 1, d.frames, m.result_size]}
        expect_out = {"prediction": [None, d.frames, m.result_size],
                      "output_latents": [d.steps, d.gru_layers, None, d.gru_size]}
    for side, found, expected in (("input", inputs, expect_in), ("output", outputs, expect_out)):
        for name, dims in expected.items():
            if name not in found:
                raise InputError(f"'{m.network_path}' has no {side} '{name}' (it has {', '.join(found)}): not an "
                                 f"Audio2Face-3D {m.kind} network.")
            shape = found[name]
            fixed_ok = len(shape) == len(dims) and all(
                want is None or not isinstance(have, int) or have == want for have, want in zip(shape, dims,
                                                                                                 strict=True))
            if not fixed_ok:
                shown = ["batch" if want is None else want for want in dims]
                raise InputError(f"'{m.network_path}': {side} '{name}' has shape {shape}; network_info.json implies "
                                 f"{shown}. The network and its files come from different models.")


def _onnxruntime():
    try:
        import onnxruntime
    except ImportError as e:
        raise InputError("The Audio2Face-3D engine needs onnxruntime: pip install -e '.[neural]' (or "
                         "onnxruntime-gpu for NVIDIA GPUs).") from e
    return onnxruntime
