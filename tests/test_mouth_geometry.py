"""The mouth interior from the fitted 3-D head (the renderer's default): the jaw read
off the portrait rig's frames, and teeth, gums and tongue seen through the opened lips."""

import numpy as np
import pytest

from inference.io.images import load_rgb
from inference.render.portrait_renderer import PortraitRenderer
from inference.rigs import mediapipe_topology as mt
from inference.rigs.portrait import build_portrait_rig, default_portrait_rig


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


def test_lips_apart_in_the_photo_have_the_teeth_apart_behind_them(renderer):
    """A photo's parted lips are a rest: the lower incisors' edge shows 2 mm above the lower lip, not the whole
    row of lower teeth and the gum under it (teeth in contact behind the parted lips); sealing the lips (P, B,
    M) brings the teeth together again. Lips together in the photo open nothing."""
    rig = default_portrait_rig()  # the astronaut: a smile, lips apart
    r = PortraitRenderer(rig, size=384)
    interior = r.mouth.interior
    assert interior.rest_jaw > 0.05
    ppm = r.framing.px_per_mm_out
    rest = rig.vertices.astype(np.float64)
    parted = interior.lower_edge_y(interior.posed(rest)[0])
    assert parted == pytest.approx(r.src_px[14, 1] - 2.0 * ppm, abs=0.5 * ppm)
    assert interior.lower_edge_y(interior.posed(rest, lip_seal=1.0)[0]) < parted - ppm
    assert renderer[1].mouth.interior.rest_jaw == 0.0  # flux_man_0324: lips together


def test_lips_together_in_the_photo_part_on_the_lower_incisors_edge(renderer):
    """The lower lip rests on the lower incisors: where the photo's lips meet, the fitted head's closed teeth put
    the incisors' edge under the lips' meeting line, and it stayed 1.6 mm under the parting lower lip, so no
    lower tooth ever showed. Now, open, the edge is at the lower lip's inner edge; behind lips just parted the
    teeth part half as fast as the lips."""
    rig, r = renderer
    interior = r.mouth.interior
    ppm = r.framing.px_per_mm_out
    assert interior.lift_jaw > 0.0 and interior.rest_jaw == 0.0
    for jaw in (0.3, 0.6):
        verts = rig.evaluate({"jawOpen": jaw})[0].astype(np.float64)
        lip = r.framing.project(verts[mt.LOWER_LIP_MIDDLE])[1]
        assert interior.lower_edge_y(interior.posed(verts)[0]) == pytest.approx(lip, abs=0.5 * ppm)
    rest, barely = (rig.evaluate({"jawOpen": j})[0].astype(np.float64) for j in (0.0, 0.05))
    lip_drop = r.framing.project(barely[mt.LOWER_LIP_MIDDLE])[1] - r.framing.project(rest[mt.LOWER_LIP_MIDDLE])[1]
    teeth_drop = interior.lower_edge_y(interior.posed(barely)[0]) - interior.lower_edge_y(interior.posed(rest)[0])
    assert lip_drop > 0.5 * ppm and teeth_drop == pytest.approx(0.5 * lip_drop, abs=0.15 * ppm)


def test_open_mouth_shows_teeth_and_a_shaded_interior(renderer):
    rig, r = renderer
    drawn = PortraitRenderer(rig, size=512, interior="drawn")
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


@pytest.mark.parametrize("turn", [{"head.yaw": 15.0}, {"head.yaw": -15.0}, {"head.pitch": 10.0},
                                  {"head.roll": 8.0}])
def test_the_teeth_stay_behind_the_lips_when_the_head_turns(renderer, turn):
    """The interior turns with the head about a point behind the upper lip: its incisors' edge stays under the
    turned upper lip (it drifted by a centimetre when turned about the wrong point). The lip sits 7.5 mm in front
    of the edge, so a 15 degree turn moves it about 2 mm more than the teeth: parallax, not drift."""
    rig, r = renderer
    interior = r.mouth.interior
    ppm = r.framing.px_per_mm_out

    def tip_and_lip(shapes):
        verts = rig.evaluate({**shapes, "jawOpen": 0.5})[0].astype(np.float64)
        return interior.incisor_edge_px(verts) - r.framing.project(verts)[13]

    rest, turned = tip_and_lip({}), tip_and_lip(turn)
    assert np.abs(turned - rest).max() < 3.5 * ppm


def test_every_tooth_is_wound_outward():
    """The renderer culls the teeth's back faces as it does the gums', which holds only while every tooth of the
    shipped head is a closed surface wound outward: each directed edge once, a positive enclosed volume."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    from inference.render.mouth_geometry import _interior_triangles
    from inference.rigs.ict import load_ict_rig

    head = load_ict_rig()
    triangles, kind = _interior_triangles(head)
    teeth = triangles[kind == 0]
    points = head.vertices.astype(np.float64)
    directed = np.concatenate([teeth[:, [0, 1]], teeth[:, [1, 2]], teeth[:, [2, 0]]])
    assert len(np.unique(directed, axis=0)) == len(directed)  # neighbours run each shared edge opposite ways
    assert len(np.unique(np.sort(directed, axis=1), axis=0)) * 2 == len(directed)  # closed: every edge twice
    n = len(points)
    count, tooth = connected_components(coo_matrix((np.ones(len(directed)), tuple(directed.T)), (n, n)),
                                        directed=False)
    a, b, c = (points[teeth[:, k]] for k in range(3))
    volume = np.einsum("ij,ij->i", a, np.cross(b, c)) / 6.0  # closed surfaces: the origin does not matter
    owners = np.unique(tooth[teeth[:, 0]])
    assert len(owners) == 32
    assert (np.bincount(tooth[teeth[:, 0]], weights=volume, minlength=count)[owners] > 0).all()


def test_culling_to_the_lip_loop_changes_nothing_inside_it(renderer):
    """Triangles wholly outside the inner-lip loop's hull are skipped (most of them: the lips cover them), and
    every pixel whose centre lies inside the loop comes out the same."""
    import cv2

    rig, r = renderer
    interior = r.mouth.interior
    verts = rig.evaluate({"jawOpen": 0.5, "head.yaw": 6.0})[0].astype(np.float64)
    loop = r.framing.project(verts)[[*mt.LIP_UPPER_INNER, *mt.LIP_LOWER_INNER[::-1]]]
    x0, y0 = np.floor(loop.min(0)).astype(int) - 6
    x1, y1 = np.ceil(loop.max(0)).astype(int) + 6
    box = (int(x0), int(y0), int(x1), int(y1))
    assert len(interior.frame(verts, box, loop).corners) < 0.5 * len(interior.frame(verts, box, loop, False).corners)
    ys, xs = np.mgrid[y0:y1, x0:x1] + 0.5
    contour = loop.astype(np.float32).reshape(-1, 1, 2)
    inside = np.array([[cv2.pointPolygonTest(contour, (float(x), float(y)), False) for x, y in zip(row_x, row_y,
                                                                                                   strict=True)]
                       for row_x, row_y in zip(xs, ys, strict=True)]) >= 0
    culled, whole = interior.paint(box, verts, loop), interior.paint(box, verts, loop, cull=False)
    assert inside.sum() > 100 and np.array_equal(culled[inside], whole[inside])


def test_the_lips_shade_the_inside_from_a_light_above(renderer):
    """Direct light reaches a point of the interior only through the opening: from straight ahead everything
    the opening shows is lit; the higher the light, the more the upper lip shades, and from 35 degrees above
    the back of the mouth gets no direct light at all."""
    from dataclasses import replace

    import cv2

    rig, r = renderer
    interior = r.mouth.interior
    verts = rig.evaluate({"jawOpen": 0.5})[0].astype(np.float64)
    loop = r.framing.project(verts)[[*mt.LIP_UPPER_INNER, *mt.LIP_LOWER_INNER[::-1]]]
    cam, *_ = interior.posed(verts)
    from inference.render.mouth_geometry import project

    px = interior.to_output_px(project(cam, interior.focal, interior.photo_size))
    behind_mm = -cam[:, 2] * 1000.0 + cam[interior.edge, 2] * 1000.0  # behind the incisors' edge
    contour = loop.astype(np.float32).reshape(-1, 1, 2)
    seen = np.array([cv2.pointPolygonTest(contour, (float(x), float(y)), True) > 2.0 for x, y in px])
    light = interior.light
    lit = {}
    try:
        for degrees in (0, 20, 35):
            up = np.radians(degrees)
            interior.light = replace(light, direction=np.array([0.0, np.sin(up), np.cos(up)]))
            lit[degrees] = interior._through_the_lips(cam, px, loop, interior.lips_depth_mm(cam))
    finally:
        interior.light = light
    assert lit[0][seen].min() > 0.9
    deep = seen & (behind_mm > 25.0)
    assert deep.any() and lit[35][deep].max() < 0.1
    assert lit[0][seen].sum() > lit[20][seen].sum() > lit[35][seen].sum()  # the higher the light, the less enters
    assert lit[20][seen].max() > 0.5  # part of what is seen still catches the light


def test_the_teeth_keep_their_crowns_and_lose_their_roots():
    """ICT-FaceKit's teeth come with their roots (an upper central incisor is 28 mm tall); only the crowns are
    drawn, so no root shows through a mouth corner on a turn."""
    from inference.render.mouth_geometry import _interior_triangles, _without_roots
    from inference.rigs.ict import load_ict_rig

    head = load_ict_rig()
    triangles, kind = _interior_triangles(head)
    kept, kept_kind = _without_roots(head, triangles, kind)
    assert (kept_kind == 1).sum() == (kind == 1).sum()  # gums and tongue untouched
    assert 0.3 < (kept_kind == 0).sum() / (kind == 0).sum() < 0.7
    mm = head.vertices.astype(np.float64) * 1000.0
    upper = head.weights[:, head.joint_names.index("jaw")] < 0.5
    front = np.abs(mm[:, 0]) < 4.0

    def central_incisor_height(tris: np.ndarray) -> float:
        corners = np.unique(tris)
        return float(np.ptp(mm[corners[upper[corners] & front[corners]], 1]))

    whole = central_incisor_height(triangles[kind == 0])
    assert whole > 20.0  # crown and root
    assert central_incisor_height(kept[kept_kind == 0]) < 0.7 * whole  # the crown, and triangles reaching past it
