"""The portrait face rig: real MediaPipe on real photos, shapes that move the right way by plausible amounts."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from inference.errors import InputError
from inference.geometry.raster import signed_areas
from inference.rigs import mediapipe_topology as mt
from inference.rigs.portrait import build_portrait_rig, portrait_rig_from_file
from inference.rigs.rig import FaceRig

REQUIRED = [
    "jawOpen", "mouthClose", "mouthFunnel", "mouthPucker", "mouthRollLower", "mouthRollUpper", "mouthShrugLower",
    "mouthShrugUpper", "mouthLeft", "mouthRight", "cheekPuff", "browInnerUp",
] + [f"{stem}{side}" for side in ("Left", "Right") for stem in (
    "mouthSmile", "mouthFrown", "mouthStretch", "mouthPress", "mouthLowerDown", "mouthUpperUp", "eyeBlink", "eyeWide",
    "eyeSquint", "browDown", "browOuterUp")]


def _pose(rig: FaceRig, **channels: float) -> np.ndarray:
    """Vertices in millimetres in the rig's head frame for one pose."""
    v = rig.evaluate(channels, 1)[0].astype(np.float64) * 1000
    return v


def _motion(rig: FaceRig, channel: str) -> np.ndarray:
    return _pose(rig, **{channel: 1.0}) - _pose(rig)


def test_mesh_is_a_clean_textured_face(rig):
    rig.validate()
    assert rig.n_vertices == 478 and len(rig.face_sizes) == 852 + 2 * 16
    assert rig.uvs.min() >= 0 and rig.uvs.max() <= 1 and rig.texture.shape == (512, 512, 3)
    # every polygon faces the camera side of the head (consistent outward winding)
    tri = rig.face_indices.reshape(-1, 3)
    v = rig.vertices
    normals = np.cross(v[tri[:, 1]] - v[tri[:, 0]], v[tri[:, 2]] - v[tri[:, 0]])
    assert (normals[:, 2] > 0).mean() > 0.9
    # metric: the face is 110-170 mm wide cheek to cheek, like an adult's
    width = np.linalg.norm(v[mt.CHEEK_EDGE["L"]] - v[mt.CHEEK_EDGE["R"]]) * 1000
    assert 110 < width < 170
    # the rest pose has the lips together; the photo's own pose (teeth showing) is kept for the renderer
    assert abs(v[13, 1] - v[14, 1]) * 1000 < 1.0
    assert (rig.photo_vertices[13, 1] - rig.photo_vertices[14, 1]) * 1000 > 3.0


def test_the_rest_pose_closes_a_broad_smile_without_folding_the_mesh(rig):
    """The built-in portrait smiles with her lips well apart; the rest pose closes them. As the camera sees them,
    a few slivers at the mouth's corners and under the nose turn over (4 of 852 triangles); moving only the lips
    turned 15 over, which the warp drew as a stair-stepped sliver on sealed lips."""
    tris = mt.tessellation_triangles()
    photo = np.sign(signed_areas(rig.photo_vertices[tris]))
    assert ((np.sign(signed_areas(rig.vertices[tris])) != photo) & (photo != 0)).sum() <= 5


def test_every_required_shape_exists_and_moves_millimetres(rig):
    for name in REQUIRED:
        assert name in rig.channels_used(), name
        peak = np.linalg.norm(_motion(rig, name), axis=1).max()
        assert 1.0 < peak < 45.0, (name, peak)  # a jaw opened wide moves the chin about 40 mm


def test_jaw_opens_the_mouth_15_to_35_mm_and_mouth_close_seals_it(rig):
    gap = lambda v: v[13, 1] - v[14, 1]  # noqa: E731
    opened = gap(_pose(rig, jawOpen=1.0)) - gap(_pose(rig))
    assert 15 <= opened <= 35
    half = _pose(rig, jawOpen=0.3, mouthClose=0.3)
    assert abs(gap(half)) < 0.15 * gap(_pose(rig, jawOpen=0.3))
    # the chin drops and moves back, the skull stays
    chin = _motion(rig, "jawOpen")[mt.CHIN]
    assert chin[1] < -10 and np.linalg.norm(_motion(rig, "jawOpen")[mt.FOREHEAD]) < 1e-3


def test_opening_the_jaw_bows_the_middle_of_the_upper_lip_up_and_leaves_its_sides(rig):
    """As on the GRID speakers (rigs/lip_bow.py): the inner edge's middle rises by 8-25 % of the gap, the outer edge
    less (the lip rolls out), the lip's sides and the point under the nose not at all."""
    moved = _motion(rig, "jawOpen")
    middle = moved[13, 1]
    assert 0.08 < middle / (middle - moved[14, 1]) < 0.25
    assert 0.4 * middle < moved[0, 1] < 0.9 * middle
    for side in (40, 270, 80, 310):  # the outer and inner edge, two thirds of the way to the corners
        assert moved[side, 1] < 0.15 * middle, side
    assert abs(moved[2, 1]) < 0.1 * middle


def test_opening_the_jaw_drops_the_lower_lips_sides_less_than_its_middle(rig):
    """As on the GRID speakers (rigs/lip_bow.py): three fifths of the way to a corner the lower lip's inner edge
    drops about 0.73 as far as its middle (0.62-0.82 per speaker), near the corner about half: the opening is a lens,
    not a box with the lower canines standing in its sides. The jaw alone dropped them 0.9 as far."""
    for jaw in (0.3, 1.0):
        drop = -(_pose(rig, jawOpen=jaw) - _pose(rig))[:, 1]
        for sides, low, high in (((88, 318), 0.62, 0.82), ((95, 324), 0.35, 0.65)):
            share = drop[list(sides)] / drop[14]
            assert ((low < share) & (share < high)).all(), (jaw, sides, share)


@pytest.mark.parametrize("side", ["Left", "Right"])
def test_blink_closes_the_lids(rig, side):
    s = side[0]
    up, lo = mt.EYE_LID_CENTRE[s]
    other_up, other_lo = mt.EYE_LID_CENTRE["R" if s == "L" else "L"]
    open_gap = _pose(rig)[up, 1] - _pose(rig)[lo, 1]
    closed = _pose(rig, **{f"eyeBlink{side}": 1.0})
    assert abs(closed[up, 1] - closed[lo, 1]) < 0.15 * open_gap
    assert closed[other_up, 1] - closed[other_lo, 1] == pytest.approx(open_gap, rel=0.1)  # the other eye stays open
    wide = _pose(rig, **{f"eyeWide{side}": 1.0})
    assert wide[up, 1] - wide[lo, 1] > 1.15 * open_gap


def test_pucker_and_funnel_narrow_the_mouth_and_push_the_lips_forward(rig):
    width = lambda v: np.linalg.norm(v[291] - v[61])  # noqa: E731
    rest = width(_pose(rig))
    assert width(_pose(rig, mouthPucker=1.0)) < 0.85 * rest
    assert width(_pose(rig, mouthFunnel=1.0)) < 0.95 * rest
    assert _motion(rig, "mouthPucker")[0, 2] > 3


# (shape, landmark, axis, sign): a point that must move along a head axis (0 x = subject's left, 1 up, 2 fwd)
DIRECTIONS = [
    ("mouthSmileLeft", 291, 1, +1), ("mouthSmileLeft", 291, 0, +1), ("mouthSmileRight", 61, 0, -1),
    ("mouthFrownLeft", 291, 1, -1), ("mouthStretchLeft", 291, 0, +1), ("mouthStretchRight", 61, 0, -1),
    ("mouthLeft", 0, 0, +1), ("mouthRight", 0, 0, -1), ("mouthRollLower", 14, 2, -1), ("mouthRollUpper", 13, 2, -1),
    ("mouthShrugLower", 17, 1, +1), ("mouthShrugUpper", 0, 1, +1), ("mouthUpperUpLeft", 267, 1, +1),
    ("mouthLowerDownLeft", 314, 1, -1), ("mouthLowerDownRight", 84, 1, -1), ("mouthPressLeft", 314, 1, +1),
    ("cheekPuff", 425, 0, +1), ("cheekPuff", 205, 0, -1), ("browInnerUp", 107, 1, +1), ("browInnerUp", 336, 1, +1),
    ("browDownLeft", 334, 1, -1), ("browOuterUpLeft", 300, 1, +1), ("browOuterUpRight", 70, 1, +1),
    ("eyeSquintLeft", 374, 1, +1), ("noseSneerLeft", 358, 1, +1), ("jawForward", 152, 2, +1),
    ("jawLeft", 152, 0, +1), ("jawRight", 152, 0, -1),
]


@pytest.mark.parametrize(("shape", "point", "axis", "sign"), DIRECTIONS)
def test_shapes_move_the_right_region_the_right_way(rig, shape, point, axis, sign):
    assert sign * _motion(rig, shape)[point, axis] > 1.0


def test_left_shapes_act_on_the_subjects_left(rig):
    x = rig.vertices[:, 0] - rig.vertices[[61, 291], 0].mean()
    for stem in ("mouthSmile", "browDown", "eyeBlink", "mouthUpperUp"):
        left = np.linalg.norm(_motion(rig, stem + "Left"), axis=1)
        assert left[x > 0.01].sum() > 5 * left[x < -0.01].sum(), stem


def test_head_and_gaze_drivers(rig):
    yawed = _pose(rig, **{"head.yaw": 10.0}) - _pose(rig)
    assert yawed[mt.NOSE_TIP, 0] > 2  # turns toward the character's left (+X)
    nod = _pose(rig, **{"head.pitch": 10.0}) - _pose(rig)
    assert nod[mt.NOSE_TIP, 1] < -2  # pitch + looks down
    look = _pose(rig, eyeLookOutLeft=1.0) - _pose(rig)
    assert look[mt.IRIS["L"][0], 0] > 1 and np.abs(look[mt.IRIS["R"][0]]).max() < 1e-6


def test_evaluation_is_vectorised_and_round_trips_through_the_file(rig, tmp_path):
    rng = np.random.default_rng(0)
    channels = {name: rng.uniform(0, 1, 90) for name in rig.shape_names}
    channels["head.yaw"] = rng.uniform(-10, 10, 90)
    frames = rig.evaluate(channels)
    assert frames.shape == (90, 478, 3)
    one = rig.evaluate({k: v[37] for k, v in channels.items()}, 1)[0]
    np.testing.assert_allclose(frames[37], one, atol=1e-6)
    path = tmp_path / "riggé folder" / "face rig.npz"
    path.parent.mkdir()
    rig.save(path)
    again = FaceRig.load(path)
    np.testing.assert_allclose(again.evaluate(channels), frames, atol=1e-6)
    assert again.drivers == rig.drivers and again.meta == rig.meta


def test_real_photos_in_many_image_formats(shared_data, tmp_path):
    src = Image.open(shared_data / "portraits" / "monalisa.png")  # RGBA
    assert src.mode == "RGBA"
    rgb = src.convert("RGB")
    variants = {
        "grey.png": rgb.convert("L"), "cmyk.jpg": rgb.convert("CMYK"), "rgba.png": src,
    }
    for name, im in variants.items():
        im.save(tmp_path / name)
    rotated = rgb.rotate(90, expand=True)  # stored sideways, EXIF says "rotate back"
    exif = Image.Exif()
    exif[0x0112] = 6
    rotated.save(tmp_path / "exif rotated é.jpg", exif=exif)
    rgb.save(tmp_path / "plain.png")
    reference = portrait_rig_from_file(tmp_path / "plain.png")
    for name in [*variants, "exif rotated é.jpg"]:
        rig = portrait_rig_from_file(tmp_path / name)
        assert "faces found" not in rig.meta["warnings"], name
        # the same face found in the same place (pixels), whatever the encoding or stored orientation
        px = float(rig.meta["pixels_per_metre"])
        moved = np.abs(rig.photo_vertices[:, :2] - reference.photo_vertices[:, :2]).mean() * px
        assert moved < 3.0, (name, moved)
    for photo in ("flux_man_0324.png", "flux_woman_0033.png"):
        rig = portrait_rig_from_file(shared_data / "portraits" / photo)
        gap = rig.evaluate({"jawOpen": 1.0}, 1)[0] * 1000
        assert 15 <= gap[13, 1] - gap[14, 1] <= 35, photo


def test_bad_photos_get_clear_messages(tmp_path):
    from skimage.data import astronaut

    blank = tmp_path / "no face.png"
    Image.fromarray(np.tile(np.linspace(0, 255, 256, dtype=np.uint8), (256, 1))).save(blank)
    with pytest.raises(InputError, match="No face found"):
        portrait_rig_from_file(blank)
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(InputError, match=r"not an image|truncated"):
        portrait_rig_from_file(corrupt)
    with pytest.raises(InputError, match="does not exist"):
        portrait_rig_from_file(tmp_path / "missing.jpg")
    face = astronaut()
    pair = np.full((512, 896, 3), 255, np.uint8)  # a wide photo: a big face and a smaller one
    pair[:, 384:], pair[:384, :384] = face, face[::4, ::4].repeat(3, 0).repeat(3, 1)
    rig = build_portrait_rig(pair)
    assert "2 faces" in rig.meta["warnings"]
    width = np.ptp(rig.photo_vertices[:, 0]) * float(rig.meta["pixels_per_metre"])
    assert width > 85  # the bigger face (about 93 px wide), not the one at 3/4 size
    small = np.asarray(Image.fromarray(face).resize((350, 350)))
    tiny = np.pad(small, ((81, 81), (81, 81), (0, 0)), mode="edge")
    assert "pixels tall" in build_portrait_rig(tiny).meta["warnings"]
