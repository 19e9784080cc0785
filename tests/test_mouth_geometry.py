"""The mouth interior from the fitted 3-D head (work in progress, not yet the renderer's default): the jaw read
off the portrait rig's frames, and teeth, gums and tongue seen through the opened lips."""

import numpy as np
import pytest

from inference.io.images import load_rgb
from inference.render.portrait_renderer import PortraitRenderer
from inference.rigs import mediapipe_topology as mt
from inference.rigs.portrait import build_portrait_rig


@pytest.fixture(scope="module")
def renderer(shared_data):
    rig = build_portrait_rig(load_rgb(shared_data / "portraits/flux_man_0324.png"), source="flux_man_0324")
    return rig, PortraitRenderer(rig, size=512, interior="geometry")


def test_jaw_and_head_motion_are_read_off_the_portrait_frames(renderer):
    rig, r = renderer
    interior = r.mouth.interior
    assert interior is not None
    for jaw in (0.0, 0.25, 0.6, 1.0):
        read, rot, move = interior.jaw_open(rig.evaluate({"jawOpen": jaw})[0].astype(np.float64))
        assert read == pytest.approx(jaw, abs=0.02)
        assert np.allclose(rot, np.eye(3), atol=1e-6) and np.abs(move).max() < 1e-6
    _, rot, _ = interior.jaw_open(rig.evaluate({"head.yaw": 10.0, "jawOpen": 0.5})[0].astype(np.float64))
    assert np.degrees(np.arccos((np.trace(rot) - 1) / 2)) == pytest.approx(10.0, abs=1.0)


def test_open_mouth_shows_teeth_and_a_shaded_interior(renderer):
    rig, r = renderer
    drawn = PortraitRenderer(rig, size=512)
    verts = rig.evaluate({"jawOpen": 0.7})[0]
    dest = r.framing.project(verts.astype(np.float64))
    import cv2

    loop = dest[[*mt.LIP_UPPER_INNER, *mt.LIP_LOWER_INNER[::-1]]]
    inside = np.zeros((512, 512), np.uint8)
    cv2.fillPoly(inside, [np.round(loop).astype(np.int32)], 1)
    inside = cv2.erode(inside, np.ones((3, 3), np.uint8)).astype(bool)
    frame = r.render(verts, 0.0)
    pixels = frame[inside].astype(np.float64) / 255.0
    luma = pixels @ [0.299, 0.587, 0.114]
    chroma = pixels.max(1) - pixels.min(1)
    assert ((luma > 0.35) & (chroma < 0.15)).mean() > 0.01  # some teeth: bright and near white
    assert luma.std() > 0.05  # surfaces at different depths, not one flat fill
    assert not np.array_equal(frame, drawn.render(verts, 0.0))  # the option changes the interior only
    outside = ~cv2.dilate(inside.astype(np.uint8), np.ones((25, 25), np.uint8)).astype(bool)
    assert np.array_equal(frame[outside], drawn.render(verts, 0.0)[outside])
