"""Make an Audio2Face-3D model folder (v2.3 regression, or v3.0 diffusion with --kind diffusion) with made-up
weights, for tests and benchmarks.

The folder has the release's exact file set, JSON keys, array keys, dtypes, tensor names and shapes
(SDK parse_helper.cpp and its tests; Training Framework deploy.py and emotion.py): model.json (naming
network.trt, as released), network_info.json, network.onnx (opset 14, dynamic batch), trt_info.json,
model_config.json, model_data.npz, implicit_emo_db.npz, bs_skin.npz + bs_skin_config.json (the 52 ARKit
poses in A2F's order, names as bytes), bs_tongue.npz + bs_tongue_config.json, a2f_ms_config.json.

``--size tiny`` (default) makes a small mesh; ``--size real`` Mark's sizes (61,520 skin vertices x 272 PCA
modes, 5,602 tongue vertices x 10), for speed measurements. The network is small but not arbitrary: the first
skin mode follows the loudness of the window's middle, and that mode is the jawOpen pose, so a louder voice
opens the jaw; the rest are random. Needs numpy and onnx:

    python tools/make_tiny_a2f.py OUT_DIR [--size tiny|real] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

# the 52 ARKit poses in the order A2F's bs_skin.npz lists them (jawLeft before jawRight, mouthLeft before
# mouthRight), which is not Live Link Face's order: readers must map by name
A2F_SKIN_POSES = (
    "eyeBlinkLeft eyeLookDownLeft eyeLookInLeft eyeLookOutLeft eyeLookUpLeft eyeSquintLeft eyeWideLeft "
    "eyeBlinkRight eyeLookDownRight eyeLookInRight eyeLookOutRight eyeLookUpRight eyeSquintRight eyeWideRight "
    "jawForward jawLeft jawRight jawOpen mouthClose mouthFunnel mouthPucker mouthLeft mouthRight mouthSmileLeft "
    "mouthSmileRight mouthFrownLeft mouthFrownRight mouthDimpleLeft mouthDimpleRight mouthStretchLeft "
    "mouthStretchRight mouthRollLower mouthRollUpper mouthShrugLower mouthShrugUpper mouthPressLeft "
    "mouthPressRight mouthLowerDownLeft mouthLowerDownRight mouthUpperUpLeft mouthUpperUpRight browDownLeft "
    "browDownRight browInnerUp browOuterUpLeft browOuterUpRight cheekPuff cheekSquintLeft cheekSquintRight "
    "noseSneerLeft noseSneerRight tongueOut").split()
TONGUE_POSES = [f"tongue{n}" for n in ("Up", "Down", "Left", "Right", "Forward", "Back", "Curl", "Roll", "Wide",
                                        "Narrow", "TipUp", "TipDown", "Flat", "Bunch", "Twist", "Out")]
EMOTIONS = ["amazement", "anger", "cheekiness", "disgust", "fear", "grief", "joy", "outofbreath", "pain",
            "sadness"]
SIZES = {"tiny": {"skin_verts": 400, "skin_modes": 12, "tongue_verts": 60, "tongue_modes": 4},
         "real": {"skin_verts": 61520, "skin_modes": 272, "tongue_verts": 5602, "tongue_modes": 10}}
BUFFER_LEN, BUFFER_OFS, IMPLICIT, JAW_POINTS, EYES = 8320, 4160, 16, 5, 4
SEGMENTS = 16  # the network's features: mean |amplitude| over 16 slices of the window (520 samples each)


def make(out: Path, size: str = "tiny", seed: int = 0, kind: str = "regression") -> Path:
    """A regression (v2.3) or diffusion (v3.0) model folder in ``out``."""
    if kind == "diffusion":
        return make_diffusion(out, size, seed)
    rng = np.random.default_rng(seed)
    s = SIZES[size]
    v, t = s["skin_verts"], s["tongue_verts"]
    neutral, poses, tongue_neutral = _meshes(out, rng, v, t)
    skin_basis = _basis(rng, poses, s["skin_modes"])
    tongue_basis = (rng.standard_normal((s["tongue_modes"], 3 * t)) * 0.05).astype(np.float32)
    _write_json(out / "model.json", {
        "networkInfoPath": "network_info.json", "networkPath": "network.trt",
        "emotionDatabasePath": "implicit_emo_db.npz", "modelConfigPath": "model_config.json",
        "modelDataPath": "model_data.npz",
        "blendshapePaths": {"skin": {"config": "bs_skin_config.json", "data": "bs_skin.npz"},
                            "tongue": {"config": "bs_tongue_config.json", "data": "bs_tongue.npz"}}})
    _write_json(out / "network_info.json", {
        "id": {"type": "regression", "output": "geometry", "actor": "mark", "version": "2.3"},
        "params": {"explicit_emotions": EMOTIONS, "default_emotion": [0.0] * len(EMOTIONS),
                   "implicit_emotion_len": IMPLICIT, "num_shapes_skin": s["skin_modes"],
                   "num_shapes_tongue": s["tongue_modes"], "num_verts_skin": v, "num_verts_tongue": t,
                   "result_jaw_size": 3 * JAW_POINTS, "result_eyes_size": EYES},
        "audio_params": {"buffer_len": BUFFER_LEN, "buffer_ofs": BUFFER_OFS, "samplerate": 16000}})
    _write_json(out / "trt_info.json", {"batch_size": 1, "precision": "fp16"})
    _write_json(out / "a2f_ms_config.json", {"streamNumber": 1, "face_params": "model_config.json"})
    _write_json(out / "model_config.json", {"config": _animator_config() | {
        "source_shot": "cp1_neutral", "source_frame": 10}})
    np.savez(out / "model_data.npz",  # plain np.savez, as the SDK's files are
             shapes_matrix_skin=skin_basis.reshape(s["skin_modes"], v, 3),
             shapes_mean_skin=neutral.astype(np.float32),
             lip_open_pose_delta=poses["jawOpen"] * 0.3, eye_close_pose_delta=poses["eyeBlinkLeft"] * 0.5,
             shapes_matrix_tongue=tongue_basis.reshape(s["tongue_modes"], t, 3),
             shapes_mean_tongue=tongue_neutral.astype(np.float32), neutral_jaw=JAW.copy(),
             saccade_rot_matrix=(rng.standard_normal((5000, 2)) * 1.5).astype(np.float32))
    shots = {"cp1_neutral": (0, 40), "cp2_joy": (40, 25)}
    np.savez(out / "implicit_emo_db.npz", emo_db=rng.standard_normal((65, IMPLICIT)).astype(np.float32),
             emo_spec_names=np.array(list(shots), dtype="S"),
             emo_spec_start=np.array([a for a, _ in shots.values()], np.int32),
             emo_spec_size=np.array([b for _, b in shots.values()], np.int32))
    _write_blendshapes(out, "skin", neutral, poses, A2F_SKIN_POSES, mask=np.arange(0, v, 2))
    tongue_poses = {n: (rng.standard_normal(3 * t) * 0.05).astype(np.float32) for n in TONGUE_POSES}
    _write_blendshapes(out, "tongue", tongue_neutral, tongue_poses, TONGUE_POSES, mask=None)
    _write_network(out / "network.onnx", rng, s["skin_modes"] + s["tongue_modes"] + 3 * JAW_POINTS + EYES)
    return out


DIFFUSION_SIZES = {"tiny": {"skin_verts": 300, "tongue_verts": 40, "gru": 8},
                   "real": {"skin_verts": 24002, "tongue_verts": 5602, "gru": 256}}
IDENTITIES = ["claire", "james", "mark"]
STEPS, GRU_LAYERS, LEFT, CENTER, RIGHT, WINDOW, PADDING = 2, 2, 15, 30, 15, 16000, 4000
JAW = np.array([[-4, -9, 5], [4, -9, 5], [0, -10, 7], [-3, -8, 2], [3, -8, 2]], np.float32)


def make_diffusion(out: Path, size: str = "tiny", seed: int = 0) -> Path:
    """A v3.0 (diffusion) folder: one config, data and blendshape set per identity (Training Framework
    deploy.py), network inputs window/identity/emotion/input_latents/noise and outputs prediction/output_latents
    (SDK model_diffusion.cpp)."""
    rng = np.random.default_rng(seed)
    s = DIFFUSION_SIZES[size]
    v, t = s["skin_verts"], s["tongue_verts"]
    neutral, poses, tongue_neutral = _meshes(out, rng, v, t)
    _write_json(out / "model.json", {
        "networkInfoPath": "network_info.json", "networkPath": "network.trt",
        "modelConfigPaths": [f"model_config_{a}.json" for a in IDENTITIES],
        "modelDataPaths": [f"model_data_{a}.npz" for a in IDENTITIES],
        "blendshapePaths": [{"skin": {"config": f"bs_skin_config_{a}.json", "data": f"bs_skin_{a}.npz"},
                             "tongue": {"config": f"bs_tongue_config_{a}.json", "data": f"bs_tongue_{a}.npz"}}
                            for a in IDENTITIES]})
    _write_json(out / "network_info.json", {
        "id": {"type": "diffusion", "output": "geometry", "version": "3.0"},
        "params": {"emotions": EMOTIONS, "default_emotion": [0.0] * len(EMOTIONS), "identities": IDENTITIES,
                   "skin_size": 3 * v, "tongue_size": 3 * t, "jaw_size": 3 * JAW_POINTS, "eyes_size": EYES,
                   "num_diffusion_steps": STEPS, "num_gru_layers": GRU_LAYERS, "gru_latent_dim": s["gru"],
                   "num_frames_left_truncate": LEFT, "num_frames_right_truncate": RIGHT,
                   "num_frames_center": CENTER},
        "audio_params": {"buffer_len": WINDOW, "padding_left": PADDING, "padding_right": PADDING,
                         "samplerate": 16000}})
    tongue_poses = {n: (rng.standard_normal(3 * t) * 0.05).astype(np.float32) for n in TONGUE_POSES}
    for actor in IDENTITIES:
        _write_json(out / f"model_config_{actor}.json", {"config": _animator_config()})
        np.savez(out / f"model_data_{actor}.npz", neutral_skin=neutral.astype(np.float32),
                 lip_open_pose_delta=poses["jawOpen"] * 0.3, eye_close_pose_delta=poses["eyeBlinkLeft"] * 0.5,
                 neutral_tongue=tongue_neutral.astype(np.float32), neutral_jaw=JAW.copy(),
                 saccade_rot_matrix=(rng.standard_normal((5000, 2)) * 1.5).astype(np.float32))
        _write_blendshapes(out, "skin", neutral, poses, A2F_SKIN_POSES, mask=np.arange(0, v, 2), tag=f"_{actor}")
        _write_blendshapes(out, "tongue", tongue_neutral, tongue_poses, TONGUE_POSES, mask=None, tag=f"_{actor}")
    size_out = 3 * v + 3 * t + 3 * JAW_POINTS + EYES
    gate = np.zeros(size_out, np.float32)
    gate[:3 * v] = poses["jawOpen"]  # loudness opens the jaw, as in the regression stand-in
    gate[3 * v + 3 * t:3 * v + 3 * t + 3 * JAW_POINTS] = np.tile([0.0, -0.6, 0.3], JAW_POINTS)
    _write_diffusion_network(out / "network.onnx", rng, gate, s["gru"])
    return out


def _meshes(out: Path, rng, skin_verts: int, tongue_verts: int):
    """The folder made; a skin neutral, its ARKit pose deltas, a tongue neutral."""
    out.mkdir(parents=True, exist_ok=True)
    neutral = _face_points(rng, skin_verts)
    poses = _pose_deltas(rng, neutral)
    tongue_neutral = (_face_points(rng, tongue_verts).reshape(-1, 3) * 0.2 + [0.0, -3.0, 2.0]).reshape(-1)
    return neutral, poses, tongue_neutral


def _animator_config() -> dict:
    """model_config.json's animator settings: the values the SDK's tests read from Mark's file."""
    return {
        "input_strength": 1.3, "upper_face_smoothing": 0.001, "lower_face_smoothing": 0.0023,
        "upper_face_strength": 1.0, "lower_face_strength": 1.4, "face_mask_level": 0.6,
        "face_mask_softness": 0.0085, "skin_strength": 1.1, "blink_strength": 1.0, "lower_teeth_strength": 1.3,
        "lower_teeth_height_offset": -0.1, "lower_teeth_depth_offset": 0.0, "lip_open_offset": -0.03,
        "tongue_strength": 1.5, "tongue_height_offset": 0.2, "tongue_depth_offset": 0.13,
        "eyeballs_strength": 1.0, "saccade_strength": 0.9, "right_eye_rot_x_offset": 0.0,
        "right_eye_rot_y_offset": -2.0, "left_eye_rot_x_offset": 0.0, "left_eye_rot_y_offset": 2.0,
        "eyelid_open_offset": 0.06, "eye_saccade_seed": 0}


def _face_points(rng, n: int) -> np.ndarray:
    """A face-sized cloud (cm, y up, facing +z) flattened x,y,z."""
    pts = np.column_stack([rng.uniform(-8, 8, n), rng.uniform(-12, 12, n), rng.uniform(0, 4, n)])
    return pts.reshape(-1).astype(np.float32)


def _pose_deltas(rng, neutral: np.ndarray) -> dict[str, np.ndarray]:
    """One smooth delta per ARKit pose: upper-face poses move the upper half, the rest the lower."""
    y = neutral.reshape(-1, 3)[:, 1]
    out = {}
    for name in A2F_SKIN_POSES:
        upper = name.startswith(("eye", "brow"))
        weight = np.clip((y / 12.0) if upper else (-y / 12.0), 0, 1)[:, None]
        direction = rng.standard_normal(3)
        wobble = 1.0 + 0.3 * rng.standard_normal((len(y), 1))
        out[name] = (weight * wobble * direction * 0.6).reshape(-1).astype(np.float32)
    return out


def _basis(rng, poses: dict[str, np.ndarray], modes: int) -> np.ndarray:
    """PCA-like skin modes: jawOpen first (what the network's loudness output drives), then other poses."""
    order = ["jawOpen", "mouthFunnel", "mouthSmileLeft", "mouthSmileRight", "mouthClose", "mouthPucker"]
    rest = [n for n in A2F_SKIN_POSES if n not in order]
    names = (order + list(rng.permutation(rest)))[:modes]
    basis = np.stack([poses[n] for n in names])
    if modes > len(names):
        basis = np.vstack([basis, rng.standard_normal((modes - len(names), basis.shape[1])) * 0.05])
    return basis.astype(np.float32)


def _write_blendshapes(out: Path, part: str, neutral, poses, names, mask, tag: str = "") -> None:
    arrays = {"poseNames": np.array(["neutral", *names], dtype="S"), "neutral": neutral.astype(np.float32)}
    arrays |= {n: poses[n].astype(np.float32) for n in names}
    if mask is not None:
        arrays["frontalMask"] = mask.astype(np.int32)
    np.savez(out / f"bs_{part}{tag}.npz", **arrays)
    n = len(names)
    symmetric, cancel = [-1] * n, [-1] * n
    for i, a in enumerate(names):
        if a.endswith("Left") and a.replace("Left", "Right") in names:
            symmetric[i] = symmetric[names.index(a.replace("Left", "Right"))] = i
    for k, (a, b) in enumerate([("mouthLeft", "mouthRight"), ("jawLeft", "jawRight"),
                                ("mouthSmileLeft", "mouthFrownLeft")]):
        if a in names and b in names:
            cancel[names.index(a)] = cancel[names.index(b)] = k
    active = [0 if part == "skin" and n.startswith(("eyeLook", "tongue")) else 1 for n in names]
    _write_json(out / f"bs_{part}_config{tag}.json", {"blendshape_params": {
        "strengthL1regularization": 0.1, "strengthL2regularization": 0.5, "strengthTemporalSmoothing": 0.1,
        "strengthSymmetry": 0.2, "templateBBSize": 54.7, "numPoses": n, "bsSolveActivePoses": active,
        "bsSolveCancelPoses": cancel, "bsSolveSymmetryPoses": symmetric, "bsWeightMultipliers": [1.0] * n,
        "bsWeightOffsets": [0.0] * n}})


def _write_network(path: Path, rng, result_size: int) -> None:
    """input [B,1,8320] and emotion [B,1,26] -> result [B,1,R]: tanh of a linear map of 16 slice loudnesses
    and the emotion; output 0 (the jawOpen mode) follows the loudness of the window's middle slices."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w_audio = rng.standard_normal((SEGMENTS, result_size)).astype(np.float32) * 0.15  # the other modes: small
    w_audio[:, 0] = 0.0
    w_audio[SEGMENTS // 2 - 2:SEGMENTS // 2 + 2, 0] = 6.0  # ~10 ms either side of the output frame
    w_emotion = rng.standard_normal((IMPLICIT + len(EMOTIONS), result_size)).astype(np.float32) * 0.05
    w_emotion[:, 0] = 0.0
    bias = np.zeros(result_size, np.float32)
    bias[0] = -0.2
    inits = [numpy_helper.from_array(a, n) for a, n in (
        (w_audio, "w_audio"), (w_emotion, "w_emotion"), (bias, "bias"),
        (np.array([-1, SEGMENTS, BUFFER_LEN // SEGMENTS], np.int64), "slices"),
        (np.array([-1, IMPLICIT + len(EMOTIONS)], np.int64), "flat_emotion"),
        (np.array([-1, 1, result_size], np.int64), "out_shape"), (np.array([2], np.int64), "axes"))]
    nodes = [helper.make_node("Reshape", ["input", "slices"], ["sliced"]),
             helper.make_node("Abs", ["sliced"], ["magnitude"]),
             helper.make_node("ReduceMean", ["magnitude"], ["loudness"], axes=[2], keepdims=0),
             helper.make_node("MatMul", ["loudness", "w_audio"], ["from_audio"]),
             helper.make_node("Reshape", ["emotion", "flat_emotion"], ["emotion_2d"]),
             helper.make_node("MatMul", ["emotion_2d", "w_emotion"], ["from_emotion"]),
             helper.make_node("Add", ["from_audio", "from_emotion"], ["summed"]),
             helper.make_node("Add", ["summed", "bias"], ["biased"]),
             helper.make_node("Tanh", ["biased"], ["activated"]),
             helper.make_node("Reshape", ["activated", "out_shape"], ["result"])]
    graph = helper.make_graph(
        nodes, "a2f_regression_stand_in",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 1, BUFFER_LEN]),
         helper.make_tensor_value_info("emotion", TensorProto.FLOAT, ["batch", 1, IMPLICIT + len(EMOTIONS)])],
        [helper.make_tensor_value_info("result", TensorProto.FLOAT, ["batch", 1, result_size])],
        [i for i in inits if i.name != "axes"])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def _write_diffusion_network(path: Path, rng, gate: np.ndarray, gru: int) -> None:
    """window [B,16000], identity [B,3], emotion [B,30,10], input_latents [2,2,B,H], noise [B,3,60,T] ->
    prediction [B,60,T] (each frame: the loudness of its 1/60 of the window opens the jaw, plus small identity,
    emotion, noise and state terms), output_latents [2,2,B,H] (a function of the state and the loudness)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    size = len(gate)
    frames = LEFT + CENTER + RIGHT
    consts = {
        "gate": gate[None, :], "w_identity": rng.standard_normal((len(IDENTITIES), size)).astype(np.float32) * 0.01,
        "w_emotion": rng.standard_normal((len(EMOTIONS), size)).astype(np.float32) * 0.01,
        "slices": np.array([0, frames, WINDOW // frames], np.int64), "gain": np.array(6.0, np.float32),
        "cut_start": np.array([0], np.int64), "cut_end": np.array([frames * (WINDOW // frames)], np.int64),
        "cut_axis": np.array([1], np.int64),
        "shift": np.array(-0.2, np.float32), "small": np.array(0.001, np.float32),
        "half": np.array(0.5, np.float32), "one": np.array([1], np.int64)}
    nodes = [
        helper.make_node("Slice", ["window", "cut_start", "cut_end", "cut_axis"], ["whole_slices"]),
        helper.make_node("Reshape", ["whole_slices", "slices"], ["sliced"]),
        helper.make_node("Abs", ["sliced"], ["magnitude"]),
        helper.make_node("ReduceMean", ["magnitude"], ["loudness"], axes=[2], keepdims=1),  # [B,F,1]
        helper.make_node("Mul", ["loudness", "gain"], ["loud_scaled"]),
        helper.make_node("Add", ["loud_scaled", "shift"], ["loud_shifted"]),
        helper.make_node("Tanh", ["loud_shifted"], ["loud_tanh"]),
        helper.make_node("Relu", ["loud_tanh"], ["opening"]),
        helper.make_node("MatMul", ["opening", "gate"], ["from_audio"]),  # [B,F,T]
        helper.make_node("MatMul", ["identity", "w_identity"], ["from_identity_2d"]),
        helper.make_node("Unsqueeze", ["from_identity_2d", "one"], ["from_identity"]),  # [B,1,T]
        helper.make_node("ReduceMean", ["emotion"], ["emotion_mean"], axes=[1], keepdims=1),  # [B,1,E]
        helper.make_node("MatMul", ["emotion_mean", "w_emotion"], ["from_emotion"]),
        helper.make_node("ReduceMean", ["noise"], ["noise_mean"], axes=[1], keepdims=0),  # [B,F,T]
        helper.make_node("Mul", ["noise_mean", "small"], ["from_noise"]),
        helper.make_node("ReduceMean", ["input_latents"], ["state_mean"], keepdims=0),
        helper.make_node("Mul", ["state_mean", "small"], ["from_state"]),
        helper.make_node("Add", ["from_audio", "from_identity"], ["s1"]),
        helper.make_node("Add", ["s1", "from_emotion"], ["s2"]),
        helper.make_node("Add", ["s2", "from_noise"], ["s3"]),
        helper.make_node("Add", ["s3", "from_state"], ["prediction"]),
        helper.make_node("ReduceMean", ["loudness"], ["loud_all"], keepdims=0),
        helper.make_node("Mul", ["input_latents", "half"], ["state_half"]),
        helper.make_node("Add", ["state_half", "loud_all"], ["state_next"]),
        helper.make_node("Tanh", ["state_next"], ["output_latents"])]
    graph = helper.make_graph(
        nodes, "a2f_diffusion_stand_in",
        [helper.make_tensor_value_info("window", TensorProto.FLOAT, ["batch", WINDOW]),
         helper.make_tensor_value_info("identity", TensorProto.FLOAT, ["batch", len(IDENTITIES)]),
         helper.make_tensor_value_info("emotion", TensorProto.FLOAT, ["batch", CENTER, len(EMOTIONS)]),
         helper.make_tensor_value_info("input_latents", TensorProto.FLOAT, [STEPS, GRU_LAYERS, "batch", gru]),
         helper.make_tensor_value_info("noise", TensorProto.FLOAT, ["batch", STEPS + 1, frames, size])],
        [helper.make_tensor_value_info("prediction", TensorProto.FLOAT, ["batch", frames, size]),
         helper.make_tensor_value_info("output_latents", TensorProto.FLOAT, [STEPS, GRU_LAYERS, "batch", gru])],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in consts.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--size", choices=sorted(SIZES), default="tiny")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kind", choices=("regression", "diffusion"), default="regression",
                        help="regression: v2.3 / v2.3.1; diffusion: v3.0")
    args = parser.parse_args()
    print(make(args.out, args.size, args.seed, args.kind))


if __name__ == "__main__":
    main()
