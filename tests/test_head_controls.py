"""The fitted 3-D head's points outside the face, which carry the photo there as the head moves (head_controls)."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from inference.geometry.rigid import kabsch
from inference.render.head_controls import FACE_CLEARANCE, head_controls
from inference.render.portrait_renderer import _person_mask, fitted_head
from inference.rigs import mediapipe_topology as mt
from tests.conftest import RENDER_SIZE, drawn_at

SIZE = RENDER_SIZE


def _turned(rig, renderer, **channels: float):
    """A frame's vertices and the head's rigid motion in it (R, t)."""
    verts = rig.evaluate(channels, 1)[0].astype(np.float64)
    rot, trans = kabsch(renderer.warp.rest[renderer.warp.skull], verts[renderer.warp.skull])
    return verts, rot, trans


def test_the_head_points_lie_outside_the_face_on_the_person(rig, renderer):
    controls = renderer.warp.head
    assert controls is not None and len(controls.src) > 100
    src = renderer.src_px
    face_height = np.linalg.norm(src[mt.FOREHEAD] - src[mt.CHIN])
    outline = src[list(mt.FACE_OVAL)].astype(np.float32)
    inside = np.array([cv2.pointPolygonTest(outline, (float(x), float(y)), True) for x, y in controls.src])
    assert inside.max() < -0.9 * FACE_CLEARANCE * face_height
    m = renderer.framing.margin
    person = _person_mask(renderer.source)[m:m + SIZE, m:m + SIZE]
    at = np.minimum(controls.src.astype(int), SIZE - 1)
    assert np.median(person[at[:, 1], at[:, 0]]) > 0.9  # the skull's, the ears' and the neck's points (and the rim)
    # above the eyes (the hair over the skull) and under the chin (the neck) alike
    assert (controls.src[:, 1] < src[mt.FOREHEAD, 1]).sum() > 30
    assert (controls.src[:, 1] > src[mt.CHIN, 1]).sum() > 30


def test_the_skull_moves_with_the_head_and_the_neck_less_the_lower_it_is(rig, renderer):
    controls = renderer.warp.head
    verts, rot, trans = _turned(rig, renderer, **{"head.yaw": 20.0, "head.pitch": 5.0})
    posed = controls.posed(verts, rot, trans)
    skull = controls.head_share == 1.0
    assert skull.sum() > 50
    np.testing.assert_allclose(posed[skull], controls.rest_m[skull] @ rot.T + trans, atol=1e-7)
    moved = np.linalg.norm(posed - controls.rest_m, axis=1)
    below_chin = controls.src[:, 1] - renderer.src_px[mt.CHIN, 1]
    neck = below_chin > 0
    # the neck moves less than the head's motion would take it, and less the lower it lies
    head_motion = np.linalg.norm(controls.rest_m @ rot.T + trans - controls.rest_m, axis=1)
    assert np.median(moved[neck] / head_motion[neck]) < 0.7
    assert np.corrcoef(below_chin[neck], moved[neck])[0, 1] < -0.5


def test_a_still_head_moves_nothing_and_the_jaw_moves_the_skin_under_the_chin(rig, renderer):
    controls = renderer.warp.head
    verts, rot, trans = _turned(rig, renderer)
    np.testing.assert_allclose(controls.posed(verts, rot, trans), controls.rest_m, atol=1e-7)  # 0.1 µm
    verts, rot, trans = _turned(rig, renderer, jawOpen=0.8)
    drop_mm = (controls.rest_m[:, 1] - controls.posed(verts, rot, trans)[:, 1]) * 1000.0
    assert drop_mm.max() > 2.0  # the jaw's skin goes down with it
    assert np.all(np.abs(drop_mm[controls.src[:, 1] < renderer.src_px[mt.NOSE_TIP, 1]]) < 0.1)  # the skull does not


def test_a_head_without_a_photo_view_gives_no_points(rig, renderer):
    head = fitted_head(rig)
    assert head is not None
    no_view = dataclasses.replace(head, photo_pose=None)
    assert head_controls(no_view, rig, renderer.framing, renderer.src_px, None) is None


def test_the_side_of_the_head_comes_into_view_on_a_turn(rig, renderer):
    """Turned 25 degrees, the near side of the head (the temple and the hair over the ear, behind the face's
    edge) moves less than the face's edge beside it: it lies deeper, so the side of the head widens in the picture
    as it turns toward the camera. Moved as one card with the face's outline, it hardly widened."""
    src = renderer.src_px
    for yaw, edge in ((25.0, 234), (-25.0, 454)):  # the face's edge at the eyes on the side that turns to the camera
        backward, geo = renderer.warp.frame_map(*[rig.evaluate({"head.yaw": yaw}, 1)[0]] * 2)
        edge_shift = geo.dest[edge, 0] - src[edge, 0]
        beyond = src[edge] + np.array([np.sign(src[edge, 0] - src[mt.NOSE_TIP, 0]) * 0.12, 0.0]) * np.linalg.norm(
            src[mt.FOREHEAD] - src[mt.CHIN])
        side_shift = drawn_at(backward, beyond)[0] - beyond[0]
        assert abs(edge_shift) > 10.0
        assert 0.2 < side_shift / edge_shift < 0.75  # 0.44-0.61; as a card with the outline 0.85-0.87
