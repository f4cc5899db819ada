"""Draw: coloured strokes on a canvas; after each stroke the generator's K best fits stream in, best first
(iGAN). The fit is the draw command's (`fit_sketch`: masked losses, random starts in w), ranked as it ranks."""
import time
from dataclasses import dataclass

import gradio as gr
import torch
from PIL import Image

from inversion.code import Code
from inversion.draw import fit_sketch, rank_fits, sketch_starts
from latentcat.errors import UserError
from latentcat.images import to_pil
from latentcat.latent_files import SUFFIX, write_code
from latentcat.outputs import OutputFolder
from latentcat.sketches import sketch_from_image, sketch_preview
from latentcat.streaming import streamed
from latentcat.studio.common import DISPLAY, Pace, newest_wins, page_action, picture_file, shown, stop_button
from latentcat.studio.studio import Studio, Visitor

ACTION = "draw"
CANVAS = 256
PALETTE = ["#1a1a1a", "#e4ddd0", "#8a8a8a", "#d9822b", "#7a4a22", "#f4c89a", "#3f9b4a", "#4a7fd4", "#e58aa6"]
EMPTY = "Draw a few coloured strokes: fur colours, eyes, ears. The best cats follow each stroke."


@dataclass
class Fits:
    """The latest fits of one visitor, best first: what a click on a thumbnail downloads."""
    codes: list[Code]
    images: list[torch.Tensor]
    errors: list[float]


def strokes_of(value: dict | None) -> Image.Image | None:
    """The canvas's layers merged into one RGBA image (transparent where nothing is drawn), or None."""
    layers = [layer for layer in (value or {}).get("layers") or [] if layer is not None]
    if not layers:
        return None
    merged = Image.new("RGBA", layers[0].size, (0, 0, 0, 0))
    for layer in layers:
        merged = Image.alpha_composite(merged, layer.convert("RGBA").resize(merged.size))
    return merged


def chosen_rank(evt: gr.SelectData) -> int:
    return evt.index


class DrawTab:
    def __init__(self, studio: Studio):
        self.studio = studio

    def layout(self, visitor: gr.State) -> None:
        o = self.studio.options
        with gr.Tab("Draw", id="draw"):
            with gr.Row():
                with gr.Column():
                    # no starting value: Gradio's editor skips its first change event, which is then the
                    # blank canvas it makes, not the visitor's first stroke
                    editor = gr.ImageEditor(
                        label="sketch", canvas_size=(CANVAS, CANVAS), fixed_canvas=True, image_mode="RGBA",
                        type="pil", format="png", transforms=(), layers=False, sources=(), elem_id="draw-canvas",
                        brush=gr.Brush(default_size=6, colors=PALETTE, color_mode="defaults"),
                        eraser=gr.Eraser(default_size=12), buttons=[], height=CANVAS + 120)
                    with gr.Row():
                        samples = gr.Slider(1, 8, value=o.draw_samples, step=1, label="random starts (K)",
                                            elem_id="draw-samples")
                        steps = gr.Slider(1, 300, value=o.draw_steps, step=1, label="steps", elem_id="draw-steps")
                        seed = gr.Number(0, precision=0, label="seed of the starts", minimum=0)
                    stop = gr.Button("Stop the fit", size="sm")
                with gr.Column():
                    gallery = gr.Gallery(label="fits, best first: click one to download it", columns=4,
                                         format="png", elem_id="draw-fits", allow_preview=False, height=DISPLAY + 80)
                    status = gr.Markdown(EMPTY, elem_id="draw-status")
                    with gr.Row():
                        fitted = gr.Image(label="what is fitted (strokes at the generator's size)", height=160,
                                          interactive=False, buttons=[], format="png", scale=1)
                        files = gr.File(label="download: PNG + latent", file_count="multiple", interactive=False,
                                        elem_id="draw-files", scale=2)
                    chosen = gr.Number(visible=False, precision=0)
                    details = gr.JSON(visible=False)
            newest_wins([editor.change], ACTION, visitor, self.fit, [editor, samples, steps, seed],
                        [gallery, fitted, status, details], api_name="draw")
            stop_button(stop, ACTION, visitor)
            gallery.select(chosen_rank, None, chosen, api_visibility="private", concurrency_limit=None,
                           show_progress="hidden").then(
                self.download, [chosen, visitor], [files, status], api_name="draw_download", concurrency_limit=None)

    @page_action
    def fit(self, value, samples, steps, seed, visitor: Visitor, ticket: int):
        """Fit the canvas's strokes from K random starts; stream the fits, best first, as they improve."""
        o, G = self.studio.options, self.studio.G
        time.sleep(o.debounce_seconds)
        if not visitor.is_current(ACTION, ticket):
            return  # a newer stroke came: its own fit follows
        strokes = strokes_of(value)
        try:
            sketch, mask, _ = sketch_from_image(strokes, G.resolution, "the canvas") if strokes else (None,) * 3
        except UserError:
            sketch = None  # nothing drawn (all erased, cleared)
        visitor.results.pop(ACTION, None)  # a click on a thumbnail now waits for this fit's results
        if sketch is None:
            yield [], None, EMPTY, {"empty": True}
            return
        samples, steps, seed = int(samples), int(steps), int(seed or 0)
        pictures = visitor.fresh_picture_folder(ACTION)
        preview = picture_file(shown(sketch_preview(sketch, mask)), pictures)
        device = self.studio.session.device
        tic = time.perf_counter()

        def update(images: torch.Tensor, done: int, order: list[int], errors: list[float], state: str):
            thumbs = [(picture_file(shown(images[i]), pictures), f"#{rank + 1} · error {errors[i]:.3f}")
                      for rank, i in enumerate(order)]
            text = (f"{state}: step {done}/{steps} · best error in the strokes {errors[order[0]]:.3f} · "
                    f"{time.perf_counter() - tic:.1f} s")
            return thumbs, preview, text, {"step": done, "steps": steps, "errors": [errors[i] for i in order],
                                           "mask_coverage": float(mask.mean()), "seconds": time.perf_counter() - tic}

        config = self.studio.draw_config(steps)
        with torch.no_grad():
            starts = sketch_starts(G, config, samples, seed).render(G).cpu()
        yield update(starts, 0, *rank_fits(starts, sketch, mask), "starts")  # at once, before the first step

        def work(emit, stopped):
            pace = Pace(o.update_seconds, steps)

            def on_step(step, render):
                if pace.due(step):
                    images = render().cpu()
                    emit(update(images, step + 1, *rank_fits(images, sketch, mask), "fitting"))

            return fit_sketch(G, sketch.to(device), mask.to(device), config, samples, seed,
                              self.studio.session.network, progress=False, on_step=on_step,
                              stop=lambda: stopped() or not visitor.is_current(ACTION, ticket))

        result = yield from streamed(work)
        order, errors = rank_fits(result.images, sketch, mask, skip=result.log.failures)
        if not order:
            raise UserError(f"the fit failed: {result.log.failures[0]}")
        visitor.results[ACTION] = Fits([result.code[i] for i in order], [result.images[i] for i in order],
                                       [errors[i] for i in order])
        state = "stopped" if result.log.stopped else "done"
        yield update(result.images, result.log.steps, order, errors, state)

    @page_action
    def download(self, rank, visitor: Visitor):
        """The chosen fit as a PNG and a latent file (of the latest finished fit)."""
        fits: Fits | None = visitor.results.get(ACTION)
        if fits is None:
            raise UserError("no finished fit yet: draw, and wait for the fit to end (or stop it)")
        rank = int(rank or 0)
        if not 0 <= rank < len(fits.codes):
            raise UserError(f"there are {len(fits.codes)} fits; choose one of them")
        folder = visitor.fresh_folder(ACTION)
        with OutputFolder(folder) as out:
            png = out.png(f"draw-{rank + 1}.png", to_pil(fits.images[rank]))
            latent = out.write(f"draw-{rank + 1}{SUFFIX}", lambda p: write_code(p, fits.codes[rank], "studio draw"))
        return [str(folder / png), str(folder / latent)], f"fit #{rank + 1} (error {fits.errors[rank]:.3f}) is ready"

