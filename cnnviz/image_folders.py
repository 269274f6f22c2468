"""The user's own images: a zip with one folder per class (`horses/001.jpg`, `humans/042.png`), read
without extracting anything, and refused with a message at the first thing that is unsafe or unusable.
Untrusted input, like `cnnviz.images.load_image` and `cnnviz.model_files`."""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import PurePosixPath
from typing import NamedTuple

import numpy as np

from cnnviz import images
from cnnviz.dataset_base import Dataset, split_dataset
from cnnviz.errors import InvalidInput, zip_read_errors

ZIP_MAX_BYTES = 200 * 1024 * 1024  # the upload itself
ZIP_MAX_ENTRIES = 20_000
ZIP_MAX_ENTRY_BYTES = 20 * 1024 * 1024  # one image, uncompressed
ZIP_MAX_TOTAL_BYTES = 1024 * 1024 * 1024  # everything, uncompressed
ZIP_MAX_RATIO = 200  # uncompressed / compressed, per entry: more is a zip bomb, not a photo
ZIP_MAX_CLASSES = 50
ZIP_MIN_PER_CLASS = 2
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif")
ARCHIVE_SUFFIXES = (".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar")
# Programs have no place in a zip of pictures: one refuses the zip (a stray notes.txt is only skipped).
PROGRAM_SUFFIXES = (".exe", ".dll", ".com", ".bat", ".cmd", ".msi", ".scr", ".ps1", ".vbs", ".sh", ".so", ".jar")


def _read_capped(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int) -> bytes:
    """Read one entry, counting bytes as they stream: headers can lie about sizes."""
    limit = min(ZIP_MAX_ENTRY_BYTES, budget, max(info.compress_size, 1) * ZIP_MAX_RATIO)
    chunks, total = [], 0
    with archive.open(info) as stream:
        while chunk := stream.read(1 << 16):
            total += len(chunk)
            if total > limit:
                reason = "the total size limit" if limit == budget else f"{limit:,} bytes"
                raise InvalidInput(f"{info.filename} unpacks to more than {reason}; refusing the zip.")
            chunks.append(chunk)
    return b"".join(chunks)


SKIPPED = ("", "")  # `_class_and_name` of a file that is not a picture: left out, and counted


def _class_and_name(info: zipfile.ZipInfo, texts: tuple[str, ...] = ()) -> tuple[str, str] | None:
    """(class folder, file name) for an image entry (or a text file named in `texts`), None for
    entries to pass over (folders, hidden files), `SKIPPED` for files that are not pictures (a stray
    notes.txt); raises for unsafe ones."""
    name = info.filename
    if not name or "\0" in name:
        raise InvalidInput(f"The zip has an entry with an empty or broken name ({name!r}); refusing the zip.")
    path = PurePosixPath(name.replace("\\", "/"))
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or ".." in path.parts:
        raise InvalidInput(f"The zip entry {name!r} points outside the archive; refusing the zip.")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise InvalidInput(f"The zip entry {name!r} is a symbolic link; refusing the zip.")
    if info.is_dir() or path.name.startswith(".") or "__MACOSX" in path.parts:
        return None
    suffix = "" if path.name in texts else path.suffix.lower()
    if suffix in ARCHIVE_SUFFIXES:
        raise InvalidInput(f"The zip contains another archive, {name!r}; put images in class folders instead.")
    if suffix in PROGRAM_SUFFIXES:
        raise InvalidInput(f"The zip contains a program, {name!r}; refusing the zip. Put only images in class folders.")
    if suffix not in IMAGE_SUFFIXES and path.name not in texts:
        return SKIPPED
    parts = [p for p in path.parts if p not in ("", ".")]
    if len(parts) < 2:
        raise InvalidInput(
            f"{name!r} is not inside a class folder. Lay the zip out as class_name/image.png, one folder per class."
        )
    return parts[-2], parts[-1]


class ZipPicture(NamedTuple):
    """One picture of a zip of class folders, as `read_class_folders` gives it."""

    folder: str  # its class folder's name
    name: str  # its file name in that folder
    picture: np.ndarray  # uint8 (image_size, image_size) gray or (image_size, image_size, 3) RGB
    original_size: tuple[int, int]  # (height, width) in the zip, before resizing


def read_class_folders(
    data: bytes,
    *,
    image_size: int = 64,
    grayscale: bool = False,
    texts: tuple[str, ...] = (),
    skipped: list[str] | None = None,
) -> tuple[list[ZipPicture], dict[tuple[str, str], bytes]]:
    """Every picture of a zip of class folders, checked and resized to `image_size` square, and the
    bytes of the text files whose names are in `texts` ((folder, file name) -> bytes), e.g. the
    boxes file of each class folder (`cnnviz.box_data`). The rules of `load_image_folder_zip`. The
    names of files that are not pictures (by their suffix) are appended to `skipped` when given."""
    if not isinstance(data, (bytes, bytearray, memoryview)) or not data:
        raise InvalidInput("Upload a non-empty .zip file with one folder of images per class.")
    if len(data) > ZIP_MAX_BYTES:
        raise InvalidInput(f"The zip is {len(data) / 2**20:.0f} MB; at most {ZIP_MAX_BYTES // 2**20} MB is accepted.")
    if not 16 <= image_size <= 256:
        raise InvalidInput(f"Image size must be 16 to 256 pixels, not {image_size}.")
    try:
        archive = zipfile.ZipFile(io.BytesIO(bytes(data)))
        infos = archive.infolist()
    except zip_read_errors() as error:
        raise InvalidInput(f"This is not a readable zip file ({error}). Upload a .zip of class folders.") from None
    if len(infos) > ZIP_MAX_ENTRIES:
        raise InvalidInput(f"The zip has {len(infos):,} entries; at most {ZIP_MAX_ENTRIES:,} are accepted.")
    samples: list[ZipPicture] = []
    found_texts: dict[tuple[str, str], bytes] = {}
    budget = ZIP_MAX_TOTAL_BYTES
    for info in infos:
        placed = _class_and_name(info, texts)
        if placed is None:
            continue
        if placed == SKIPPED:
            if skipped is not None:
                skipped.append(info.filename)
            continue
        if info.flag_bits & 0x1:
            raise InvalidInput(f"{info.filename} is encrypted; upload a zip without a password.")
        try:
            raw = _read_capped(archive, info, budget)
        except zip_read_errors() as error:
            if isinstance(error, InvalidInput):
                raise
            raise InvalidInput(f"{info.filename} could not be read from the zip ({error}).") from None
        budget -= len(raw)
        if placed[1] in texts:
            found_texts[placed] = raw
            continue
        try:
            picture = images.load_image(raw)
        except InvalidInput as error:
            raise InvalidInput(f"{info.filename}: {error}") from None
        original = picture.shape[:2]
        picture = images.to_grayscale(picture) if grayscale else images.to_rgb(picture)
        picture = images.resize(picture, size=(image_size, image_size))
        samples.append(ZipPicture(placed[0], placed[1], picture, original))
    return samples, found_texts


def class_names_of(samples: list[ZipPicture]) -> tuple[str, ...]:
    """The class folders, sorted; refused with a message when there are too few or too many, or a
    class has too few pictures."""
    class_names = tuple(sorted({sample.folder for sample in samples}))
    if len(class_names) < 2:
        raise InvalidInput(
            f"Found {len(class_names)} class folder(s) with images; at least 2 are needed (e.g. horses/ and humans/)."
        )
    if len(class_names) > ZIP_MAX_CLASSES:
        raise InvalidInput(f"Found {len(class_names)} class folders; at most {ZIP_MAX_CLASSES} are accepted.")
    counts = {name: sum(1 for sample in samples if sample.folder == name) for name in class_names}
    small = [f"{name} ({count})" for name, count in counts.items() if count < ZIP_MIN_PER_CLASS]
    if small:
        raise InvalidInput(f"Each class needs at least {ZIP_MIN_PER_CLASS} images; too few in: {', '.join(small)}.")
    return class_names


def load_image_folder_zip(
    data: bytes, *, image_size: int = 64, grayscale: bool = False, test_fraction: float = 0.2, seed: int = 0
) -> Dataset:
    """A dataset from a zip of class folders (`cats/001.jpg`, `dogs/002.jpg`, ... as in the
    horses-vs-humans and cats-vs-dogs tutorials), resized to `image_size` square.

    Nothing is extracted to disk. Absolute paths, `..`, symbolic links, nested archives and programs
    (.exe, .sh, ...) are refused, as are zips past the caps on entries, sizes and compression ratio.
    Files that are not pictures by their suffix (a notes.txt) are left out, and the dataset's notes
    say how many.

    Raises
    ------
    InvalidInput
        For anything it refuses, with a message naming the entry and the rule.
    """
    skipped: list[str] = []
    samples, _ = read_class_folders(data, image_size=image_size, grayscale=grayscale, skipped=skipped)
    class_names = class_names_of(samples)
    x = np.stack([sample.picture for sample in samples])
    if x.ndim == 3:
        x = x[..., None]
    y = np.array([class_names.index(sample.folder) for sample in samples], dtype=np.int64)
    notes = [f"{len(samples)} images resized to {image_size}x{image_size}, {'grayscale' if grayscale else 'RGB'}."]
    if skipped:
        names = ", ".join(PurePosixPath(name).name for name in skipped[:3]) + (", ..." if len(skipped) > 3 else "")
        notes.append(f"Skipped {len(skipped)} file(s) that are not pictures ({names}).")
    return split_dataset(
        "uploaded", x, y, class_names, "Your images.", test_fraction=test_fraction, seed=seed, notes=notes
    )
