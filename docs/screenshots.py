"""Make the Home page's pictures: each page as a newcomer first sees it, shot in Chromium at 1440x900
and shrunk to a card. Run after changing a page: python docs/screenshots.py"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.browser import CHROMIUM, CHROMIUM_ARGS, start_app, wait_until_idle  # noqa: E402

OUT = ROOT / "docs" / "pages"
CARD_WIDTH = 720
# page path and query, and the text that says the page has finished drawing
SHOTS = {
    "lab.png": ("/convolution_lab?sample=coins", "Output pixel"),
    "trainer.png": ("/trainer", "parameters in all"),
    "inside.png": ("/inside", "Prediction"),
    "predict.png": ("/predict", "sure"),
}


def main() -> None:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    process, url = start_app()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            for name, (path, text) in SHOTS.items():
                page.goto(url + path)
                page.get_by_text(text).first.wait_for(timeout=90_000)
                wait_until_idle(page, timeout=90_000)
                page.wait_for_timeout(1500)  # pictures and charts finish drawing
                main_area = page.locator('[data-testid="stMain"]').bounding_box()
                title = page.locator("h1").first.bounding_box()
                top = title["y"] - 12  # from the page's title down: the padding above it says nothing
                clip = {"x": main_area["x"] + 40, "y": top, "width": main_area["width"] - 80, "height": 900 - top}
                shot = Image.open(io.BytesIO(page.screenshot(clip=clip)))
                card = shot.resize((CARD_WIDTH, round(shot.height * CARD_WIDTH / shot.width)), Image.LANCZOS)
                card.save(OUT / name, optimize=True)
                print(f"{name}: {card.size[0]}x{card.size[1]}")
            browser.close()
    finally:
        process.terminate()
        process.wait(timeout=10)


if __name__ == "__main__":
    main()
