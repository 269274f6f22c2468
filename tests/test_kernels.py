"""cnnviz.kernels: the gallery, parsing custom kernels, and scaling."""

import numpy as np
import pytest

from cnnviz.errors import InvalidInput
from cnnviz.kernels import DESCRIPTIONS, KERNELS, format_kernel, parse_kernel, scale_kernel, validate_kernel


def test_gallery_has_the_tutorial_kernels():
    expected = {
        "tutorial horizontal": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
        "tutorial vertical": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
        "tutorial mixed": [[-1, 2, 1], [0, 0, 0], [-1, 0, 1]],
        "tutorial laplacian": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
    }
    for name, rows in expected.items():
        np.testing.assert_array_equal(KERNELS[name], rows)
    line = KERNELS["vertical line 7x7"]
    assert line.shape == (7, 7) and line[:, 3].tolist() == [1] * 7 and line.sum() == 7
    np.testing.assert_array_equal(KERNELS["horizontal line 7x7"], line.T)


def test_every_kernel_is_valid_and_described():
    for name, kernel in KERNELS.items():
        assert kernel.dtype == np.float32 and kernel.ndim == 2
        assert DESCRIPTIONS[name].endswith(".")
    assert KERNELS["box blur"].sum() == pytest.approx(1)
    assert KERNELS["gaussian blur"].sum() == pytest.approx(1)
    assert KERNELS["sobel x"].sum() == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 2 1; 0 0 0; -1 -2 -1", [[1, 2, 1], [0, 0, 0], [-1, -2, -1]]),
        ("1,2\n3,4", [[1, 2], [3, 4]]),
        ("[[1, 0], [0, -1]]", [[1, 0], [0, -1]]),
        ("  1/4 1/4 ; 1/4 1/4 ;", [[0.25, 0.25], [0.25, 0.25]]),
        ("5", [[5]]),
        ("1e-1 -2.5", [[0.1, -2.5]]),
    ],
)
def test_parse_kernel(text, expected):
    np.testing.assert_allclose(parse_kernel(text), expected)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        (" ; ", "empty"),
        ("1 2; 3", "same number"),
        ("1 x 1", "'x' is not a number"),
        ("nan 1", "NaN"),
        ("inf", "NaN or infinity"),
        ("1/0", "not a number"),
        ("1e300", "between"),
        ("; ".join(["1"] * 16), "at most 15"),
        (" ".join(["1"] * 16), "15x15"),
    ],
)
def test_parse_kernel_refuses(text, message):
    with pytest.raises(InvalidInput, match=message):
        parse_kernel(text)


def test_validate_kernel_refuses_ragged_and_wrong_rank():
    with pytest.raises(InvalidInput, match="ragged"):
        validate_kernel([[1, 2], [3]])
    with pytest.raises(InvalidInput, match="2-D"):
        validate_kernel(np.ones(3))


def test_scale_kernel():
    blur = np.ones((3, 3))
    np.testing.assert_allclose(scale_kernel(blur, normalize=True).sum(), 1, rtol=1e-6)
    sobel = KERNELS["sobel x"]
    normalised = scale_kernel(sobel, normalize=True)
    assert normalised[normalised > 0].sum() == pytest.approx(1)
    np.testing.assert_allclose(scale_kernel(sobel, weight=0.5), sobel * 0.5)
    with pytest.raises(InvalidInput, match="weight"):
        scale_kernel(sobel, weight=float("nan"))


def test_format_round_trips():
    for kernel in KERNELS.values():
        np.testing.assert_allclose(parse_kernel(format_kernel(kernel)), kernel, rtol=1e-5)
