"""FaceRig.evaluate against the textbook formula: blendshapes, pose correctives, then linear blend skinning with
every vertex's weights, whatever grouping and threading the fast path uses."""

from __future__ import annotations

import numpy as np
import pytest

from inference.rigs.rig import FaceRig, euler_angles, euler_matrices, standard_drivers, world_transforms

JOINTS = ["root", "neck", "head", "jaw", "eye_L", "eye_R"]


def _rig(rng: np.random.Generator, correctives: bool) -> FaceRig:
    v = 400
    weights = rng.random((v, len(JOINTS)))
    weights[:150] = np.eye(len(JOINTS))[rng.choice([2] * 4 + [1, 3, 4, 5], 150)]  # most on the head alone
    weights /= weights.sum(1, keepdims=True)
    return FaceRig(
        name="synthetic", vertices=rng.normal(0, 0.05, (v, 3)), face_sizes=np.array([3]),
        face_indices=np.array([0, 1, 2]), shape_names=["jawOpen", "mouthSmileLeft", "eyeBlinkLeft"],
        shape_deltas=rng.normal(0, 0.003, (3, v, 3)).astype(np.float32), joint_names=JOINTS,
        joint_parents=np.array([-1, 0, 1, 2, 2, 2]), joint_positions=rng.normal(0, 0.03, (len(JOINTS), 3)),
        weights=weights.astype(np.float32), drivers=standard_drivers(22.0),
        correctives={"jaw": rng.normal(0, 0.002, (9, v, 3)).astype(np.float32)} if correctives else {})


def _textbook(rig: FaceRig, channels: dict[str, np.ndarray], n: int) -> np.ndarray:
    w = np.stack([channels.get(name, np.zeros(n)) for name in rig.shape_names], 1)
    rest = rig.vertices[None] + np.einsum("ts,svc->tvc", w, rig.shape_deltas.astype(np.float64))
    rot = euler_matrices(rig.joint_eulers(channels, n))
    for joint, deltas in rig.correctives.items():
        k = rig.joint_names.index(joint)
        rest = rest + np.einsum("tk,kvc->tvc", (rot[:, k] - np.eye(3)).reshape(n, 9), deltas)
    g = world_transforms(rot, rig.joint_parents, rig.joint_positions)  # (t, J, 3, 4)
    per_vertex = np.einsum("vj,tjab->tvab", rig.weights.astype(np.float64), g)
    return np.einsum("tvab,tvb->tva", per_vertex[..., :3], rest) + per_vertex[..., 3]


@pytest.mark.parametrize("correctives", [False, True])
def test_evaluation_matches_linear_blend_skinning(correctives):
    rng = np.random.default_rng(7)
    rig = _rig(rng, correctives)
    n = 75
    channels = {"jawOpen": rng.random(n), "mouthSmileLeft": rng.random(n), "head.yaw": rng.uniform(-20, 20, n),
                "head.pitch": rng.uniform(-10, 10, n), "eyeLookUpLeft": rng.random(n)}
    expected = _textbook(rig, channels, n)
    for chunk in (1, 8, 32, 200):  # one piece, and pieces side by side on the worker threads
        np.testing.assert_allclose(rig.evaluate(channels, n, chunk=chunk), expected, atol=2e-6)


def test_evaluation_fills_a_given_buffer_and_follows_replaced_arrays():
    rng = np.random.default_rng(8)
    rig = _rig(rng, correctives=False)
    channels = {"jawOpen": rng.random(40), "head.roll": rng.uniform(-5, 5, 40)}
    buffer = np.full((40, rig.n_vertices, 3), np.nan, np.float32)
    assert rig.evaluate(channels, 40, out=buffer) is buffer
    np.testing.assert_allclose(buffer, _textbook(rig, channels, 40), atol=2e-6)
    rig.shape_deltas = rig.shape_deltas * 2  # a new array: the cached layout must not be reused
    np.testing.assert_allclose(rig.evaluate(channels, 40), _textbook(rig, channels, 40), atol=2e-6)
    with pytest.raises(ValueError, match="float32"):
        rig.evaluate(channels, 40, out=np.zeros((40, rig.n_vertices, 3)))


def test_euler_angles_read_back_the_angles_a_rotation_was_made_of():
    rng = np.random.default_rng(0)
    for angles in rng.uniform(-1.2, 1.2, (20, 3)):  # within ±69°: away from gimbal lock
        assert np.allclose(euler_angles(euler_matrices(angles)), angles)
