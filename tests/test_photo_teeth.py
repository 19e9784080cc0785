"""The teeth a photo shows between its lips: told from lips and cavity, and where its upper incisors end."""

import numpy as np
import pytest

from inference.io.images import load_rgb
from inference.render.photo_teeth import teeth_likeness, upper_teeth_edge

SKIN = np.array([205.0, 155.0, 137.0])
LIP, TOOTH, GAP = (190, 110, 110), (238, 232, 222), (60, 20, 25)
PPM = 2.0  # pixels per millimetre


def _mouth(rows: list[tuple[tuple[int, int, int], int]]) -> np.ndarray:
    """A 40 px wide image of horizontal bands (colour, height in px) from the top, with skin above and below."""
    bands = [(tuple(SKIN.astype(int)), 10), *rows, (tuple(SKIN.astype(int)), 10)]
    return np.vstack([np.tile(np.array(c, np.uint8), (h, 40, 1)) for c, h in bands])


def test_teeth_are_bright_and_near_white_lips_and_cavity_are_not():
    like = teeth_likeness(np.array([TOOTH, LIP, GAP, SKIN], np.uint8), SKIN)
    assert like[0] == 1.0
    assert like[1:].max() == 0.0  # lips are as saturated as skin, the gap is dark, skin itself is not a tooth


def test_the_upper_incisors_end_where_the_teeth_give_way_to_the_gap():
    image = _mouth([(LIP, 4), (TOOTH, 12), (GAP, 8), (LIP, 4)])  # lip point at row 10, teeth rows 14-25
    edge = upper_teeth_edge(image, (20, 10), (20, 38), SKIN, PPM)
    assert edge == pytest.approx(26, abs=1)


def test_no_edge_without_teeth_under_the_upper_lip():
    assert upper_teeth_edge(_mouth([(LIP, 4), (GAP, 20), (LIP, 4)]), (20, 10), (20, 38), SKIN, PPM) is None
    # teeth that start far below the lip are lower teeth, not the upper incisors
    lower_only = _mouth([(LIP, 4), (GAP, 14), (TOOTH, 6), (LIP, 4)])
    assert upper_teeth_edge(lower_only, (20, 10), (20, 38), SKIN, PPM) is None
    assert upper_teeth_edge(_mouth([(LIP, 2)]), (20, 10), (20, 11), SKIN, PPM) is None  # closed lips


def test_upper_teeth_end_on_the_lower_lip_or_a_crown_s_length_down():
    smile = _mouth([(LIP, 3), (TOOTH, 12), (LIP, 3)])  # the incisors' edges on the lower lip
    assert upper_teeth_edge(smile, (20, 10), (20, 28), SKIN, PPM) == pytest.approx(25, abs=1)
    both = _mouth([(LIP, 3), (TOOTH, 34), (LIP, 3)])  # upper and lower teeth meeting: 17 mm of teeth
    assert upper_teeth_edge(both, (20, 10), (20, 50), SKIN, PPM) == pytest.approx(13 + 22, abs=1)


def test_a_smiling_photo_s_incisor_edge_is_found_and_the_closed_mouth_s_is_not(shared_data):
    from inference.render.portrait_renderer import PortraitRenderer
    from inference.rigs.portrait import build_portrait_rig

    for name, shows_teeth in (("astronaut", True), ("flux_man_0324", False)):
        rig = build_portrait_rig(load_rgb(shared_data / f"portraits/{name}.png"), source=name)
        r = PortraitRenderer(rig, size=512, interior="drawn")
        m, ppm = r.framing.margin, r.framing.px_per_mm_out
        upper, lower = r.src_px[13] + m, r.src_px[14] + m
        edge = upper_teeth_edge(r.source, upper, lower, r.mouth.skin, ppm)
        if shows_teeth:
            assert edge is not None and upper[1] + 2 * ppm < edge < lower[1]
        else:
            assert edge is None
