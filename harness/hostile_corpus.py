"""A corpus of hostile files, made here (nothing is downloaded or committed): what a class of students
might upload on purpose or by accident. `tests/test_hostile.py` replays all of it against the three
public loaders; `bench/fuzz.py` starts its fuzzers from it. No TensorFlow is needed to make it."""

from __future__ import annotations

import io
import json
import stat
import struct
import zipfile
import zlib

from PIL import Image

ELF = b"\x7fELF\x02\x01\x01" + b"\0" * 200
WINDOWS_EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04" + b"\0" * 200


def _png(value: int = 120, size=(24, 20), mode="RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, (value, 0, 0) if mode == "RGB" else value).save(buffer, format="PNG")
    return buffer.getvalue()


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 200, 30)).save(buffer, format="JPEG")
    return buffer.getvalue()


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_claiming(width: int, height: int) -> bytes:
    """A valid PNG header that claims any size, with a tiny body: a decompression bomb's opening."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + _chunk(b"IEND", b"")
    )


def gif_claiming(width: int, height: int) -> bytes:
    return (
        b"GIF89a"
        + struct.pack("<HH", width, height)
        + b"\x00\x00\x00"
        + b",\0\0\0\0"
        + struct.pack("<HH", width, height)
        + b"\x00\x02\x02\x44\x01\x00;"
    )


def bmp_claiming(width: int, height: int) -> bytes:
    header = struct.pack("<2sIHHI", b"BM", 54 + 12, 0, 0, 54)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 12, 2835, 2835, 0, 0)
    return header + info + b"\0" * 12


def images() -> list[tuple[str, bytes]]:
    good_png, good_jpeg = _png(), _jpeg()
    return [
        ("zero bytes", b""),
        ("renamed Linux executable", ELF),
        ("renamed Windows executable", WINDOWS_EXE),
        ("shell script", b"#!/bin/sh\nrm -rf /\n"),
        ("PDF", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"),
        ("SVG with script", b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>"),
        ("HTML", b"<!doctype html><html><body><img src=x onerror=alert(1)></body></html>"),
        ("TIFF (not accepted)", b"II*\x00\x08\x00\x00\x00" + b"\0" * 64),
        ("PNG header claiming 50000x50000", png_claiming(50000, 50000)),
        ("PNG header claiming 2^31 x 2^31", png_claiming(2**31 - 1, 2**31 - 1)),
        ("PNG header claiming 0x0", png_claiming(0, 0)),
        ("PNG of 1x1", _png(size=(1, 1))),
        ("GIF screen claiming 65535x65535", gif_claiming(65535, 65535)),
        ("BMP claiming 30000x30000", bmp_claiming(30000, 30000)),
        ("BMP claiming negative width", bmp_claiming(-5000, 100)),
        ("PNG signature only", b"\x89PNG\r\n\x1a\n"),
        ("truncated PNG", good_png[: len(good_png) // 2]),
        ("truncated JPEG", good_jpeg[: len(good_jpeg) // 3]),
        ("JPEG markers only", b"\xff\xd8\xff\xe0" + b"\0" * 20 + b"\xff\xd9"),
        ("GIF signature only", b"GIF89a"),
        ("WebP container, no image", b"RIFF\x10\x00\x00\x00WEBPVP8 \x00\x00\x00\x00"),
        ("PNG with a corrupt image chunk", good_png[:33] + _chunk(b"IDAT", b"\xff" * 40) + _chunk(b"IEND", b"")),
    ]


def zip_of(entries: dict[str, bytes], *, symlink: str | None = None, method=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def lie_about_size(data: bytes, name: bytes, claimed: int) -> bytes:
    """Rewrite the uncompressed size that the local and central headers give for entry `name`."""
    out = bytearray(data)
    # (signature, offset of the name length, of the name, of the uncompressed size) in each header
    for signature, length_at, name_at, size_at in ((b"PK\x03\x04", 26, 30, 22), (b"PK\x01\x02", 28, 46, 24)):
        position = 0
        while (position := out.find(signature, position)) != -1:
            name_length = struct.unpack_from("<H", out, position + length_at)[0]
            if bytes(out[position + name_at : position + name_at + name_length]) == name:
                struct.pack_into("<I", out, position + size_at, claimed)
            position += 4
    return bytes(out)


def corrupt_stream(data: bytes, name: bytes) -> bytes:
    """Overwrite the compressed bytes of entry `name` (deflate then fails: zlib.error, found by the fuzzer)."""
    out = bytearray(data)
    position = out.find(b"PK\x03\x04")
    while position != -1:
        name_length, extra_length = struct.unpack_from("<HH", out, position + 26)
        start = position + 30 + name_length + extra_length
        if bytes(out[position + 30 : position + 30 + name_length]) == name:
            size = struct.unpack_from("<I", out, position + 18)[0]
            out[start : start + size] = bytes([0xFF, 0x07]) * (size // 2) + b"\xff" * (size % 2)
        position = out.find(b"PK\x03\x04", position + 4)
    return bytes(out)


GOOD_FOLDERS = {f"cats/c{i}.png": _png(200) for i in range(3)} | {f"dogs/d{i}.png": _png(30) for i in range(3)}


def with_unnamed_entry(entries: dict[str, bytes]) -> bytes:
    """A zip whose first entry has an empty name (zipfile's is_dir() then fails: IndexError, found by the fuzzer).
    Written by hand: `zip_of` passes names as strings, and zipfile's writestr fails on an empty one."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo(""), b"x")
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def encrypted_flag(data: bytes) -> bytes:
    """Set the 'encrypted' bit on every entry (zipfile then refuses to read without a password)."""
    out = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        position = 0
        while (position := out.find(signature, position)) != -1:
            flags = struct.unpack_from("<H", out, position + offset)[0]
            struct.pack_into("<H", out, position + offset, flags | 0x1)
            position += 4
    return bytes(out)


def zips() -> list[tuple[str, bytes]]:
    good = zip_of(GOOD_FOLDERS)
    return [
        ("zero bytes", b""),
        ("not a zip", b"hello, this is text"),
        ("an image, not a zip", _png()),
        ("renamed executable", ELF),
        ("truncated zip", good[: len(good) // 2]),
        ("zip of nothing", zip_of({})),
        ("absolute path", zip_of(GOOD_FOLDERS | {"/etc/cron.d/evil.png": _png()})),
        ("dot-dot path", zip_of(GOOD_FOLDERS | {"cats/../../../tmp/evil.png": _png()})),
        ("windows dot-dot path", zip_of(GOOD_FOLDERS | {"cats\\..\\..\\evil.png": _png()})),
        ("symlink", zip_of(GOOD_FOLDERS, symlink="cats/link.png")),
        ("nested zip", zip_of(GOOD_FOLDERS | {"cats/inner.zip": good})),
        ("executable among images", zip_of(GOOD_FOLDERS | {"cats/setup.exe": WINDOWS_EXE})),
        ("executable named .png", zip_of(GOOD_FOLDERS | {"cats/photo.png": ELF})),
        ("bomb image inside", zip_of(GOOD_FOLDERS | {"cats/bomb.png": png_claiming(50000, 50000)})),
        ("zip bomb: 60 MB of zeros", zip_of(GOOD_FOLDERS | {"cats/zeros.png": b"\0" * (60 * 1024 * 1024)})),
        ("header lies: tiny size claimed", lie_about_size(zip_of(GOOD_FOLDERS), b"cats/c0.png", 10)),
        ("too many entries", zip_of({f"cats/{i}.png": b"" for i in range(20_001)}, method=zipfile.ZIP_STORED)),
        ("only one class", zip_of({f"cats/c{i}.png": _png() for i in range(4)})),
        ("encrypted entries", encrypted_flag(good)),
        ("entry with an empty name", with_unnamed_entry(GOOD_FOLDERS)),
        ("broken deflate stream", corrupt_stream(good, b"cats/c1.png")),
        ("images loose at the top", zip_of({f"c{i}.png": _png() for i in range(6)})),
    ]


def _model_zip(config, *, extra: dict[str, bytes] | None = None) -> bytes:
    entries = {"metadata.json": json.dumps({"keras_version": "3.15.1"}).encode()}
    entries["config.json"] = config if isinstance(config, bytes) else json.dumps(config).encode()
    entries["model.weights.h5"] = b"\x89HDF\r\n\x1a\n" + b"\0" * 64
    return zip_of(entries | (extra or {}))


def _functional(*layers: dict) -> dict:
    return {
        "module": "keras",
        "class_name": "Functional",
        "config": {"name": "evil", "layers": list(layers), "input_layers": [], "output_layers": []},
    }


def _layer(class_name: str, module: str = "keras.layers", **extra) -> dict:
    return {"module": module, "class_name": class_name, "config": {"name": class_name.lower()}, **extra}


def models() -> list[tuple[str, bytes]]:
    lambda_config = _layer("Lambda")
    lambda_config["config"]["function"] = {"class_name": "__lambda__", "config": {"code": "b'ZXZpbA=='"}}
    return [
        ("zero bytes", b""),
        ("HDF5 .h5 file", b"\x89HDF\r\n\x1a\n" + b"\0" * 200),
        ("renamed executable", ELF),
        ("not a zip", b"model"),
        ("zip without config.json", zip_of({"model.weights.h5": b"x"})),
        ("config is not JSON", _model_zip(b"{not json")),
        ("config is a list", _model_zip([1, 2, 3])),
        ("config is binary", _model_zip(b"\xff\xfe\x00\x01")),
        ("config nested 100,000 deep", _model_zip(b"[" * 100_000 + b"]" * 100_000)),
        ("Lambda layer", _model_zip(_functional(lambda_config))),
        ("TFSMLayer", _model_zip(_functional(_layer("TFSMLayer")))),
        ("custom module", _model_zip(_functional(_layer("Evil", module="my_package.layers")))),
        ("registered custom object", _model_zip(_functional(_layer("Dense", registered_name="Custom>Evil")))),
        ("class name that is a list", _model_zip(_functional(_layer("Dense") | {"class_name": ["Lambda"]}))),
        (
            "os module as a function",
            _model_zip(_functional(_layer("Dense") | {"module": "os", "class_name": "system"})),
        ),
        ("too many entries", _model_zip(_functional(), extra={f"x{i}": b"" for i in range(100)})),
        ("unpacks to 4 GB", lie_about_size(_model_zip(_functional()), b"model.weights.h5", 2**32 - 1)),
        ("truncated", _model_zip(_functional())[:100]),
        ("broken deflate stream in config.json", corrupt_stream(_model_zip(_functional()), b"config.json")),
        ("encrypted", encrypted_flag(_model_zip(_functional(_layer("Dense"))))),
    ]


def corpus() -> dict[str, list[tuple[str, bytes]]]:
    """target ('image', 'zip', 'model') -> [(what it is, the file's bytes)]."""
    return {"image": images(), "zip": zips(), "model": models()}
