"""Project exceptions: messages say what was wrong and what is accepted, so pages can show them."""


class CnnvizError(Exception):
    """Base class of every error cnnviz raises on purpose."""


class InvalidInput(CnnvizError, ValueError):
    """A file, kernel, architecture or setting that cnnviz cannot accept.

    The message names what was wrong and what is accepted; it is safe to show to a user.
    """


def zip_read_errors() -> tuple[type[BaseException], ...]:
    """Everything reading a damaged or crafted zip can raise from the standard library: a bad
    directory, a broken deflate/bzip2/LZMA stream, odd compression methods, encryption, sizes."""
    import lzma
    import zipfile
    import zlib

    return (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        zlib.error,
        lzma.LZMAError,
        OSError,
        EOFError,
        ValueError,
        NotImplementedError,
        RuntimeError,
        OverflowError,
    )
