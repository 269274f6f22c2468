"""The Playwright helpers now live in harness.browser (shared with bench/); this name stays for the tests."""

from harness.browser import (
    IMAGE_SRC,
    choose,
    draw_path,
    draw_stroke,
    image_src,
    settle_layout,
    status_lines,
    wait_for_new_image,
    wait_until_idle,
)

__all__ = [
    "IMAGE_SRC",
    "choose",
    "draw_path",
    "draw_stroke",
    "image_src",
    "settle_layout",
    "status_lines",
    "wait_for_new_image",
    "wait_until_idle",
]
