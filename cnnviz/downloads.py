"""Downloads that never hang a page: Keras fetches datasets and weights with urllib and no time limit."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def socket_timeout(seconds: float) -> Iterator[None]:
    """Within the block, a network read that waits longer than `seconds` fails instead of hanging
    (`keras.utils.get_file` sets no timeout: a silent network would hold the page forever)."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)
