"""FLAME: the loader never runs pickled code, the forward pass matches the paper's equations, ARKit maps exactly."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from inference.cli import main
from inference.errors import InputError
from inference.rigs.flame import fit_arkit_mapping, flame_forward, flame_rig, load_flame, params_from_channels
from inference.rigs.ict import load_ict_rig
from inference.rigs.rig import clip_channels

from .flame_factory import ellipsoid_flame_arrays, ict_flame_arrays, write_flame_pkl


def _rodrigues(aa: np.ndarray) -> np.ndarray:
    angle = np.linalg.norm(aa)
    if angle < 1e-12:
        return np.eye(3)
    k = aa / angle
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(angle) * kx + (1 - np.cos(angle)) * kx @ kx


def reference_flame(arr: dict, betas: np.ndarray, psi: np.ndarray, pose: np.ndarray) -> np.ndarray:
    """FLAME as the paper writes it (Li et al. 2017, eq. 1-4), one frame, plain loops, float64."""
    sd = np.asarray(arr["shapedirs"], dtype=np.float64)
    shaped = arr["v_template"] + sd[:, :, : len(betas)] @ betas
    joints = arr["J_regressor"] @ shaped  # J(β): from the identity shape only
    t_p = shaped + sd[:, :, 300: 300 + len(psi)] @ psi
    rots = [_rodrigues(p) for p in pose]
    feature = np.concatenate([(rots[k] - np.eye(3)).ravel() for k in range(1, 5)])
    t_p = t_p + arr["posedirs"] @ feature
    parents = [-1, 0, 1, 1, 1]
    world = []
    for k in range(5):
        local = np.eye(4)
        local[:3, :3] = rots[k]
        local[:3, 3] = joints[k] - (joints[parents[k]] if parents[k] >= 0 else 0)
        world.append(local if parents[k] < 0 else world[parents[k]] @ local)
    skinning = []
    for k in range(5):
        rel = world[k].copy()
        rel[:3, 3] -= world[k][:3, :3] @ joints[k]
        skinning.append(rel)
    homo = np.c_[t_p, np.ones(len(t_p))]
    out = np.zeros_like(t_p)
    for k in range(5):
        out += arr["weights"][:, k: k + 1] * (homo @ skinning[k].T)[:, :3]
    return out


@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    arr = ellipsoid_flame_arrays()
    path = write_flame_pkl(arr, tmp_path_factory.mktemp("flame") / "generic model é.pkl")
    return arr, path


def test_pickled_model_loads_without_chumpy_and_matches_the_reference(small_model):
    arr, path = small_model
    model = load_flame(path)
    assert model.n_expr == 100 and list(model.parents) == [-1, 0, 1, 1, 1]
    rng = np.random.default_rng(3)
    for _ in range(3):
        betas, psi = rng.normal(size=20), rng.normal(size=50)
        pose = rng.normal(scale=0.25, size=(5, 3))
        ours = flame_forward(model, betas, psi[None], pose[None])[0]
        np.testing.assert_allclose(ours, reference_flame(arr, betas, psi, pose), atol=1e-6, rtol=0)


def test_npz_models_load_too(small_model, tmp_path):
    arr, _ = small_model
    path = tmp_path / "flame.npz"
    np.savez(path, **{k: v for k, v in arr.items() if isinstance(v, np.ndarray)})
    model = load_flame(path)
    pose = np.zeros((1, 5, 3))
    pose[0, 2, 0] = 0.3
    np.testing.assert_allclose(flame_forward(model, None, np.zeros((1, 10)), pose)[0],
                               reference_flame(arr, np.zeros(0), np.zeros(10), pose[0]), atol=1e-6)


class _Exploit:
    def __reduce__(self):
        import os

        return os.system, (f"touch {self.marker}",)


def test_hostile_truncated_and_wrong_files_are_refused_without_running_anything(small_model, tmp_path):
    _, good = small_model
    marker = tmp_path / "pwned"
    _Exploit.marker = marker
    hostile = tmp_path / "hostile.pkl"
    hostile.write_bytes(pickle.dumps({"v_template": _Exploit()}, protocol=2))
    with pytest.raises(InputError, match=r"Refusing to load.*(posix|os)\.system"):
        load_flame(hostile)
    assert not marker.exists()
    truncated = tmp_path / "truncated.pkl"
    truncated.write_bytes(good.read_bytes()[:5000])
    with pytest.raises(InputError, match="truncated"):
        load_flame(truncated)
    wrong = tmp_path / "wrong.pkl"
    wrong.write_bytes(pickle.dumps({"v_template": np.zeros((10, 3))}, protocol=2))
    with pytest.raises(InputError, match="no 'f' array"):
        load_flame(wrong)
    bad_npz = tmp_path / "objects.npz"
    np.savez(bad_npz, v_template=np.array([object()], dtype=object))
    with pytest.raises(InputError, match=r"not a readable|not a FLAME|no '"):
        load_flame(bad_npz)
    with pytest.raises(InputError, match="does not exist"):
        load_flame(tmp_path / "missing.pkl")


@pytest.fixture(scope="module")
def ict_model(shared_data, tmp_path_factory):
    ict_dir = shared_data / "heads" / "ict_facekit"
    arr = ict_flame_arrays(ict_dir / "ict_arkit.npz")
    path = write_flame_pkl(arr, tmp_path_factory.mktemp("flame") / "ict_flame.pkl")
    model = load_flame(path)
    return arr, path, model, fit_arkit_mapping(model, load_ict_rig(ict_dir)), ict_dir


def test_arkit_curves_through_psi_equal_arkit_curves_through_shape_keys(ict_model):
    arr, _, model, mapping, _ = ict_model
    rig = flame_rig(model, mapping)
    rng = np.random.default_rng(5)
    n = 40
    channels = {name: rng.uniform(0, 1, n) for name in ("jawOpen", "mouthClose", "mouthPucker", "mouthSmileLeft",
                                                        "eyeBlinkRight", "browInnerUp", "eyeLookUpLeft")}
    channels |= {"head.pitch": rng.uniform(-10, 10, n), "head.yaw": rng.uniform(-20, 20, n),
                 "head.roll": rng.uniform(-5, 5, n)}
    via_keys = rig.evaluate(channels)
    params = params_from_channels(mapping, channels, n, rig)
    pose = np.stack([params["global_pose"], params["neck_pose"], params["jaw_pose"], params["eye_pose"][:, :3],
                     params["eye_pose"][:, 3:]], axis=1)
    via_psi = flame_forward(model, None, params["expression"], pose)
    np.testing.assert_allclose(via_psi, via_keys, atol=1e-5, rtol=0)
    # and the ψ path is FLAME itself
    k = 17
    np.testing.assert_allclose(via_psi[k], reference_flame(arr, np.zeros(0), params["expression"][k], pose[k]),
                               atol=1e-6, rtol=0)


def test_the_fitted_mapping_is_semantic(ict_model):
    _, _, model, mapping, _ = ict_model
    assert 4 <= mapping.jaw_degrees <= 30
    rig = flame_rig(model, mapping)
    rest = rig.evaluate({}, 1)[0]
    chin = int(np.argmin(np.linalg.norm(rest - [0, -0.0757, 0.1043], axis=1)))  # ICT's chin landmark
    opened = rig.evaluate({"jawOpen": 1.0}, 1)[0]
    assert rest[chin, 1] - opened[chin, 1] > 0.01  # the chin drops more than 1 cm
    # the transferred targets are reproduced well for the main speech shapes
    for name in ("jawOpen", "mouthClose", "mouthPucker", "mouthFunnel", "mouthSmileLeft", "eyeBlinkLeft"):
        assert mapping.fit_error_mm[name] < 5.0, (name, mapping.fit_error_mm[name])


def test_export_flame_cli_writes_the_research_layout(ict_model, tmp_path, demo_voice):
    _, path, _, _, ict_dir = ict_model
    clip_path = tmp_path / "clip.json"
    assert main(["animate", str(demo_voice), "-o", str(clip_path), "--progress", "quiet"]) == 0
    out = tmp_path / "out dir" / "params.npz"
    out.parent.mkdir()
    assert main(["export-flame", str(clip_path), "--model", str(path), "--arkit-from-ict", str(ict_dir),
                 "-o", str(out), "--progress", "quiet"]) == 0
    with np.load(out) as z:
        frames = json.loads(clip_path.read_text())["frame_count"]
        assert z["expression"].shape == (frames, 100)
        for key in ("jaw_pose", "neck_pose", "global_pose"):
            assert z[key].shape == (frames, 3)
        assert z["eye_pose"].shape == (frames, 6) and z["shape"].shape == (300,)
        w = np.array([json.loads(clip_path.read_text())["channels"][c] for c in z["arkit_names"]]).T
        np.testing.assert_allclose(z["expression"], w @ z["arkit_to_expression"].T, atol=1e-6)  # float32 curves
        assert np.abs(z["jaw_pose"][:, 0]).max() > 0.02  # the jaw moves while speaking


def test_arkit_clip_channels_include_head_rotation():
    from inference.motion.clip import MotionClip

    clip = MotionClip(fps=30, duration=0.1, channels={"jawOpen": np.zeros(4)}, head={"yaw": np.ones(4)})
    assert set(clip_channels(clip)) == {"jawOpen", "head.yaw"}


def test_rig_cli_builds_every_kind(ict_model, tmp_path):
    _, path, _, _, ict_dir = ict_model
    for args, name in ((["--ict", str(ict_dir)], "ICTFace"), (["--flame", str(path)], "FLAMEHead"), ([], "Portrait")):
        out = tmp_path / f"{name}.npz"
        assert main(["rig", *args, "-o", str(out), "--progress", "quiet"]) == 0
        assert Path(out).stat().st_size > 10_000
    assert main(["rig", "--flame", str(tmp_path / "nope.pkl"), "-o", str(tmp_path / "x.npz"),
                 "--progress", "quiet"]) == 2
