"""Fitting the shipped ICT-FaceKit head to a portrait's MediaPipe landmarks."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from inference.geometry.pinhole import project
from inference.rigs.head_fit import (
    IRIS_CENTRES,
    LandmarkBasis,
    builtin_correspondence,
    fit_head,
)
from inference.rigs.ict import builtin_head_path
from inference.rigs.ict_model import PART_VERTEX_RANGES, read_npz
from inference.rigs.landmarks import N_LANDMARKS, FaceLandmarks


@pytest.fixture(scope="module")
def model():
    return read_npz(builtin_head_path())


@pytest.fixture(scope="module")
def corr():
    return builtin_correspondence()


@pytest.fixture(scope="module")
def basis(model, corr):
    return LandmarkBasis.of(model, corr)


def test_every_mediapipe_face_point_has_a_place_on_the_face(corr):
    assert sorted(corr.mp_index) == [*range(468), *IRIS_CENTRES]
    assert np.allclose(corr.barycentric.sum(1), 1) and (corr.barycentric >= -1e-6).all()
    face_end = PART_VERTEX_RANGES["face"][1]
    face_rows = corr.mp_index < 468
    assert corr.triangles[face_rows].max() <= face_end  # on the skin, not on teeth or eyes
    assert set(corr.triangles[~face_rows, 0]) == set(IRIS_CENTRES.values())


def _synthetic_landmarks(basis, corr, beta, psi, rotation, translation, size=(800, 1000)):
    """MediaPipe-shaped landmarks of a known head, camera and expression (x, y in pixels)."""
    focal = 2.0 * max(size)
    pixels = project(basis.points(beta, psi) @ rotation.T + translation, focal, size)
    points = np.zeros((N_LANDMARKS, 3))
    points[corr.mp_index, :2] = pixels
    return FaceLandmarks(points, size)


def test_a_known_head_is_recovered(basis, corr):
    rng = np.random.default_rng(3)
    beta = rng.normal(0, 1, len(basis.identity))
    psi = np.zeros(len(basis.expressions))
    psi[basis.expression_names.index("mouthSmile_L")] = 0.6
    psi[basis.expression_names.index("mouthSmile_R")] = 0.5
    rotation = Rotation.from_euler("xyz", [4, -12, 2], degrees=True).as_matrix()
    lm = _synthetic_landmarks(basis, corr, beta, psi, rotation, np.array([1.0, -2.0, -180.0]))
    lm.points[:, 2] = 0.0  # MediaPipe's depth only seeds the pose; flat points must do
    lm.points[[469, 471, 474, 476], 0] = lm.points[[468, 468, 473, 473], 0] + [-8, 8, -8, 8]  # iris scale
    fit = fit_head(lm, basis, corr)
    assert fit.mean_error_percent < 0.5  # the priors hold back the last fraction
    angle = np.degrees(Rotation.from_matrix(fit.rotation @ rotation.T).magnitude())
    assert angle < 2.0
    fitted, true = basis.points(fit.beta, fit.psi), basis.points(beta, psi)
    shape_error = np.linalg.norm((fitted - fitted.mean(0)) - (true - true.mean(0)), axis=1).mean()
    assert shape_error < 0.15  # cm: the face shape as photographed, up to the unobservable distance


@pytest.mark.shared_data
def test_the_shared_portraits_fit_within_one_and_a_half_percent(shared_data, basis, corr):
    from inference.io.images import load_rgb
    from inference.rigs.landmarks import detect_landmarks

    for photo in sorted((shared_data / "portraits").glob("*.png")):
        fit = fit_head(detect_landmarks(load_rgb(photo), photo), basis, corr)
        assert fit.mean_error_percent <= 1.5, (photo.name, fit.mean_error_percent)
        assert np.abs(fit.beta).max() < 4.0


@pytest.mark.shared_data
def test_the_rig_takes_the_photographed_face_shape(shared_data, tmp_path):
    import subprocess
    import sys

    from inference.rigs.rig import FaceRig

    photo = shared_data / "portraits" / "flux_woman_0033.png"
    run = subprocess.run([sys.executable, "-m", "inference", "rig", "--ict", "--fit", str(photo), "-o",
                          str(tmp_path / "her.npz")], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    fitted, generic = FaceRig.load(tmp_path / "her.npz"), FaceRig.load(_generic_rig(tmp_path))
    assert float(fitted.meta["fit_error_percent"]) <= 1.5 and fitted.meta["photo"] == str(photo)
    moved = np.linalg.norm(fitted.vertices - generic.vertices, axis=1)
    assert moved.max() > 0.002  # millimetres of identity, not a copy of the generic head
    assert fitted.shape_names == generic.shape_names  # the same rig, animation-ready
    # the skin is the photo's: the textured face looks like the photographed one, and nothing is left black
    from inference.io.images import load_rgb
    from inference.rigs.landmarks import detect_landmarks

    texture = fitted.texture
    assert texture.shape == (1024, 2048, 3) and generic.texture is None
    rgb = load_rgb(photo)
    lm = detect_landmarks(rgb, photo).points
    import cv2

    from inference.rigs.mediapipe_topology import FACE_OVAL

    inside = np.zeros(rgb.shape[:2], np.uint8)
    cv2.fillPoly(inside, [np.round(lm[list(FACE_OVAL), :2]).astype(np.int32)], 1)
    face_tile = texture[300:700, 300:700].reshape(-1, 3).astype(float)  # cheeks, nose, mouth of ICT's layout
    assert np.abs(np.median(face_tile, 0) - np.median(rgb[inside > 0], 0)).max() < 30
    skin = np.isin(np.array(fitted.material_names)[fitted.face_materials], ["M_Face", "M_BackHead"])
    uv = fitted.uvs[np.repeat(skin, fitted.face_sizes)]
    at = np.clip((np.column_stack([uv[:, 0] / 2 * 2048, (1 - uv[:, 1]) * 1024])).astype(int), 0, [2047, 1023])
    assert (texture[at[:, 1], at[:, 0]].max(1) > 30).mean() > 0.99  # every skin corner has colour


def _generic_rig(folder):
    import subprocess
    import sys

    subprocess.run([sys.executable, "-m", "inference", "rig", "--ict", "-o", str(folder / "generic.npz")],
                   check=True, capture_output=True)
    return folder / "generic.npz"


@pytest.mark.shared_data
def test_a_small_face_in_a_half_body_shot_is_found_and_fitted(shared_data, basis, corr):
    """The face a fifth of the frame tall (as in a half-body shot): MediaPipe's detector misses it in the whole
    picture; the search in smaller windows finds it, and the head still fits."""
    import cv2

    from inference.io.images import load_rgb
    from inference.rigs.landmarks import detect_landmarks

    face = load_rgb(shared_data / "portraits" / "flux_man_0324.png")
    h, w = face.shape[:2]
    small = cv2.resize(face, (w // 3, h // 3), interpolation=cv2.INTER_AREA)
    shot = np.full((int(h * 1.5), w, 3), 180, np.uint8)
    shot[h // 8:h // 8 + small.shape[0], w // 4:w // 4 + small.shape[1]] = small
    lm = detect_landmarks(shot, "half-body shot")
    assert lm.face_height_px < 100 and any("pixels tall" in m for m in lm.warnings)
    nose = lm.points[1, :2]
    assert w // 4 < nose[0] < w // 4 + small.shape[1] and h // 8 < nose[1] < h // 8 + small.shape[0]
    assert fit_head(lm, basis, corr).mean_error_percent <= 1.5


@pytest.mark.shared_data
def test_the_fitted_head_keeps_the_photos_view_of_it(shared_data, tmp_path):
    """The rig remembers the head as photographed and the camera: projected, its eye and mouth corners land on
    MediaPipe's (what the renderer's dense warp builds on), and the view survives the rig file."""
    from inference.io.images import load_rgb
    from inference.rigs.ict import load_ict_rig
    from inference.rigs.landmarks import detect_landmarks
    from inference.rigs.rig import FaceRig

    photo = shared_data / "portraits" / "flux_man_0324.png"
    rig = load_ict_rig(None, photo)
    points = detect_landmarks(load_rgb(photo), photo).points[:, :2]
    iod = np.linalg.norm(points[33] - points[263])
    for name, mp_index in (("eye_outer_R", 33), ("eye_outer_L", 263), ("mouth_corner_R", 61),
                           ("mouth_corner_L", 291)):
        pixel = rig.photo_pixels(rig.photo_vertices[rig.landmarks[name]])
        assert np.linalg.norm(pixel - points[mp_index]) < 0.05 * iod, name
    rig.save(tmp_path / "head.npz")
    again = FaceRig.load(tmp_path / "head.npz")
    np.testing.assert_allclose(again.photo_pixels(again.photo_vertices), rig.photo_pixels(rig.photo_vertices))
    with pytest.raises(ValueError, match="not fitted"):
        load_ict_rig().photo_pixels(np.zeros(3))
