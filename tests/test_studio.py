"""infer.py studio: the page's API driven by Gradio's own client against a real server on localhost (tiny
models), and the page itself in a headless Chromium, where one is installed."""
import io
import os
import threading
import time

import numpy as np
import pytest
import torch
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image
from playwright.sync_api import sync_playwright

from encoder.config import EncoderConfig
from encoder.model import WPlusEncoder
from generators import fingerprint
from inversion.directions import sample_codes, sefa
from inversion.metrics import masked_l1
from latentcat.encoder_files import save_encoder
from latentcat.errors import UserError
from latentcat.generator_files import load_generator
from latentcat.latent_files import load_code
from latentcat.session import SessionSettings, open_session
from latentcat.sketches import sketch_from_image
from latentcat.streaming import streamed
from latentcat.studio import editing
from latentcat.studio.common import picture_file
from latentcat.studio.editing import SLIDERS, DirectionsCache, edited, layer_range
from latentcat.studio.local import CHROMIUM_FLAGS, NO_CHROMIUM, chromium, free_port
from latentcat.studio.options import StudioOptions
from latentcat.studio.page import serve
from latentcat.studio.studio import Studio
from tests.conftest import infer, summary, tiny_generator



@pytest.fixture(scope="module")
def studio(gen, tmp_path_factory):
    """A real studio server on localhost: the tiny generator, a random encoder for it, short fits."""
    G = load_generator(gen)
    encoder = tmp_path_factory.mktemp("enc") / "enc.safetensors"
    save_encoder(encoder, WPlusEncoder(EncoderConfig(resolution=16, num_ws=G.num_ws, w_dim=G.w_dim)), fingerprint(G))
    session = open_session(SessionSettings(generator=str(gen), encoder=str(encoder), perceptual="stlpips-alex",
                                           progress=False))
    shared = Studio.open(session, StudioOptions(port=free_port(), draw_samples=3, draw_steps=8, invert_steps=6,
                                                morph_frames=5, update_seconds=0, debounce_seconds=0))
    page = serve(shared, block=False)
    yield page.local_url
    page.close()
    shared.close()


def test_a_stream_stops_its_work_when_its_reader_leaves():
    steps = []

    def work(emit, stopped):
        while not stopped():
            steps.append(len(steps))
            emit(len(steps))
            time.sleep(0.01)
        return "stopped"

    updates = streamed(work)
    assert next(updates) >= 1
    updates.close()  # a page cancelled, or the visitor left: the work ends with the reader
    done = len(steps)
    time.sleep(0.05)
    assert len(steps) == done


def test_a_reader_that_falls_behind_gets_the_newest_update_and_always_the_last():
    def work(emit, stopped):
        for i in range(1, 6):
            emit(i)
        return "done"

    updates = streamed(work)
    seen = [next(updates)]
    time.sleep(0.05)  # the work has ended: everything it emitted and its end are waiting
    with pytest.raises(StopIteration) as end:
        while True:
            seen.append(next(updates))
    assert seen[-1] == 5 and seen == sorted(seen) and end.value.value == "done"


def test_a_picture_streamed_again_is_the_same_file_never_rewritten(tmp_path):
    """Gradio writes a picture object over its cached copy each time it is sent, cutting short a page still
    fetching it; a file it copies once by content. So a streamed picture is a file named by its content."""
    red, blue = (Image.new("RGB", (8, 8), colour) for colour in ("red", "blue"))
    first = picture_file(red, tmp_path / "pictures")
    written = os.stat(first).st_mtime_ns
    time.sleep(0.01)
    assert picture_file(red.copy(), tmp_path / "pictures") == first and os.stat(first).st_mtime_ns == written
    assert picture_file(blue, tmp_path / "pictures") != first
    assert Image.open(first).getpixel((0, 0)) == (255, 0, 0)
    visitor = Studio(None, StudioOptions(), tmp_path).new_visitor()
    folder = visitor.fresh_picture_folder("draw")
    picture_file(red, folder)
    download = visitor.fresh_folder("draw")  # a download does not take a streaming run's pictures away
    assert list(folder.iterdir()) and download != folder
    assert not visitor.fresh_picture_folder("draw").exists()  # the next run starts afresh


def strokes(folder, name: str, box: tuple, colour: tuple):
    """A transparent canvas with one opaque stroke (the editor's layer), as the page uploads it."""
    rgba = np.zeros((128, 128, 4), np.uint8)
    top, bottom, left, right = box
    rgba[top:bottom, left:right] = (*colour, 255)
    path = folder / name
    Image.fromarray(rgba, "RGBA").save(path)
    return path


def canvas(path) -> dict:
    return {"background": None, "layers": [handle_file(path)], "composite": handle_file(path), "id": None}


def draw(url, sketch) -> tuple[Client, list]:
    client = Client(url, verbose=False)
    job = client.submit(canvas(sketch), 3, 8, 0, api_name="/draw")
    job.result()
    return client, job.outputs()


def test_draw_streams_fits_best_first_and_their_error_falls(studio, tmp_path):
    _, updates = draw(studio, strokes(tmp_path, "a.png", (20, 100, 30, 60), (230, 120, 30)))
    details = [u[3] for u in updates]
    steps = [d["step"] for d in details]  # the starts at once, then the fit as it goes (a late reader skips some)
    assert steps[0] == 0 and steps[-1] == 8 and steps == sorted(steps) and len(steps) >= 3
    for update, d in zip(updates, details):
        assert len(update[0]) == 3 and d["errors"] == sorted(d["errors"])  # three thumbnails, best first
    assert details[-1]["errors"][0] < details[0]["errors"][0]
    assert "done" in updates[-1][2]


def test_two_visitors_at_once_each_get_their_own_fit(studio, tmp_path):
    sketches = [strokes(tmp_path, "left.png", (10, 110, 10, 40), (240, 140, 40)),
                strokes(tmp_path, "bottom.png", (90, 120, 10, 118), (20, 20, 20))]
    results = [None, None]

    def visit(i):
        results[i] = draw(studio, sketches[i])

    threads = [threading.Thread(target=visit, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for sketch_path, (client, updates) in zip(sketches, results):
        files, _ = client.predict(0, api_name="/draw_download")
        png, latent = sorted(files, key=lambda f: f.endswith(".safetensors"))
        sketch, mask, _ = sketch_from_image(Image.open(sketch_path), 16, "sketch")
        image = torch.from_numpy(np.array(Image.open(png).convert("RGB"))).permute(2, 0, 1)[None] / 127.5 - 1
        # the file this visitor downloads is its own best fit: its error in its own strokes is the one it was shown
        assert masked_l1(image, sketch[None], mask[None])[0] == pytest.approx(updates[-1][3]["errors"][0], abs=1e-6)
        assert latent.endswith(".latent.safetensors")


def test_invert_shows_the_encoder_guess_then_streams_the_refinement(studio, gen, photos):
    client = Client(studio, verbose=False)
    job = client.submit(handle_file(photos / "a.png"), 6, api_name="/invert")
    job.result()
    updates = job.outputs()
    assert updates[0][3]["state"] == "the encoder's guess" and updates[0][1]
    final = updates[-1][3]
    assert final["state"] == "done" and final["step"] == 6 and final["lpips"] > 0 and final["psnr"] > 0
    steps = [u[3]["step"] for u in updates]
    assert steps[:2] == [0, 0] and steps == sorted(steps) and len(steps) >= 4
    assert Image.open(updates[-1][1]).size == (256, 256)
    latent = next(f for f in updates[-1][4] if f.endswith(".latent.safetensors"))
    G = load_generator(gen)
    assert load_code(latent, G, fingerprint(G)).space == "w+"


def test_morph_gives_the_frames_asked_for_and_its_slider_moves_along_them(studio, photos):
    client = Client(studio, verbose=False)
    frame, _, gif, status = client.predict(handle_file(photos / "a.png"), handle_file(photos / "b.png"), 5, 2,
                                           api_name="/morph")
    assert Image.open(gif).n_frames == 5 and "5 frames" in status
    last = client.predict(4, api_name="/morph_frame")
    assert not np.array_equal(np.asarray(Image.open(frame)), np.asarray(Image.open(last)))


def test_a_bad_upload_is_one_line_in_the_page_and_the_server_goes_on(studio, photos, tmp_path):
    client = Client(studio, verbose=False)
    fake = tmp_path / "notes.png"
    fake.write_text("not a picture")
    with pytest.raises(AppError) as bad:
        client.predict(handle_file(fake), 0, api_name="/invert")
    assert str(bad.value.message) == "notes.png: not an image file (unrecognised format)"
    details = client.predict(handle_file(photos / "b.png"), 0, api_name="/invert")[3]
    assert details["state"] == "done"


def pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), np.int16)


def test_sefa_directions_are_found_once_per_generator(gen, monkeypatch):
    found = []
    monkeypatch.setattr(editing, "sefa", lambda G, *args: found.append(G) or sefa(G, *args))
    cache, G, other = DirectionsCache(), load_generator(gen), tiny_generator(seed=3)
    first = cache.get(G, fingerprint(G))
    assert cache.get(G, fingerprint(G)) is first and len(first) == SLIDERS  # the second visit: a cache hit
    assert cache.get(other, fingerprint(other)).generator == fingerprint(other)  # a tuned photo's: its own
    assert found == [G, other]


def test_slider_strengths_move_only_the_chosen_layers_and_zeros_give_the_input_back(gen):
    G = load_generator(gen)
    code, directions = sample_codes(G, 1, seed=0, truncation=1.0), sefa(G, None, 3)
    assert edited(G, code, directions, [0, 0, 0], layer_range(G, "0-5")) is code
    moved = edited(G, code, directions, [2.0, 0, -1.5], layer_range(G, "1,3-4"))
    before, after = code.as_wplus(G).latent[0], moved.latent[0]
    changed = [i for i in range(G.num_ws) if not torch.equal(before[i], after[i])]
    assert changed == [1, 3, 4]
    assert torch.allclose(after[3] - before[3], 2.0 * directions.vectors[0, 3] - 1.5 * directions.vectors[2, 3])
    with torch.no_grad():
        assert not torch.equal(moved.render(G), code.render(G))
    for text, message in [("4-9", r"w\+ layer 6 does not exist"), ("fur", "layers are numbers and ranges")]:
        with pytest.raises(UserError, match=message) as bad:
            layer_range(G, text)
        assert "\n" not in str(bad.value)


def edit_load(client, cat, generator=None, strengths=(), layers="0-5"):
    values = [*strengths, *[0] * (SLIDERS - len(strengths))]
    return client.predict(handle_file(cat), handle_file(generator) if generator else None, 2, layers, *values,
                          api_name="/edit_load")


def test_edit_previews_each_slider_and_downloads_what_infer_reads_back(studio, gen, photos, tmp_path):
    client = Client(studio, verbose=False)
    loaded, result, status = edit_load(client, photos / "a.png")
    assert np.array_equal(pixels(loaded), pixels(result)) and "move a slider" in status
    moved, _ = client.predict("0-5", 4.0, *[0] * (SLIDERS - 1), api_name="/edit_preview")
    assert np.abs(pixels(moved) - pixels(loaded)).mean() > 1  # the slider moved the picture
    back, _ = client.predict("0-5", *[0] * SLIDERS, api_name="/edit_preview")
    assert np.array_equal(pixels(back), pixels(loaded))  # strength 0: the input picture again
    with pytest.raises(AppError) as bad:
        client.predict("2-40", 1.0, *[0] * (SLIDERS - 1), api_name="/edit_preview")
    assert str(bad.value.message) == "w+ layer 6 does not exist: this generator has layers 0-5"
    files, _ = client.predict("0-1", 4.0, *[0] * (SLIDERS - 1), api_name="/edit_download")
    png, latent = sorted(files, key=lambda f: f.endswith(".safetensors"))
    assert png.endswith("a-edited.png") and latent.endswith("a-edited.latent.safetensors")
    out = tmp_path / "again"
    infer("interpolate", latent, latent, "--frames", "2", "--out", out, gen=gen)  # the command line reads it back
    assert np.array_equal(pixels(out / summary(out)["frames"][0]), pixels(png))


def test_a_tuned_photo_is_edited_with_its_own_tuned_generator(studio, gen, photos, tmp_path):
    out = tmp_path / "tuned"
    infer("invert", photos / "b.png", "--tune-generator", "2", "--out", out, gen=gen)
    item = summary(out)["items"][0]
    latent, tuned = (out / item["outputs"][key] for key in ("latent", "generator"))
    client = Client(studio, verbose=False)
    with pytest.raises(AppError, match="belongs to generator"):  # the studio's generator alone cannot render it
        edit_load(client, latent)
    with pytest.raises(AppError) as bad:
        edit_load(client, latent, gen)
    assert str(bad.value.message).startswith("tiny.safetensors: not a tuned generator")
    edit_load(client, latent, tuned)
    files, _ = client.predict("0-5", *[0] * SLIDERS, api_name="/edit_download")
    png = next(f for f in files if f.endswith(".png"))
    assert np.array_equal(pixels(png), pixels(out / item["outputs"]["reconstruction"]))
    assert load_code(next(f for f in files if f.endswith(".safetensors")), load_generator(tuned),
                     fingerprint(load_generator(tuned))).generator == fingerprint(load_generator(tuned))


def chromium_or_skip() -> str:
    """The system's Chromium; without one the browser tests skip, except where CI requires them."""
    path = chromium()
    if path is None:
        if os.environ.get("LATENTCAT_BROWSER_TEST") == "required":
            pytest.fail(NO_CHROMIUM)
        pytest.skip(f"{NO_CHROMIUM}: the browser test is skipped")
    return path


def test_a_stroke_drawn_in_chromium_brings_a_thumbnail(studio, tmp_path):
    browser_path = chromium_or_skip()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=browser_path, args=CHROMIUM_FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(studio)
        brush = page.locator('#draw-canvas button[aria-label="Brush"]')
        brush.wait_for()
        brush.click()
        box = page.locator("#draw-canvas canvas").first.bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.mouse.move(x - 30, y - 20)
        page.mouse.down()
        for i in range(15):
            page.mouse.move(x - 30 + 4 * i, y - 20 + 3 * i, steps=2)
        page.mouse.up()
        thumbnail = page.locator("#draw-fits img").first
        thumbnail.wait_for(timeout=60_000)
        page.wait_for_timeout(500)
        picture = np.asarray(Image.open(io.BytesIO(thumbnail.screenshot())).convert("RGB"), np.float32)
        page.screenshot(path=tmp_path / "studio-draw.png")
        browser.close()
    assert picture.std() > 2  # a rendered cat, not a blank square
    assert (tmp_path / "studio-draw.png").stat().st_size > 0


def test_an_edit_slider_moved_in_chromium_changes_the_picture(studio, photos):
    browser_path = chromium_or_skip()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=browser_path, args=CHROMIUM_FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(studio)
        page.get_by_role("tab", name="Edit").click()
        page.locator("#edit-cat input[type=file]").set_input_files(photos / "a.png")
        page.get_by_role("button", name="Load", exact=True).click()
        result = page.locator("#edit-result img")
        result.wait_for(timeout=60_000)
        page.locator("#edit-status", has_text="move a slider").wait_for(timeout=60_000)

        def after(change) -> np.ndarray:
            """The edited picture once `change` has replaced it."""
            before = result.get_attribute("src")
            change()
            page.wait_for_function("([s, src]) => document.querySelector(s)?.getAttribute('src') !== src",
                                   arg=["#edit-result img", before], timeout=60_000)
            page.wait_for_timeout(300)
            return shot(result)

        loaded = shot(result)  # the sliders at 0: the cat as loaded
        slider = page.locator("#edit-direction-0 input[type=range]")
        slider.focus()
        moved = after(lambda: slider.press("End"))  # the slider dragged to its end, as a keyboard moves it
        strength = page.locator("#edit-direction-0 input[type=number]")
        back = after(lambda: (strength.fill("0"), strength.press("Enter")))
        browser.close()
    assert np.abs(moved - loaded).mean() > 1
    assert np.array_equal(back, loaded)


def shot(locator) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(locator.screenshot())).convert("RGB"), np.int16)
