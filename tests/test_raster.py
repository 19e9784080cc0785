"""Triangles rasterised with array operations (inference/geometry/raster.py): the pixels, the owners and the
barycentric coordinates the skin texture and the renderer build on."""

from __future__ import annotations

import numpy as np
import pytest

from inference.geometry import raster


def _pixels_list(coverage: raster.Coverage) -> list[tuple[int, int]]:
    return list(zip(coverage.ys.tolist(), coverage.xs.tolist(), strict=True))


def _pixels(coverage: raster.Coverage) -> set[tuple[int, int]]:
    return set(_pixels_list(coverage))


def test_a_triangle_covers_the_pixels_whose_centres_lie_inside_it():
    tri = np.array([[[2.0, 3.0], [40.0, 7.0], [15.0, 33.0]]])
    cov = raster.cover(tri, (50, 60))
    ys, xs = np.mgrid[0:50, 0:60]
    px, py = xs + 0.5, ys + 0.5
    a, b, c = tri[0]

    def side(p, q):
        return (q[0] - p[0]) * (py - p[1]) - (q[1] - p[1]) * (px - p[0])

    inside = (side(a, b) >= 0) & (side(b, c) >= 0) & (side(c, a) >= 0)
    assert _pixels(cov) == set(zip(*np.nonzero(inside), strict=True))
    assert abs(len(cov) - 0.5 * abs(np.cross(b - a, c - a))) < 0.05 * len(cov)  # about its area


def test_barycentric_coordinates_reproduce_anything_linear_on_the_triangle():
    tri = np.array([[[5.3, 1.2], [30.8, 12.1], [9.9, 28.4]]])
    cov = raster.cover(tri, (32, 32))
    values = np.array([[1.0, -2.0, 7.5]])  # a linear function's values at the corners
    # the same function at the pixel centres, from the plane through the corners
    m = np.column_stack([tri[0], np.ones(3)])
    coef = np.linalg.solve(m, values[0])
    expected = coef[0] * (cov.xs + 0.5) + coef[1] * (cov.ys + 0.5) + coef[2]
    np.testing.assert_allclose(cov.interpolate(values), expected, atol=1e-4)
    np.testing.assert_allclose(cov.bary.sum(1), 1, atol=1e-6)
    assert (cov.bary >= 0).all()


def test_neighbours_sharing_an_edge_leave_no_crack_and_overlap_only_with_padding():
    quad = np.array([[[4.0, 4.0], [28.0, 6.0], [26.0, 29.0]], [[4.0, 4.0], [26.0, 29.0], [3.0, 27.0]]])
    tight = raster.cover(quad, (32, 32))
    padded = raster.cover(quad, (32, 32), pad=0.5)
    assert len(_pixels(tight)) == len(tight)  # no pixel counted twice
    assert _pixels(tight) <= _pixels(padded) and len(padded) > len(_pixels(padded))  # the pad overlaps
    one = raster.one_per_pixel(padded, (32, 32))
    assert _pixels(one) == _pixels(padded) and len(one) == len(_pixels(padded))


def test_a_sliver_thinner_than_a_pixel_is_kept_by_the_pad():
    sliver = np.array([[[2.0, 10.2], [30.0, 10.3], [30.0, 10.4]]])
    assert len(raster.cover(sliver, (20, 40))) == 0
    assert len(raster.cover(sliver, (20, 40), pad=0.5)) >= 20


def test_the_nearest_surface_owns_each_pixel():
    back = [[0.0, 0.0], [20.0, 0.0], [0.0, 20.0]]
    front = [[2.0, 2.0], [12.0, 2.0], [2.0, 12.0]]
    cov = raster.cover(np.array([back, front]), (20, 20))
    depth = np.where(cov.triangle == 1, 5.0, -5.0)
    near = raster.one_per_pixel(cov, (20, 20), depth)
    assert len(near) == len(_pixels(cov))
    in_front = _pixels(raster.cover(np.array([front]), (20, 20)))
    assert {p for p, t in zip(_pixels_list(near), near.triangle, strict=True) if t == 1} == in_front


def test_off_image_and_degenerate_triangles_cover_nothing_outside_the_image():
    tris = np.array([[[-30.0, -5.0], [50.0, 10.0], [10.0, 60.0]],  # larger than the image
                     [[3.0, 3.0], [3.0, 3.0], [9.0, 9.0]],  # a line
                     [[100.0, 100.0], [120.0, 100.0], [100.0, 120.0]]])  # beyond it
    cov = raster.cover(tris, (16, 24))
    assert set(cov.triangle.tolist()) == {0}
    assert cov.ys.min() >= 0 and cov.ys.max() < 16 and cov.xs.min() >= 0 and cov.xs.max() < 24
    assert len(raster.cover(np.zeros((0, 3, 2)), (8, 8))) == 0


def test_many_triangles_in_pieces_give_the_same_coverage(monkeypatch):
    rng = np.random.default_rng(3)
    tris = rng.uniform(0, 64, (300, 3, 2))
    whole = raster.cover(tris, (64, 64), pad=0.25)
    monkeypatch.setattr(raster, "CANDIDATES_PER_PIECE", 97)
    pieces = raster.cover(tris, (64, 64), pad=0.25)
    order_w = np.lexsort((whole.xs, whole.ys, whole.triangle))
    order_p = np.lexsort((pieces.xs, pieces.ys, pieces.triangle))
    for name in ("ys", "xs", "triangle", "bary"):
        np.testing.assert_array_equal(getattr(whole, name)[order_w], getattr(pieces, name)[order_p])


@pytest.mark.parametrize("pad", [0.0, 0.5])
def test_pixel_centres_on_an_image_edge_count(pad):
    full = np.array([[[0.0, 0.0], [8.0, 0.0], [0.0, 8.0]], [[8.0, 0.0], [8.0, 8.0], [0.0, 8.0]]])
    assert _pixels(raster.cover(full, (8, 8), pad=pad)) == {(y, x) for y in range(8) for x in range(8)}
