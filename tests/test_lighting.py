"""The photo's light read off the face's shading (render/lighting.py): known lights on a synthetic face-like
surface come back, and a painting famous for its light from the upper left reads that way."""

import numpy as np
import pytest

from inference.colour.srgb import linear_to_srgb, srgb_to_linear
from inference.render.lighting import FRONT_LIGHT, light_of_photo

SKIN = np.array([0.80, 0.60, 0.50])


def _lit_dome(direction, ambient, light_colour=(1.0, 1.0, 1.0), size=200):
    """An image of a half-sphere of skin facing the camera (shaded in linear light, stored sRGB-encoded as
    photos are), and its points' pixels and normals."""
    direction = np.asarray(direction, float) / np.linalg.norm(direction)
    ys, xs = np.mgrid[0:size, 0:size]
    nx, ny = (xs + 0.5 - size / 2) / (size / 2), -(ys + 0.5 - size / 2) / (size / 2)
    nz = np.sqrt(np.clip(1 - nx**2 - ny**2, 0, None))
    inside = nx**2 + ny**2 < 0.9
    shade = ambient + (1 - ambient) * np.clip(nx * direction[0] + ny * direction[1] + nz * direction[2], 0, None)
    rgb = linear_to_srgb(srgb_to_linear(SKIN) * np.asarray(light_colour) * shade[..., None] * 0.9)
    rgb[~inside] = 0
    rng = np.random.default_rng(0)
    pick = rng.choice(np.flatnonzero(inside.ravel()), 400, replace=False)
    pixels = np.column_stack([xs.ravel()[pick], ys.ravel()[pick]]).astype(float)
    normals = np.column_stack([nx.ravel()[pick], ny.ravel()[pick], nz.ravel()[pick]])
    return (rgb * 255).astype(np.uint8), pixels, normals


@pytest.mark.parametrize("direction", [(-0.5, 0.4, 0.77), (0.3, 0.6, 0.74), (0.0, 0.0, 1.0)])
def test_a_known_light_comes_back(direction):
    rgb, pixels, normals = _lit_dome(direction, 0.4)
    light = light_of_photo(rgb, pixels, normals, np.arange(len(pixels)))
    truth = np.asarray(direction) / np.linalg.norm(direction)
    assert np.degrees(np.arccos(np.clip(light.direction @ truth, -1, 1))) < 8.0
    assert light.ambient == pytest.approx(0.4, abs=0.1)
    assert np.allclose(light.colour, 1.0, atol=0.05)  # skin-coloured skin under white light: no cast


def test_a_warm_light_tints_and_the_tint_is_bounded():
    rgb, pixels, normals = _lit_dome((0.0, 0.3, 0.95), 0.5, light_colour=(1.3, 1.0, 0.6))
    light = light_of_photo(rgb, pixels, normals, np.arange(len(pixels)))
    assert light.colour[0] > 1.05 > 0.95 > light.colour[2]
    assert light.colour.max() <= 1.15 + 1e-9 and light.colour.min() >= 0.85 - 1e-9
    assert light.colour.mean() == pytest.approx(1.0, abs=0.02)


def test_too_few_skin_points_fall_back_to_a_front_light():
    rgb, pixels, normals = _lit_dome((0.5, 0.5, 0.7), 0.3)
    assert light_of_photo(rgb, pixels[:10], normals, np.arange(10)) is FRONT_LIGHT


def test_the_mona_lisa_is_lit_from_the_upper_left(shared_data):
    from inference.render.portrait_renderer import PortraitRenderer
    from inference.rigs.portrait import portrait_rig_from_file

    renderer = PortraitRenderer(portrait_rig_from_file(shared_data / "portraits/monalisa.png"), size=256,
                                person_mask=False)
    light = renderer.light
    assert light.direction[0] < -0.2 and light.direction[1] > 0.1  # from the viewer's left, above
    assert light.colour[2] < 0.95  # the varnish's yellow
