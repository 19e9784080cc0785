"""The head that ships with vividtalk (ICT-FaceKit): complete, rigged, and read from a checkout as users get it."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest

from inference.colour.palette import Palette
from inference.colour.srgb import LUMINANCE
from inference.errors import InputError
from inference.motion.arkit import ARKIT_NAMES
from inference.rigs.ict import IRIS_MATERIALS, builtin_head_path, load_ict_rig, part_colours
from inference.rigs.rig import FaceRig


@pytest.fixture(scope="module")
def head() -> FaceRig:
    return load_ict_rig()


def _part_vertices(rig: FaceRig, material: str) -> np.ndarray:
    faces = np.flatnonzero(np.array(rig.material_names)[rig.face_materials] == material)
    polygons = rig.polygons()
    return np.unique(np.concatenate([polygons[i] for i in faces]))


def test_the_head_ships_with_its_licence():
    assert builtin_head_path().is_file()
    licence = builtin_head_path().with_name("ICT-FaceKit-LICENSE.txt").read_text(encoding="utf-8")
    assert "MIT License" in licence and "Institute for Creative Technologies" in licence
    assert builtin_head_path().stat().st_size < 8 * 2**20


def test_the_head_is_complete(head):
    assert set(head.shape_names) == set(ARKIT_NAMES)
    assert head.joint_names == ["root", "neck", "head", "jaw", "eye_L", "eye_R"]
    assert {"M_Face", "M_BackHead", "M_Teeth", "M_GumsTongue", "M_ScleraLeft", "M_IrisRight",
            "M_EyeLashes"} <= {head.material_names[i] for i in np.unique(head.face_materials)}
    extent = head.vertices.max(0) - head.vertices.min(0)
    assert extent[2] >= 0.17 and extent[1] >= 0.25  # front to back, chin-to-crown plus neck


def test_each_part_carries_its_colour_in_the_colour_a_photo_holds(head, tmp_path):
    """The rig file carries each part's base colour (what Blender's materials show): red gums, white teeth; for a
    black-and-white photo none of them has colour, for a sepia one they take its tint, and the irises are the
    photo's own."""
    names = head.material_names
    colours = head.material_colours
    gums, teeth = colours[names.index("M_GumsTongue")], colours[names.index("M_Teeth")]
    assert gums[0] > 2 * gums[2] and teeth.min() > 0.7
    grey = part_colours(names, Palette(0.0, np.ones(3)), iris_srgb=np.array([0.4, 0.4, 0.4]))
    assert np.ptp(grey, axis=1).max() < 1e-9
    kept = [i for i, n in enumerate(names) if n not in IRIS_MATERIALS]
    assert np.allclose(grey[kept] @ LUMINANCE, colours[kept] @ LUMINANCE, rtol=0.05)  # as light or dark
    sepia_tint = np.array([1.06, 0.98, 0.85]) / (np.array([1.06, 0.98, 0.85]) @ LUMINANCE)  # none past white
    sepia = part_colours(names, Palette(0.0, sepia_tint))
    assert np.allclose(sepia[kept] / sepia[kept].sum(1, keepdims=True), sepia_tint / sepia_tint.sum(), atol=1e-6)
    iris = grey[names.index("M_IrisLeft")]
    assert np.allclose(iris, 0.133, atol=0.002)  # sRGB 0.4 in linear light, as Blender's colours are
    head.save(tmp_path / "head.npz")
    assert np.array_equal(FaceRig.load(tmp_path / "head.npz").material_colours, head.material_colours)
    damaged = dataclasses.replace(head, material_colours=np.full_like(head.material_colours, np.nan))
    damaged.save(tmp_path / "damaged.npz")
    with pytest.raises(InputError, match="material_colours"):
        FaceRig.load(tmp_path / "damaged.npz")


def test_jaw_open_parts_the_incisors_20_to_30_mm_with_the_lower_teeth_on_the_jaw(head):
    teeth = _part_vertices(head, "M_Teeth")
    jaw = head.weights[:, head.joint_names.index("jaw")]
    lower, upper = teeth[jaw[teeth] > 0.99], teeth[jaw[teeth] < 0.01]
    assert len(lower) > 1000 and len(upper) > 1000
    rest, opened = head.evaluate({}, 1)[0], head.evaluate({"jawOpen": 1.0}, 1)[0]
    front = lambda idx, v: idx[(v[idx, 2] > v[teeth, 2].max() - 0.01) & (np.abs(v[idx, 0]) < 0.01)]  # noqa: E731
    gap = lambda v: v[front(upper, rest), 1].min() - v[front(lower, rest), 1].max()  # noqa: E731
    assert 20 <= (gap(opened) - gap(rest)) * 1000 <= 30
    assert np.abs(opened[upper] - rest[upper]).max() < 1e-6  # the upper teeth stay with the skull


def test_opening_the_jaw_raises_the_middle_of_the_upper_lip(head):
    """ICT's own jawOpen pulls the upper lip down a little; real speakers' rises in the middle (rigs/lip_bow.py)."""
    moved = (head.evaluate({"jawOpen": 1.0}, 1)[0] - head.evaluate({}, 1)[0]) * 1000
    upper, lower = head.landmarks["lip_upper"], head.landmarks["lip_lower"]
    share = moved[upper, 1] / (moved[upper, 1] - moved[lower, 1])
    assert 0.08 < share < 0.25
    for corner in ("mouth_corner_L", "mouth_corner_R"):
        assert moved[head.landmarks[corner], 1] < 0  # the corners come down with the jaw


def test_tongue_out_brings_the_tongue_past_the_lips(head):
    tongue = _part_vertices(head, "M_GumsTongue")
    rest, out = head.evaluate({}, 1)[0], head.evaluate({"tongueOut": 1.0}, 1)[0]
    lips = head.landmarks["lip_lower"]
    assert out[tongue, 2].max() > rest[lips, 2] + 0.003
    assert out[tongue, 2].max() - rest[tongue, 2].max() > 0.005


def test_the_eyes_turn_on_their_joints(head):
    centre = head.joint_positions[head.joint_names.index("eye_L")]
    rest, looking = head.evaluate({}, 1)[0], head.evaluate({"eyeLookOutLeft": 1.0}, 1)[0]
    iris = _part_vertices(head, "M_IrisLeft")
    front = iris[rest[iris, 2] > centre[2] + 0.01]  # the iris as seen (ICT's iris layer lines the eyeball)
    assert looking[front, 0].mean() - rest[front, 0].mean() > 0.004  # the left eye looks out, toward +X
    radius = np.linalg.norm(rest[iris] - centre, axis=1)
    np.testing.assert_allclose(np.linalg.norm(looking[iris] - centre, axis=1), radius, atol=1e-6)


def test_cli_builds_the_built_in_head(tmp_path):
    run = subprocess.run([sys.executable, "-m", "inference", "rig", "--ict", "-o", str(tmp_path / "head.npz")],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    rig = FaceRig.load(tmp_path / "head.npz")
    assert len(rig.shape_names) == 52 and rig.material_names and rig.face_materials is not None


# ------------------------------------------------------------------------------------------ a user's checkout
def _write_obj(path, vertices, faces=None, uvs=None, material=None) -> None:
    lines = [f"v {x} {y} {z}" for x, y, z in vertices]
    if faces is not None:
        lines += [f"vt {u} {v}" for u, v in uvs]
        lines.append(f"usemtl {material}")
        lines += ["f " + " ".join(f"{i + 1}/{i + 1}" for i in face) for face in faces]
    path.write_text("# a tiny ICT-FaceKit-shaped model\n" + "\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def tiny_checkout(tmp_path):
    """A checkout in ICT-FaceKit's layout (FaceXModel/: neutral OBJ, one OBJ per expression, vertex_indices.json)
    with a four-vertex face."""
    folder = tmp_path / "ICT-FaceKit" / "FaceXModel"
    folder.mkdir(parents=True)
    neutral = np.array([[0, 0, 10], [2, 0, 10], [2, 2, 10], [0, 2, 10]], float)
    _write_obj(folder / "generic_neutral_mesh.obj", neutral, [(0, 1, 2), (0, 2, 3)],
               [(0, 0), (1, 0), (1, 1), (0, 1)], "M_Face")
    moves = {"jawOpen": (0, -1.0), "eyeBlink_L": (2, -0.5), "browInnerUp_L": (3, 0.3), "browInnerUp_R": (2, 0.2)}
    for name, (vertex, dy) in moves.items():
        moved = neutral.copy()
        moved[vertex, 1] += dy
        _write_obj(folder / f"{name}.obj", moved)
    (folder / "vertex_indices.json").write_text(json.dumps({"expressions": list(moves),
                                                            "idx_to_landmark_verts": [0, 1, 2, 3] * 17}))
    return folder.parent


def test_a_checkout_as_downloaded_becomes_a_rig(tiny_checkout, tmp_path):
    root = tiny_checkout
    run = subprocess.run([sys.executable, "-m", "inference", "rig", "--ict", str(root), "-o",
                          str(tmp_path / "mine.npz")], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    rig = FaceRig.load(tmp_path / "mine.npz")
    assert sorted(rig.shape_names) == ["browInnerUp", "eyeBlinkLeft", "jawOpen"]
    assert rig.shape("jawOpen")[0, 1] == pytest.approx(-0.01)  # centimetres to metres
    brow = rig.shape("browInnerUp")  # the split pair merged
    assert brow[3, 1] == pytest.approx(0.003) and brow[2, 1] == pytest.approx(0.002)
    assert rig.material_names == ["M_Face"] and rig.uvs.shape == (6, 2)


@pytest.mark.parametrize("damage,message", [
    (lambda f: (f / "jawOpen.obj").unlink(), "Cannot read"),
    (lambda f: (f / "jawOpen.obj").write_text("v 0 0 0\n"), "has 1 vertices"),
    (lambda f: (f / "vertex_indices.json").write_text("{"), "vertex index file"),
    (lambda f: (f / "vertex_indices.json").write_text('{"expressions": [], "idx_to_landmark_verts": [99]}'),
     "lists no expressions"),
    (lambda f: (f / "vertex_indices.json").write_text('{"expressions": ["jawOpen"], "idx_to_landmark_verts": [9]}'),
     "68 landmark"),
    (lambda f: (f / "eyeBlink_L.obj").write_text("v 0 0 x\n" * 4), "not numbers"),
])
def test_a_damaged_checkout_says_what_is_wrong(tiny_checkout, damage, message):
    root = tiny_checkout
    damage(root / "FaceXModel")
    with pytest.raises(InputError, match=message):
        load_ict_rig(root)
