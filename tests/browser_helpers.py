"""Playwright helpers for Streamlit pages, shared by the browser tests and the benchmarks."""

# The src of the image whose caption starts with `prefix`, or '' while there is none.
IMAGE_SRC = """prefix => {
    for (const figure of document.querySelectorAll('[data-testid="stImage"]')) {
        const caption = figure.innerText || '';
        const img = figure.querySelector('img');
        if (img && caption.trim().startsWith(prefix) && img.complete && img.naturalWidth > 0) return img.src;
    }
    return '';
}"""


def image_src(page, prefix: str) -> str:
    return page.evaluate(IMAGE_SRC, prefix)


def wait_for_new_image(page, prefix: str, previous: str, timeout: float = 15_000) -> str:
    page.wait_for_function(
        f"([p, old]) => {{ const s = ({IMAGE_SRC})(p); return s && s !== old; }}",
        arg=[prefix, previous],
        timeout=timeout,
    )
    return image_src(page, prefix)


def wait_until_idle(page, timeout: float = 20_000) -> None:
    """Wait for Streamlit's script run to finish (the 'running' indicator gone)."""
    page.wait_for_timeout(150)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout)


def choose(page, label: str, option: str) -> None:
    """Pick `option` in the selectbox labelled `label`."""
    wait_until_idle(page)
    box = page.locator('[data-testid="stSelectbox"]').filter(has_text=label).first
    box.scroll_into_view_if_needed()
    box.click()
    page.get_by_role("option", name=option, exact=True).click()


def draw_stroke(page, start: tuple[int, int], end: tuple[int, int]) -> None:
    canvas = page.locator("canvas").last
    box = canvas.bounding_box()
    x0, y0 = box["x"] + start[0], box["y"] + start[1]
    page.mouse.move(x0, y0)
    page.mouse.down()
    for step in range(1, 21):
        page.mouse.move(x0 + (end[0] - start[0]) * step / 20, y0 + (end[1] - start[1]) * step / 20)
    page.mouse.up()
