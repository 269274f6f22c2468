"""cnnviz.display: how values become pixels."""

import numpy as np
import pytest

from cnnviz.display import (
    colorbar,
    enlarge,
    enlarge_to,
    heat_colorbar,
    highlight_window,
    outline_tile,
    overlay,
    render,
    tile,
    tile_at,
    to_clipped,
    to_minmax,
    to_signed,
)
from cnnviz.errors import InvalidInput


def test_signed_maps_zero_to_white_and_signs_to_blue_and_red():
    values = np.array([[-10.0, 0.0, 10.0]])
    rgb = to_signed(values)
    assert rgb.shape == (1, 3, 3) and rgb.dtype == np.uint8
    negative, zero, positive = rgb[0]
    assert negative[2] > negative[0]  # blue
    assert positive[0] > positive[2]  # red
    assert min(zero) > 240  # near white


def test_clipped_and_minmax():
    values = np.array([[-5.0, 100.4, 300.0]])
    np.testing.assert_array_equal(to_clipped(values), [[0, 100, 255]])
    np.testing.assert_array_equal(to_minmax(values), [[0, 88, 255]])
    assert to_minmax(np.zeros((2, 2))).tolist() == [[128, 128], [128, 128]]
    assert to_signed(np.zeros((2, 2))).shape == (2, 2, 3)  # flat data does not divide by zero


def test_render_modes():
    values = np.arange(12.0).reshape(3, 4)
    assert render(values, "signed").shape == (3, 4, 3)
    assert render(values, "clipped").shape == (3, 4)
    with pytest.raises(InvalidInput, match="signed"):
        render(values, "rainbow")


def test_colorbar_and_enlarge():
    bar = colorbar()
    assert bar.shape == (12, 256, 3)
    assert bar[0, 0, 2] > bar[0, 0, 0] and bar[0, -1, 0] > bar[0, -1, 2]  # blue to red
    assert enlarge(np.zeros((28, 28), np.uint8)).shape == (252, 252)
    assert enlarge(np.zeros((300, 300), np.uint8)).shape == (300, 300)
    assert enlarge_to(np.zeros((107, 215, 3), np.uint8), width=800).shape == (428, 860, 3)  # x4: 4 * 215 >= 800
    assert enlarge_to(np.zeros((903, 903, 3), np.uint8), width=800).shape == (903, 903, 3)  # wide enough already


def test_highlight_window_keeps_the_window_bright():
    image = np.full((10, 10), 200, dtype=np.uint8)
    out = highlight_window(image, 2, 3, 3, 3)
    factor = out.shape[0] // 10
    assert out.shape[2] == 3
    assert out[3 * factor + factor // 2, 4 * factor + factor // 2, 0] == 200  # inside: as it was
    assert out[8 * factor, 8 * factor, 0] < 200  # outside: dimmed
    highlight_window(image, -1, -1, 3, 3)  # hanging over the edge (padding) draws without error


def test_tile():
    grid = tile([np.zeros((4, 4), np.uint8)] * 5, columns=3, gap=2)
    assert grid.shape == (4 * 2 + 2, 4 * 3 + 4, 3)
    with pytest.raises(InvalidInput):
        tile([])


def test_tile_at_finds_the_tile_under_a_click_on_the_enlarged_grid():
    # 5 tiles of 4x6 (height x width), 3 columns, gap 2: the grid is 10 rows by 22 columns of pixels.
    tiles = [np.full((4, 6), 10 * (n + 1), np.uint8) for n in range(5)]
    grid = enlarge(tile(tiles, columns=3, gap=2), min_side=30)  # shown 3x larger: 30 x 66
    layout = {"tile_shape": (4, 6), "count": 5, "columns": 3, "gap": 2}
    shown = (grid.shape[1], grid.shape[0])
    for n in range(5):  # the centre of every tile, on screen, takes us back to that tile
        row, col = divmod(n, 3)
        x, y = (col * 8 + 3) * 3, (row * 6 + 2) * 3
        assert grid[y, x, 0] == 10 * (n + 1)
        assert tile_at(x, y, shown=shown, **layout) == n
    assert tile_at(0, 0, shown=shown, **layout) == 0
    assert tile_at(6 * 3 + 1, 0, shown=shown, **layout) == 0  # the gap after tile 0 counts as tile 0
    assert tile_at(8 * 3, 0, shown=shown, **layout) == 1  # first pixel of tile 1
    assert tile_at(20 * 3, 8 * 3, shown=shown, **layout) is None  # the empty sixth cell
    assert tile_at(66, 5, shown=shown, **layout) is None  # off the right edge
    assert tile_at(-1, 5, shown=shown, **layout) is None
    # Shown by the browser at half the grid's size (11 x 5): (6, 4) is grid pixel (12, 8), row 1, column 1.
    assert tile_at(6, 4, shown=(11, 5), **layout) == 4
    assert tile_at(5, 5, shown=(0, 0), **layout) is None


def test_outline_tile_frames_the_chosen_tile_of_an_enlarged_grid():
    tiles = [np.full((4, 6), 10 * (n + 1), np.uint8) for n in range(5)]
    grid = enlarge(tile(tiles, columns=3, gap=2), min_side=30)  # x3
    framed = outline_tile(grid, 4, tile_shape=(4, 6), columns=3, gap=2, scale=3, colour=(1, 2, 3))
    top, left = 6 * 3, 8 * 3  # tile 4: row 1, column 1
    assert framed[top, left].tolist() == [1, 2, 3] and framed[top + 11, left + 17].tolist() == [1, 2, 3]
    assert framed[top + 6, left + 9].tolist() == [50, 50, 50]  # the inside is untouched
    assert framed[top - 1, left].tolist() == [255, 255, 255]  # the gap above too
    assert framed[top, left - 1].tolist() == [255, 255, 255]  # and the gap on its left
    assert (framed != grid).any(axis=2).sum() == 2 * 18 + 2 * 12 - 4  # a 1-pixel (3 // 2) frame
    assert grid[top, left, 0] == 50  # the grid itself is left alone


def test_zoom_window_marks_padding():
    from cnnviz.display import zoom_window

    image = np.full((6, 6), 200, dtype=np.uint8)
    big = zoom_window(image, -1, -1, 3, 3, margin=1)
    factor = big.shape[0] // 5
    assert big.shape[:2] == (5 * factor, 5 * factor)
    assert big[factor // 2, factor // 2, 0] in (90, 120)  # row -2, col -2: padding
    assert big[3 * factor + factor // 2, 3 * factor + factor // 2, 0] == 200  # image pixel (1, 1)


def test_render_png_is_lossless():
    from cnnviz.display import render_png
    from cnnviz.images import load_image

    values = np.linspace(-50, 50, 12 * 14, dtype=np.float32).reshape(12, 14)
    for mode in ("signed", "clipped", "minmax"):
        decoded = load_image(render_png(values, mode))
        expected = render(values, mode)
        np.testing.assert_array_equal(decoded, expected)
    assert load_image(render_png(values, "signed", min_side=48)).shape == (48, 56, 3)


def test_overlay_blends_jet_colours():
    image = np.zeros((10, 10), dtype=np.uint8)
    heat = np.zeros((5, 5), dtype=np.float32)
    heat[2, 2] = 1.0
    out = overlay(image, heat, opacity=0.5)
    assert out.shape == (10, 10, 3) and out.dtype == np.uint8
    assert out[5, 5, 0] > out[0, 0, 0]  # hot (red) in the middle, cold (blue) at the corner
    assert out[0, 0, 2] > out[0, 0, 0]


def test_heat_colorbar_is_the_overlay_colours():
    bar = heat_colorbar()
    assert bar.shape == (12, 256, 3) and bar.dtype == np.uint8
    black = np.zeros((4, 4), dtype=np.uint8)
    cold = overlay(black, np.zeros((4, 4), np.float32), opacity=1.0)[0, 0]
    hot = overlay(black, np.ones((4, 4), np.float32), opacity=1.0)[0, 0]
    np.testing.assert_array_equal(bar[0, 0], cold)
    np.testing.assert_array_equal(bar[0, -1], hot)
    assert cold.tolist() == [0, 0, 128] and hot.tolist() == [128, 0, 0]  # OpenCV's JET: dark blue to dark red
