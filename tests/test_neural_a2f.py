"""Audio2Face-3D regression models (inference/neural/): a folder with the release's exact files and layout,
made by tools/make_tiny_a2f.py with small sizes, read, checked, run with onnxruntime on the CPU and turned
into a clip, keys and an FBX; incomplete, mismatched and hostile folders get clear messages."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from inference.errors import InputError

pytest.importorskip("onnxruntime", reason="needs the neural extra: pip install -e '.[neural]'")
pytest.importorskip("onnx", reason="tools/make_tiny_a2f.py needs onnx: pip install -e '.[neural]'")



@pytest.fixture(scope="module")
def tiny_a2f(tmp_path_factory) -> Path:
    from tools.make_tiny_a2f import make

    return make(tmp_path_factory.mktemp("a2f") / "Audio2Face-3D-v2.3-Mark")


@pytest.fixture
def a2f_copy(tiny_a2f, tmp_path) -> Path:
    """A copy to damage."""
    return Path(shutil.copytree(tiny_a2f, tmp_path / "model"))


def _vividtalk(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "inference", *args], capture_output=True, text=True, timeout=600)


def test_the_folder_is_read_as_released(tiny_a2f):
    from inference.neural.a2f_model import load_a2f_model

    m = load_a2f_model(tiny_a2f)
    assert json.loads((tiny_a2f / "model.json").read_text())["networkPath"] == "network.trt"
    assert m.network_path.name == "network.onnx"  # the TensorRT build named in model.json is made locally
    assert (m.n_skin, m.n_tongue, m.jaw_size, m.eyes_size, m.buffer_len, m.buffer_offset) == (12, 4, 15, 4, 8320, 4160)
    assert m.skin_matrix.shape == (12, 1200) and m.skin_blendshapes.deltas.shape == (52, 1200)
    assert m.skin_blendshapes.pose_names[14:17] == ["jawForward", "jawLeft", "jawRight"]  # names from bytes
    assert m.emotion_names[6] == "joy" and m.emotion_size == 26
    db = np.load(tiny_a2f / "implicit_emo_db.npz")
    assert np.array_equal(m.implicit_emotion, db["emo_db"][10])  # shot cp1_neutral starts at 0, frame 10
    assert m.tongue_blendshapes is not None and len(m.tongue_blendshapes.pose_names) == 16


def _follow(raw: np.ndarray, half_life: float, fps: float) -> np.ndarray:
    """The SDK's two cascaded followers on every value, frame by frame (animator_cuda.cu)."""
    alpha = 1 - 0.5 ** ((1 / fps) / half_life)
    d1, d2, out = raw[0].copy(), raw[0].copy(), []
    for r in raw:
        d1 += (r - d1) * alpha
        d2 += (d1 - d2) * alpha
        out.append(d2.copy())
    return np.array(out)


def _sdk_weights(runner, audio: np.ndarray, fps: float, n: int) -> np.ndarray:
    """What the SDK computes, step by step on whole vertex arrays: network, PCA, skin composition (strength,
    eyelid and lip offsets), two-stage smoothing of the upper and lower face, the face-mask blend, the solve."""
    from inference.neural.a2f_runner import lower_face_mask
    from inference.neural.blendshape_solve import solve

    m, a = runner.model, runner.model.animator
    padded = np.concatenate([np.zeros(8320, np.float32), audio, np.zeros(8320, np.float32)]) * a["input_strength"]
    rows = []
    for frame in range(n):
        start = round(frame / fps * 16000) - 4160 + 8320
        window = padded[start:start + 8320].astype(np.float32)[None, None]
        emotion = np.concatenate([m.implicit_emotion, m.default_emotion])[None, None].astype(np.float32)
        rows.append(runner.session.run(["result"], {"input": window, "emotion": emotion})[0].reshape(-1))
    coefficients = np.array(rows)[:, :m.n_skin]
    raw = (a["skin_strength"] * coefficients @ m.skin_matrix - a["eyelid_open_offset"] * m.eye_close_delta
           + a["lip_open_offset"] * m.lip_open_delta)
    mask = np.repeat(lower_face_mask(m.skin_mean, a["face_mask_level"], a["face_mask_softness"]), 3)

    pose = (m.skin_mean + _follow(raw, a["upper_face_smoothing"], fps) * a["upper_face_strength"] * (1 - mask)
            + _follow(raw, a["lower_face_smoothing"], fps) * a["lower_face_strength"] * mask)
    return solve(runner.solve, runner.solve.project(pose))


def test_the_folded_post_processing_equals_the_sdks_steps(tiny_a2f):
    from inference.neural.a2f_model import load_a2f_model
    from inference.neural.a2f_runner import A2FRunner

    runner = A2FRunner(load_a2f_model(tiny_a2f), "cpu")
    t = np.arange(24000) / 16000
    audio = (0.4 * np.sin(2 * np.pi * 180 * t) * (np.sin(2 * np.pi * t) > 0)).astype(np.float32)  # 0.5 s on, 0.5 off
    frames = runner.run(audio, 25.0, 38)
    ours = np.stack([frames.weights[n] for n in runner.solve.pose_names], axis=1)
    assert np.abs(ours - _sdk_weights(runner, audio, 25.0, 38)).max() < 1e-4
    assert frames.provider == "CPUExecutionProvider"
    jaw = frames.weights["jawOpen"]
    voiced = np.sin(2 * np.pi * np.arange(38) / 25.0) > 0
    assert jaw[voiced].mean() > jaw[~voiced].mean() + 0.3  # the stand-in network opens the jaw with the voice
    assert frames.eyes_deg.shape == (38, 4) and np.isfinite(frames.jaw_open_deg).all()


def test_animate_with_a2f_gives_a_clip_with_our_head_blinks_and_keys(tiny_a2f, demo_voice, tmp_path):
    out = tmp_path / "a2f clip.json"
    done = _vividtalk("animate", str(demo_voice), "-o", str(out), "--engine", "a2f", "--a2f-model", str(tiny_a2f),
                      "--device", "cpu", "--emotion", "happy", "--progress", "quiet")
    assert done.returncode == 0, done.stderr
    from inference.motion.clip import MotionClip

    clip = MotionClip.load(out)
    a2f = clip.meta["a2f"]
    assert a2f["provider"] == "CPUExecutionProvider" and "jawOpen" in a2f["channels"]
    assert "eyeBlinkLeft" not in a2f["channels"] and "browInnerUp" not in a2f["channels"]
    assert clip.channels["jawOpen"].max() > 0.3 and "jawOpen" in clip.keys
    assert clip.channels["eyeBlinkLeft"].max() > 0.9  # our blinks
    assert np.ptp(clip.head["yaw"]) > 0.5  # our head motion
    assert clip.meta["options"]["engine"] == "a2f"


def test_the_emotion_reaches_the_networks_explicit_inputs(tiny_a2f):
    from inference.neural.engines import a2f_runner, explicit_emotion

    runner = a2f_runner(str(tiny_a2f), "cpu")
    happy = explicit_emotion(runner, "happy", 0.7)
    assert happy[runner.model.emotion_names.index("joy")] == pytest.approx(0.7) and happy.sum() == pytest.approx(0.7)
    assert explicit_emotion(runner, "neutral", 1.0).sum() == 0.0
    assert a2f_runner(str(tiny_a2f), "cpu") is runner  # loaded once per folder and device


def test_a_batch_line_runs_a2f_into_every_export(tiny_a2f, demo_voice, tmp_path):
    manifest = tmp_path / "lines.csv"
    (tmp_path / "out").mkdir()
    with open(manifest, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, ["audio", "clip", "csv", "fbx", "engine", "a2f_model", "device"])
        writer.writeheader()
        writer.writerow({"audio": str(demo_voice), "clip": "out/a.json", "csv": "out/a.csv", "fbx": "out/a.fbx",
                         "engine": "a2f", "a2f_model": str(tiny_a2f), "device": "cpu"})
    done = _vividtalk("batch", str(manifest), "--progress", "json")
    assert done.returncode == 0, done.stderr + done.stdout[-2000:]
    assert json.loads((tmp_path / "out" / "a.json").read_text())["meta"]["a2f"]["actor"] == "mark"
    assert (tmp_path / "out" / "a.fbx").read_bytes()[:18] == b"Kaydara FBX Binary"
    assert "JawOpen" in (tmp_path / "out" / "a.csv").read_text().splitlines()[0]  # Live Link Face names


def test_a2f_without_a_model_folder_says_what_to_pass(demo_voice, tmp_path):
    done = _vividtalk("animate", str(demo_voice), "-o", str(tmp_path / "c.json"), "--engine", "a2f")
    assert done.returncode == 2 and "--a2f-model" in done.stderr


def _load(folder: Path):
    from inference.neural.a2f_model import load_a2f_model
    from inference.neural.a2f_runner import A2FRunner

    return A2FRunner(load_a2f_model(folder), "cpu")


def _edit_json(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


@pytest.mark.parametrize("damage,message", [
    (lambda d: (d / "bs_skin.npz").unlink(), "no skin blendshapes"),
    (lambda d: (d / "network.onnx").unlink(), "network.onnx"),
    (lambda d: (d / "network_info.json").unlink(), "network_info.json"),
    (lambda d: _edit_json(d / "network_info.json", lambda j: j["params"].update(num_shapes_skin=13)),
     "shapes_matrix_skin holds"),
    (lambda d: _edit_json(d / "network_info.json", lambda j: j["params"].pop("num_verts_skin")),
     "num_verts_skin"),
    (lambda d: _edit_json(d / "network_info.json", lambda j: j["id"].update(type="diffusion")),
     "lacks 'params.emotions'"),
    (lambda d: _edit_json(d / "network_info.json", lambda j: j["id"].update(type="gan")), "'gan' network"),
    (lambda d: _edit_json(d / "model_config.json", lambda j: j["config"].update(source_shot="nope")),
     "source_shot 'nope'"),
    (lambda d: _edit_json(d / "bs_skin_config.json", lambda j: j["blendshape_params"].update(numPoses=3)),
     "has 52 entries"),
    (lambda d: _edit_json(d / "model.json", lambda j: j.update(modelDataPath="../../etc/passwd")),
     "outside the folder"),
    (lambda d: _edit_json(d / "model.json", lambda j: j.update(networkPath="/etc/passwd")), "outside the folder"),
    (lambda d: (d / "network.onnx").write_bytes(b"not a network"), "could not be loaded by onnxruntime"),
    (lambda d: (d / "model_data.npz").write_bytes(b"PK\x03\x04 truncated"), "model data"),
])
def test_incomplete_mismatched_or_hostile_folders_get_a_clear_message(a2f_copy, damage, message):
    damage(a2f_copy)
    with pytest.raises(InputError, match=message):
        _load(a2f_copy)


def test_a_folder_without_model_json_is_read_by_the_release_names(a2f_copy):
    (a2f_copy / "model.json").unlink()
    assert _load(a2f_copy).model.network_path.name == "network.onnx"


def test_a_pickled_array_is_refused_without_running_it(a2f_copy):
    np.savez(a2f_copy / "implicit_emo_db.npz", emo_db=np.array([{"evil": 1}], dtype=object),
             emo_spec_names=np.array([b"cp1_neutral"]), emo_spec_start=np.array([0]), emo_spec_size=np.array([1]))
    with pytest.raises(InputError, match="without pickles"):
        _load(a2f_copy)


def test_an_archive_declaring_gigabytes_is_not_unpacked(a2f_copy, monkeypatch):
    from inference.neural import model_files

    monkeypatch.setattr(model_files, "NPZ_MAX_BYTES", 1000)  # the real limit (4 GiB) scaled down
    with pytest.raises(InputError, match="refusing to unpack"):
        _load(a2f_copy)
    with zipfile.ZipFile(a2f_copy / "bs_skin.npz") as z:
        assert sum(i.file_size for i in z.infolist()) > 1000


def test_a_network_with_other_tensors_is_named_as_such(a2f_copy):
    import onnx

    model = onnx.load(str(a2f_copy / "network.onnx"))
    model.graph.input[1].name = "emotions"
    for node in model.graph.node:
        node.input[:] = ["emotions" if i == "emotion" else i for i in node.input]
    onnx.save(model, str(a2f_copy / "network.onnx"))
    with pytest.raises(InputError, match="no input 'emotion'"):
        _load(a2f_copy)


def test_cuda_asked_for_without_a_cuda_provider_says_how_to_get_one():
    from inference.neural.devices import onnx_providers

    assert onnx_providers("auto", ["CPUExecutionProvider"]) == ["CPUExecutionProvider"]
    assert onnx_providers("auto", ["CUDAExecutionProvider", "CPUExecutionProvider"])[0] == "CUDAExecutionProvider"
    assert onnx_providers("cpu", ["CUDAExecutionProvider", "CPUExecutionProvider"]) == ["CPUExecutionProvider"]
    with pytest.raises(InputError, match="onnxruntime-gpu"):
        onnx_providers("cuda", ["CPUExecutionProvider"])


# ------------------------------------------------------------------------------------- v3.0 (diffusion)
@pytest.fixture(scope="module")
def tiny_v3(tmp_path_factory) -> Path:
    from tools.make_tiny_a2f import make

    return make(tmp_path_factory.mktemp("a2f3") / "Audio2Face-3D-v3.0", kind="diffusion")


def test_a_v3_folder_is_read_with_the_chosen_identitys_files(tiny_v3):
    from inference.neural.a2f_model import load_a2f_model

    m = load_a2f_model(tiny_v3, "James")
    assert (m.kind, m.actor, m.identities) == ("diffusion", "james", ["claire", "james", "mark"])
    assert m.skin_matrix is None and m.n_skin == 900 and m.result_size == 900 + 120 + 15 + 4
    assert (m.diffusion.left, m.diffusion.center, m.diffusion.right, m.diffusion.steps) == (15, 30, 15, 2)
    assert load_a2f_model(tiny_v3).actor == "claire"  # the first identity by default
    (tiny_v3 / "unused").mkdir(exist_ok=True)
    with pytest.raises(InputError, match="no actor 'bob'; it has claire, james, mark"):
        load_a2f_model(tiny_v3, "bob")


def _sdk_v3_weights(runner, audio: np.ndarray, fps: float, n: int, seed: int) -> np.ndarray:
    """The SDK's v3.0 path on whole vertex arrays: windows stepping half a window from -padding, the GRU state
    carried, the 30 center frames of 60 kept, skin composed and smoothed at 60 frames/s, solved, then sampled
    at the clip's frame times."""
    from inference.neural.a2f_runner import lower_face_mask
    from inference.neural.blendshape_solve import solve

    m, a = runner.model, runner.model.animator
    x = np.concatenate([np.zeros(4000, np.float32), audio * np.float32(a["input_strength"]),
                        np.zeros(40000, np.float32)])
    state = np.zeros((2, 2, 1, 8), np.float32)
    noise = np.random.default_rng(seed).standard_normal((1, 3, 60, m.result_size), dtype=np.float32)
    identity = np.zeros((1, 3), np.float32)
    identity[0, m.identities.index(m.actor)] = 1
    kept = []
    for k in range(int(np.ceil((n / fps) * 60 / 30)) + 1):
        feeds = {"window": x[None, 8000 * k:8000 * k + 16000], "identity": identity,
                 "emotion": np.zeros((1, 30, 10), np.float32), "input_latents": state, "noise": noise}
        prediction, state = runner.session.run(["prediction", "output_latents"], feeds)
        kept.append(prediction[0, 15:45, :m.n_skin])
    deltas = np.concatenate(kept).astype(np.float64)
    raw = a["skin_strength"] * deltas - a["eyelid_open_offset"] * m.eye_close_delta + \
        a["lip_open_offset"] * m.lip_open_delta
    mask = np.repeat(lower_face_mask(m.skin_mean, a["face_mask_level"], a["face_mask_softness"]), 3)

    pose = (m.skin_mean + _follow(raw, a["upper_face_smoothing"], 60.0) * a["upper_face_strength"] * (1 - mask)
            + _follow(raw, a["lower_face_smoothing"], 60.0) * a["lower_face_strength"] * mask)
    weights = solve(runner.solve, runner.solve.project(pose))
    native = np.arange(len(weights)) / 60.0
    return np.stack([np.interp(np.arange(n) / fps, native, w) for w in weights.T], axis=1)


def test_the_v3_path_equals_the_sdks_steps_and_follows_the_voice(tiny_v3):
    from inference.neural.a2f_model import load_a2f_model
    from inference.neural.a2f_runner import A2FRunner

    runner = A2FRunner(load_a2f_model(tiny_v3, "mark"), "cpu")
    t = np.arange(48000) / 16000
    audio = (0.4 * np.sin(2 * np.pi * 180 * t) * (np.sin(2 * np.pi * t) > 0)).astype(np.float32)
    frames = runner.run(audio, 30.0, 90, seed=5)
    ours = np.stack([frames.weights[n] for n in runner.solve.pose_names], axis=1)
    assert np.abs(ours - _sdk_v3_weights(runner, audio, 30.0, 90, 5)).max() < 1e-4
    voiced = np.sin(2 * np.pi * np.arange(90) / 30.0) > 0
    jaw = frames.weights["jawOpen"]
    assert jaw[voiced].mean() > jaw[~voiced].mean() + 0.1  # on time: the first kept frame is at 0 s
    again = runner.run(audio, 30.0, 90, seed=5)
    assert np.array_equal(again.weights["jawOpen"], jaw)  # the same seed, the same motion


def test_animate_with_a_v3_model_and_an_actor(tiny_v3, demo_voice, tmp_path):
    out = tmp_path / "v3.json"
    done = _vividtalk("animate", str(demo_voice), "-o", str(out), "--engine", "a2f", "--a2f-model", str(tiny_v3),
                      "--a2f-actor", "james", "--device", "cpu", "--progress", "quiet")
    assert done.returncode == 0, done.stderr
    meta = json.loads(out.read_text(encoding="utf-8"))["meta"]["a2f"]
    assert (meta["kind"], meta["actor"]) == ("diffusion", "james")


def test_a_config_without_a_source_shot_takes_the_first_as_the_deploy_step_does(a2f_copy):
    _edit_json(a2f_copy / "model_config.json", lambda j: j["config"].update(source_shot=None, source_frame=None))
    model = _load(a2f_copy).model
    assert np.array_equal(model.implicit_emotion, np.load(a2f_copy / "implicit_emo_db.npz")["emo_db"][0])


def test_pose_names_match_arkit_whatever_their_case():
    from inference.neural.a2f_runner import A2FFrames
    from inference.neural.engines import arkit_channels

    frames = A2FFrames(30.0, {"JawOpen": np.full(3, 0.5, np.float32), "mouthFunnel": np.full(3, 0.2, np.float32),
                              "customPose": np.ones(3, np.float32), "eyeBlinkLeft": np.ones(3, np.float32)},
                       np.zeros(3, np.float32), None, "CPUExecutionProvider")
    assert sorted(arkit_channels(frames, 1.0, 1.0)) == ["jawOpen", "mouthFunnel"]
