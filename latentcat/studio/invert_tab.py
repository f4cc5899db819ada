"""Invert: a photo's latent. The encoder's guess is shown at once, then the refinement streams in, photo and
result side by side with LPIPS and PSNR; the latent can be downloaded. The inversion is the invert command's
(`invert_all` with the hybrid's start and steps); whatever it reports through its step hook is streamed."""
import time

import gradio as gr
import torch

from inversion.metrics import reconstruction_metrics
from latentcat.batches import invert_all, write_inverted
from latentcat.errors import UserError
from latentcat.outputs import OutputFolder
from latentcat.streaming import streamed
from latentcat.studio.common import PHOTOS, Pace, newest_wins, page_action, picture_file, shown, stop_button
from latentcat.studio.studio import Studio, Visitor

ACTION = "invert"


class InvertTab:
    def __init__(self, studio: Studio):
        self.studio = studio

    def layout(self, visitor: gr.State) -> None:
        with gr.Tab("Invert", id="invert"):
            with gr.Row():
                with gr.Column(scale=1):
                    photo = gr.File(label="photo: drop or click to upload", file_types=PHOTOS,
                                    elem_id="invert-photo", height=140)
                    steps = gr.Slider(0, 300, value=self.studio.options.invert_steps, step=1,
                                      label="refinement steps after the first guess", elem_id="invert-steps")
                    with gr.Row():
                        again = gr.Button("Invert again", size="sm")
                        stop = gr.Button("Stop", size="sm")
                with gr.Column(scale=2):
                    with gr.Row():
                        seen = gr.Image(label="photo (as the generator sees it)", interactive=False, buttons=[],
                                        format="png")
                        result = gr.Image(label="result", interactive=False, buttons=[], format="png",
                                          elem_id="invert-result")
                    status = gr.Markdown("Upload a cat photo: its latent is found in the generator.",
                                         elem_id="invert-status")
                    files = gr.File(label="download: reconstruction PNG + latent", file_count="multiple",
                                    interactive=False)
                    details = gr.JSON(visible=False)
            newest_wins([photo.upload, again.click], ACTION, visitor, self.invert, [photo, steps],
                        [seen, result, status, details, files], api_name="invert")
            stop_button(stop, ACTION, visitor)

    @page_action
    def invert(self, path, steps, visitor: Visitor, ticket: int):
        """The first guess at once, then the refinement as it goes, then the files to download."""
        tic = time.perf_counter()
        pictures = visitor.fresh_picture_folder(ACTION)
        steps = int(steps)
        photo = self.studio.read([path], "a photo")[0]
        run = self.studio.inversion(steps)
        G, device = run.G, run.device
        targets = photo.image[None].to(device)
        first = "the encoder's guess" if run.start.init == "encoder" else "the average cat (no encoder)"

        def update(images: torch.Tensor, state: str, done: int, metrics: dict | None = None, files=None):
            m = metrics or reconstruction_metrics(images.cpu(), targets.cpu(), run.metric_network)[0]
            text = (f"{state} · step {done}/{steps} · LPIPS {m['lpips']:.3f} ({m['lpips_net']}) · "
                    f"PSNR {m['psnr']:.2f} dB · {time.perf_counter() - tic:.2f} s")
            details = {"state": state, "step": done, "steps": steps, "lpips": m["lpips"], "psnr": m["psnr"],
                       "seconds": time.perf_counter() - tic}
            # the photo was sent with the first update, and the page keeps it
            return gr.skip(), picture_file(shown(images[0].cpu()), pictures), text, details, files

        with torch.no_grad():
            guess = run.start.codes(run, [photo], targets).to(device).render(G).cpu()
        # outside no_grad (a generator may resume on another thread): the guess at once, then its metrics
        yield (picture_file(shown(photo.image), pictures), picture_file(shown(guess[0]), pictures),
               f"{first} · measuring…",
               {"state": first, "step": 0, "steps": steps, "seconds": time.perf_counter() - tic}, None)
        yield update(guess, first, 0)

        def work(emit, stopped):
            pace = Pace(self.studio.options.update_seconds, steps)

            def on_step(step, render):
                if pace.due(step):
                    emit(update(render(), "refining", step + 1))

            return invert_all(run, [photo], on_step=on_step,
                              stop=lambda: stopped() or not visitor.is_current(ACTION, ticket))

        done, errors = yield from streamed(work)
        if errors:
            raise UserError(errors[0]["error"], photo.path)
        inverted = done[0]
        folder = visitor.fresh_folder(ACTION)
        with OutputFolder(folder) as out:
            item = write_inverted(out, inverted, run.generator_path)
        files = [str(folder / item["outputs"][key]) for key in ("reconstruction", "latent")]
        state = "done" if inverted.steps == steps else "stopped"
        yield update(inverted.image[None], state, inverted.steps, inverted.metrics, files)

