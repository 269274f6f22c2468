"""cnnviz.images: every accepted format and mode decodes, every hostile file is refused with a message."""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from cnnviz.errors import InvalidInput
from cnnviz.images import (
    SAMPLES,
    canvas_to_gray,
    encode_png,
    load_image,
    load_sample,
    resize,
    sniff_format,
    to_grayscale,
    to_rgb,
)


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def gradient_rgb(height=20, width=30) -> Image.Image:
    array = np.zeros((height, width, 3), dtype=np.uint8)
    array[..., 0] = np.linspace(0, 255, width, dtype=np.uint8)[None]
    array[..., 1] = 100
    array[..., 2] = np.linspace(255, 0, height, dtype=np.uint8)[:, None]
    return Image.fromarray(array)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "BMP", "WEBP", "GIF"])
def test_formats_decode_to_rgb(fmt):
    image = load_image(encode(gradient_rgb(), fmt))
    assert image.shape == (20, 30, 3) and image.dtype == np.uint8
    # lossy formats drift a little; the green channel was flat 100
    assert abs(float(image[..., 1].mean()) - 100) < 12


def test_png_is_exact():
    original = np.asarray(gradient_rgb())
    np.testing.assert_array_equal(load_image(encode(gradient_rgb(), "PNG")), original)


def test_grayscale_stays_2d():
    gray = Image.fromarray(np.arange(64, dtype=np.uint8).reshape(8, 8) * 4)
    image = load_image(encode(gray, "PNG"))
    assert image.shape == (8, 8)
    assert image[7, 7] == 252


def test_sixteen_bit_png_is_scaled_to_eight_bits():
    values = np.array([[0, 65535, 32896], [257, 1000, 65535], [0, 0, 0]], dtype=np.uint16)
    image = load_image(encode(Image.fromarray(values), "PNG"))
    assert image.dtype == np.uint8
    assert image[0, 0] == 0 and image[0, 1] == 255 and image[0, 2] == 128 and image[1, 0] == 1


def test_alpha_is_composited_on_white():
    rgba = np.zeros((4, 4, 4), dtype=np.uint8)
    rgba[..., 0] = 255  # red, fully transparent except the first row
    rgba[0, :, 3] = 255
    image = load_image(encode(Image.fromarray(rgba, "RGBA"), "PNG"))
    assert image.shape == (4, 4, 3)
    assert tuple(image[0, 0]) == (255, 0, 0)
    assert tuple(image[3, 3]) == (255, 255, 255)


def test_palette_with_transparency():
    palette = Image.new("P", (5, 5), 1)
    palette.putpalette([0, 0, 0, 0, 255, 0] + [0] * 762)
    palette.putpixel((0, 0), 0)
    image = load_image(encode(palette, "PNG", transparency=0))
    assert image.shape == (5, 5, 3)
    assert tuple(image[0, 0]) == (255, 255, 255)  # the transparent index becomes white
    assert tuple(image[2, 2]) == (0, 255, 0)


def test_cmyk_jpeg():
    cmyk = Image.new("CMYK", (6, 6), (0, 255, 255, 0))  # pure red in CMYK
    image = load_image(encode(cmyk, "JPEG"))
    assert image.shape == (6, 6, 3)
    assert image[3, 3, 0] > 200 and image[3, 3, 1] < 60


def test_exif_orientation_is_applied():
    tall = Image.fromarray(np.zeros((10, 4, 3), dtype=np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when shown
    image = load_image(encode(tall, "JPEG", exif=exif))
    assert image.shape[:2] == (4, 10)


def test_animated_gif_gives_the_first_frame():
    frames = [Image.new("L", (8, 8), value) for value in (10, 200, 90)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    image = load_image(data)
    assert image.shape in ((8, 8), (8, 8, 3))
    assert int(np.asarray(image).mean()) == 10


def png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"MZ\x90\x00\x03" + b"\0" * 200, "not an image"),  # a renamed Windows executable
        (b"\x7fELF" + b"\0" * 100, "not an image"),
        (b"%PDF-1.4\n", "not an image"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "not an image"),
        (png_header_only(50000, 50000), "2,500,000,000 pixels"),
        (png_header_only(7000, 7000), "49,000,000 pixels"),
        (png_header_only(1, 1), "at least 3x3"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 10, "could not be decoded"),
        (b"GIF89a" + b"\0" * 3, "could not be decoded"),
    ],
)
def test_hostile_files_are_refused_with_a_message(data, message):
    with pytest.raises(InvalidInput, match=message):
        load_image(data)


def test_truncated_files_are_refused():
    for fmt in ("PNG", "JPEG", "WEBP", "BMP"):
        data = encode(gradient_rgb(64, 64), fmt)
        with pytest.raises(InvalidInput):
            load_image(data[: len(data) // 3])


def test_refuses_more_than_the_byte_limit(monkeypatch):
    import cnnviz.images

    monkeypatch.setattr(cnnviz.images, "MAX_BYTES", 100)
    with pytest.raises(InvalidInput, match="MB"):
        load_image(encode(gradient_rgb(), "BMP"))


def test_invalid_input_is_a_value_error():
    with pytest.raises(ValueError):
        load_image(b"nope")
    with pytest.raises(InvalidInput, match="bytes"):
        load_image("a string")


def test_sniff_format():
    assert sniff_format(encode(gradient_rgb(), "WEBP")) == "WEBP"
    assert sniff_format(b"hello") is None


def test_canvas_to_gray_composites_strokes():
    rgba = np.zeros((3, 3, 4), dtype=np.uint8)
    rgba[1, 1] = (255, 255, 255, 255)  # one opaque white stroke pixel
    rgba[0, 0] = (255, 255, 255, 128)  # an anti-aliased edge
    gray = canvas_to_gray(rgba)
    assert gray[1, 1] == 255 and gray[2, 2] == 0 and gray[0, 0] == 128
    assert canvas_to_gray(np.zeros((3, 3, 4), np.uint8), background=255)[0, 0] == 255
    with pytest.raises(InvalidInput, match="RGBA"):
        canvas_to_gray(np.zeros((3, 3)))


def test_grayscale_rgb_and_resize():
    rgb = np.zeros((10, 20, 3), dtype=np.uint8)
    rgb[..., 1] = 255
    assert to_grayscale(rgb)[0, 0] == 150  # 0.587 * 255, rounded
    assert to_rgb(to_grayscale(rgb)).shape == (10, 20, 3)
    assert resize(rgb, max_side=10).shape == (5, 10, 3)
    assert resize(rgb, max_side=100).shape == (10, 20, 3)  # never enlarged
    assert resize(rgb, size=(28, 28)).shape == (28, 28, 3)


def test_encode_png_round_trips():
    rgb = np.asarray(gradient_rgb())
    np.testing.assert_array_equal(load_image(encode_png(rgb)), rgb)


@pytest.mark.parametrize("name", list(SAMPLES))
def test_every_sample_loads(name):
    image = load_sample(name)
    assert image.dtype == np.uint8 and image.ndim in (2, 3) and min(image.shape[:2]) >= 28


def test_mnist_sample_is_a_real_seven():
    digit = load_sample("mnist digit")
    assert digit.shape == (28, 28)
    assert digit.max() == 255 and digit[0, 0] == 0
    with pytest.raises(InvalidInput, match="camera"):
        load_sample("lena")
