"""The studio as a new visitor uses it, in a headless Chromium: draw strokes, invert a photo, morph and mix two
cats, load one and move two of its direction sliders; a screenshot of each tab (the README's pictures). Needs
Chromium (Debian: chromium).

    python docs/studio_tour.py --out docs      # starts `infer.py studio` with the shipped models
"""
import argparse
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from latentcat.examples import write_examples  # noqa: E402
from latentcat.session import SHIPPED_GENERATOR  # noqa: E402
from latentcat.studio.local import (CHROMIUM_FLAGS, NO_CHROMIUM, chromium, free_port, start_studio,  # noqa: E402
                                    wait_until_up)

WAIT_MS = 600_000  # a fit or an inversion on a busy CPU
TABS = ("draw", "invert", "morph", "mix", "edit")


def stroke(page: Page, points: list[tuple[float, float]]) -> None:
    """One mouse stroke through `points`, given as fractions of the canvas."""
    box = page.locator("#draw-canvas canvas").first.bounding_box()
    at = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in points]
    page.mouse.move(*at[0])
    page.mouse.down()
    for x, y in at[1:]:
        page.mouse.move(x, y, steps=8)
    page.mouse.up()


def colour(page: Page, index: int) -> None:
    """Pick the palette's `index`th colour (the brush's colour button, then a swatch)."""
    page.locator('#draw-canvas button[aria-label="Color"]').click()
    page.locator("#draw-canvas button.color:not(.colorpicker)").nth(index).click()
    page.keyboard.press("Escape")


def set_number(page: Page, elem_id: str, value: float) -> None:
    field = page.locator(f"#{elem_id} input[type=number]")
    field.fill(str(value))
    field.press("Enter")


def wait_for_text(page: Page, elem_id: str, text: str) -> None:
    page.locator(f"#{elem_id}", has_text=text).wait_for(timeout=WAIT_MS)


def draw(page: Page, out: Path) -> None:
    page.locator('#draw-canvas button[aria-label="Brush"]').wait_for()
    set_number(page, "draw-steps", 40)
    colour(page, 3)  # orange fur
    stroke(page, [(0.3, 0.35), (0.5, 0.3), (0.7, 0.35), (0.7, 0.7), (0.3, 0.7), (0.3, 0.35)])
    wait_for_text(page, "draw-status", "done")
    page.locator("#draw-fits img").first.click()  # download the best fit
    page.locator("#draw-files", has_text=".safetensors").wait_for(timeout=WAIT_MS)
    page.screenshot(path=out / "studio-draw.png")


def upload(page: Page, elem_id: str, path: Path) -> None:
    page.locator(f"#{elem_id} input[type=file]").set_input_files(path)


def invert(page: Page, out: Path, photo: Path) -> None:
    page.get_by_role("tab", name="Invert").click()
    set_number(page, "invert-steps", 30)
    upload(page, "invert-photo", photo)
    wait_for_text(page, "invert-status", "done")
    page.screenshot(path=out / "studio-invert.png")


def morph(page: Page, out: Path, a: Path, b: Path) -> None:
    page.get_by_role("tab", name="Morph").click()
    set_number(page, "morph-steps", 20)
    upload(page, "morph-a", a)
    upload(page, "morph-b", b)
    page.get_by_role("button", name="Morph").click()
    wait_for_text(page, "morph-status", "frames")
    set_number(page, "morph-position", 7)
    page.wait_for_timeout(1000)
    page.screenshot(path=out / "studio-morph.png")


def mix(page: Page, out: Path, content: Path, style: Path) -> None:
    page.get_by_role("tab", name="Mix").click()
    set_number(page, "mix-steps", 20)
    upload(page, "mix-content", content)
    upload(page, "mix-style", style)
    page.get_by_role("button", name="Mix", exact=True).click()
    wait_for_text(page, "mix-status", "Move the slider")
    page.wait_for_timeout(1000)
    page.screenshot(path=out / "studio-mix.png")


def edit(page: Page, out: Path, photo: Path) -> None:
    page.get_by_role("tab", name="Edit").click()
    set_number(page, "edit-steps", 20)
    upload(page, "edit-cat", photo)
    page.get_by_role("button", name="Load", exact=True).click()
    wait_for_text(page, "edit-status", "move a slider")
    set_number(page, "edit-direction-0", 4)
    set_number(page, "edit-direction-1", -3)
    wait_for_text(page, "edit-status", "2 directions applied")
    page.wait_for_timeout(1000)
    page.screenshot(path=out / "studio-edit.png")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="docs", help="folder for the screenshots")
    parser.add_argument("--url", help="tour a studio already running there (default: start one)")
    parser.add_argument("--only", nargs="+", choices=TABS, default=TABS, metavar="TAB",
                        help=f"take only these tabs' screenshots ({', '.join(TABS)}; default: all)")
    args = parser.parse_args()
    browser_path = chromium()
    if browser_path is None:
        raise SystemExit(NO_CHROMIUM)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    server, url = None, args.url
    if url is None:
        port = free_port()
        server, url = start_studio(port), f"http://127.0.0.1:{port}/"
    try:
        wait_until_up(url, server)
        with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
            cats = write_examples(Path(tmp), SHIPPED_GENERATOR)
            browser = p.chromium.launch(executable_path=browser_path, args=CHROMIUM_FLAGS, headless=True)
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            page.goto(url)
            steps = {"draw": lambda: draw(page, out), "invert": lambda: invert(page, out, cats[0]),
                     "morph": lambda: morph(page, out, cats[0], cats[1]),
                     "mix": lambda: mix(page, out, cats[0], cats[1]), "edit": lambda: edit(page, out, cats[1])}
            for name in args.only:
                steps[name]()
                print(f"{name}: {out / f'studio-{name}.png'}")
            browser.close()
    finally:
        if server is not None:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
