"""Fitting the ICT-FaceKit head to a portrait: identity, rest expression and head pose from MediaPipe's landmarks.

The link between the two meshes is a fixed table (``blender_assets/mediapipe_to_ict.npz``, built once by
tools/build_head_correspondence.py): each MediaPipe face-mesh point lies on an ICT triangle at fixed barycentric
coordinates. Those coordinates do not change with identity or expression, so every landmark of the model is a
linear function of the identity weights (one standard deviation per unit) and the expression weights (0..1).

The photo is seen by a pinhole camera with a focal length of twice the photo's larger side (absolute scale is not
observable from one photo; the identity prior sets the head's size). A bounded least-squares fit (scipy's trust
region reflective solver) finds rotation, translation, identity and rest expression that put the model's points
on MediaPipe's, in units of the eye-corner distance, with ridge priors on both weight sets.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares
from scipy.spatial.transform import Rotation

from ..errors import InputError
from ..geometry.pinhole import project
from ..io.npz import load_arrays
from .ict_model import IctModel
from .landmarks import FaceLandmarks

CORRESPONDENCE_NAME = "mediapipe_to_ict.npz"
IRIS_CENTRES = {468: 23028, 473: 21458}
"""MediaPipe's iris centres (the subject's right, left) on the front-most eyeball vertex, not on the face."""
EYE_CORNERS = (33, 263)  # MediaPipe's outer eye corners: the unit of error
IDENTITY_MODES = 20
IDENTITY_RIDGE = 1e-3
EXPRESSION_RIDGE = 1e-3
FOCAL_PER_SIDE = 2.0


@dataclass
class Correspondence:
    """MediaPipe point ``mp_index[i]`` = Σ ``barycentric[i]`` · ICT vertices ``triangles[i]``."""

    mp_index: np.ndarray  # (N,)
    triangles: np.ndarray  # (N, 3) ICT vertex indices
    barycentric: np.ndarray  # (N, 3)

    def points(self, vertices: np.ndarray) -> np.ndarray:
        """(..., N, 3) landmark positions for (..., V, 3) vertices."""
        return np.einsum("nk,...nkc->...nc", self.barycentric, vertices[..., self.triangles, :])

    def save(self, path: str | os.PathLike) -> None:
        from ..io.atomic import atomic_write_bytes

        atomic_write_bytes(path, lambda f: np.savez_compressed(
            f, format=np.array("vividtalk.mediapipe_to_ict"), version=np.array(1), mp_index=self.mp_index,
            triangles=self.triangles.astype(np.int32), barycentric=self.barycentric.astype(np.float32)))


def builtin_correspondence() -> Correspondence:
    path = Path(str(resources.files("blender_assets") / CORRESPONDENCE_NAME))
    z = load_arrays(path, "MediaPipe to ICT-FaceKit table")
    try:
        return Correspondence(z["mp_index"].astype(np.int64), z["triangles"].astype(np.int64),
                              z["barycentric"].astype(np.float64))
    except KeyError as e:
        raise InputError(f"'{path}' is damaged ({e}); reinstall vividtalk.") from e


@dataclass
class LandmarkBasis:
    """The model's landmarks as a linear function: neutral + identity @ beta + expressions @ psi (cm)."""

    neutral: np.ndarray  # (N, 3)
    identity: np.ndarray  # (K, N, 3)
    expressions: np.ndarray  # (S, N, 3)
    expression_names: list[str]

    @classmethod
    def of(cls, model: IctModel, corr: Correspondence, identity_modes: int = IDENTITY_MODES) -> LandmarkBasis:
        if model.identity_deltas is None:
            raise InputError("This ICT-FaceKit head has no identity modes; fitting it to a photo needs them.")
        k = min(identity_modes, len(model.identity_deltas))
        return cls(corr.points(model.vertices.astype(np.float64)),
                   corr.points(model.identity_deltas[:k].astype(np.float64)),
                   corr.points(model.expression_deltas.astype(np.float64)), list(model.expression_names))

    def points(self, beta: np.ndarray, psi: np.ndarray) -> np.ndarray:
        return self.neutral + np.tensordot(beta, self.identity, 1) + np.tensordot(psi, self.expressions, 1)


@dataclass
class HeadFit:
    """The head as photographed: identity and rest expression weights, pose, camera, and how well it fits."""

    beta: np.ndarray  # (K,) identity, standard deviations
    psi: np.ndarray  # (S,) rest expression, 0..1, in the model's expression order
    rotation: np.ndarray  # (3, 3) model -> camera
    translation: np.ndarray  # (3,) cm, camera frame (the camera looks down -Z)
    focal_px: float
    image_size: tuple[int, int]
    errors_iod: np.ndarray  # (N,) 2-D error of each fitted point, in eye-corner distances
    mp_index: np.ndarray = field(default_factory=lambda: np.zeros(0, int))

    @property
    def mean_error_percent(self) -> float:
        return float(self.errors_iod.mean() * 100)

    def project(self, points_cm: np.ndarray) -> np.ndarray:
        """Pixels (..., 2) of model points (..., 3) in centimetres."""
        return project(points_cm @ self.rotation.T + self.translation, self.focal_px, self.image_size)


def fit_head(landmarks: FaceLandmarks, basis: LandmarkBasis, corr: Correspondence,
             iterations: int = 100) -> HeadFit:
    """Pose, identity and rest expression that put the model's landmarks on the photo's."""
    w, h = landmarks.image_size
    target = landmarks.points[corr.mp_index, :2]
    iod = float(np.linalg.norm(landmarks.points[EYE_CORNERS[0], :2] - landmarks.points[EYE_CORNERS[1], :2]))
    if iod < 4:
        raise InputError("The face is too small in the photo to fit a head to it.")
    focal = FOCAL_PER_SIDE * max(w, h)
    k, s = len(basis.identity), len(basis.expressions)
    rot0, trans0 = _initial_pose(landmarks, basis, corr, focal)

    def unpack(x):
        return Rotation.from_rotvec(x[:3]).as_matrix(), x[3:6], x[6:6 + k], x[6 + k:]

    priors = np.concatenate([np.full(k, np.sqrt(IDENTITY_RIDGE)), np.full(s, np.sqrt(EXPRESSION_RIDGE))])
    linear = np.concatenate([basis.identity, basis.expressions])  # (K + S, N, 3)

    def residuals(x):
        rot, trans, beta, psi = unpack(x)
        pixels = project(basis.points(beta, psi) @ rot.T + trans, focal, (w, h))
        return np.concatenate([((pixels - target) / iod).ravel(), priors * x[6:]])

    def jacobian(x):
        """Exact for translation and the linear weights (the projection's derivative), by differences for the
        three rotation parameters."""
        rot, trans, beta, psi = unpack(x)
        cam = basis.points(beta, psi) @ rot.T + trans
        depth = -cam[:, 2]
        d_proj = np.zeros((len(cam), 2, 3))  # d(u, v) / d(camera point)
        d_proj[:, 0, 0] = focal / depth
        d_proj[:, 0, 2] = focal * cam[:, 0] / depth**2
        d_proj[:, 1, 1] = -focal / depth
        d_proj[:, 1, 2] = -focal * cam[:, 1] / depth**2
        jac = np.zeros((2 * len(cam) + k + s, len(x)))
        jac[:2 * len(cam), 3:6] = d_proj.reshape(-1, 3) / iod
        jac[:2 * len(cam), 6:] = np.einsum("nij,mnj->nim", d_proj, linear @ rot.T).reshape(-1, k + s) / iod
        jac[2 * len(cam):, 6:] = np.diag(priors)
        base = residuals(x)
        for i in range(3):
            step = np.zeros_like(x)
            step[i] = 1e-6
            jac[:, i] = (residuals(x + step) - base) / 1e-6
        return jac

    x0 = np.concatenate([Rotation.from_matrix(rot0).as_rotvec(), trans0, np.zeros(k), np.zeros(s)])
    lower = np.concatenate([np.full(6, -np.inf), np.full(k, -4.0), np.zeros(s)])
    upper = np.concatenate([np.full(6, np.inf), np.full(k, 4.0), np.ones(s)])
    fit = least_squares(residuals, x0, jac=jacobian, bounds=(lower, upper), method="trf", x_scale="jac",
                        max_nfev=iterations)
    rot, trans, beta, psi = unpack(fit.x)
    pixels = project(basis.points(beta, psi) @ rot.T + trans, focal, (w, h))
    errors = np.linalg.norm(pixels - target, axis=1) / iod
    return HeadFit(beta, psi, rot, trans, focal, (w, h), errors, corr.mp_index)


def _initial_pose(landmarks: FaceLandmarks, basis: LandmarkBasis, corr: Correspondence, focal: float):
    """A similarity between MediaPipe's metric points and the neutral model gives rotation and distance."""
    from .flame import similarity_transform

    w, h = landmarks.image_size
    p = landmarks.points[corr.mp_index]
    scale, rot, _ = similarity_transform(basis.neutral, landmarks.metric_mm()[corr.mp_index] / 10.0)
    depth_cm = focal / (landmarks.px_per_mm * 10.0) / max(scale, 1e-6)  # pixels per cm at the face = focal / depth
    centre_px = p[:, :2].mean(0)
    centre = np.array([(centre_px[0] - w / 2) * depth_cm / focal, -(centre_px[1] - h / 2) * depth_cm / focal,
                       -depth_cm])
    trans = centre - rot @ basis.neutral.mean(0)
    return rot, trans
