"""Morph: two photos (or saved latents) and a slider that moves along the interpolation between them, plus the
GIF. It runs the interpolate command's job into the visitor's folder."""
import gradio as gr
from PIL import Image

from latentcat.jobs import interpolate
from latentcat.outputs import OutputFolder
from latentcat.studio.common import CATS, MODEL, page_action, shown
from latentcat.studio.studio import Studio, Visitor, refuse

ACTION = "morph"


class MorphTab:
    def __init__(self, studio: Studio):
        self.studio = studio

    def layout(self, visitor: gr.State) -> None:
        o = self.studio.options
        with gr.Tab("Morph", id="morph"):
            with gr.Row():
                with gr.Column(scale=1):
                    a = gr.File(label="from: a photo or a .latent.safetensors", file_types=CATS, height=120,
                                elem_id="morph-a")
                    b = gr.File(label="to: a photo or a .latent.safetensors", file_types=CATS, height=120,
                                elem_id="morph-b")
                    with gr.Row():
                        frames = gr.Slider(2, 60, value=o.morph_frames, step=1, label="frames", elem_id="morph-frames")
                        steps = gr.Slider(0, 300, value=o.invert_steps, step=1, label="refinement steps",
                                          elem_id="morph-steps")
                    go = gr.Button("Morph", variant="primary")
                with gr.Column(scale=2):
                    frame = gr.Image(label="morph", interactive=False, buttons=[], format="png", elem_id="morph-frame")
                    position = gr.Slider(0, o.morph_frames - 1, value=0, step=1, label="position (frame)",
                                         elem_id="morph-position")
                    status = gr.Markdown("Choose two cats: photos are inverted first, latents used as they are.",
                                         elem_id="morph-status")
                    gif = gr.File(label="download: GIF", interactive=False)
        go.click(self.morph, [a, b, frames, steps, visitor], [frame, position, gif, status], api_name="morph",
                 concurrency_id=MODEL, concurrency_limit=1)
        position.change(self.show, [position, visitor], frame, api_name="morph_frame", concurrency_limit=None,
                        show_progress="hidden")

    @page_action
    def morph(self, a, b, frames, steps, visitor: Visitor):
        paths = [a, b]
        self.studio.read(paths, "two photos or latent files", allow_latents=True)  # refuse bad files at once
        yield None, gr.update(), None, "Inverting both cats, then interpolating…"
        folder = visitor.fresh_folder(ACTION)
        with OutputFolder(folder) as out:
            summary = interpolate.run(self.studio.inversion(steps), paths,
                                      interpolate.InterpolateOptions(frames=int(frames)), out)
        refuse(summary.errors)
        pictures = [shown(Image.open(folder / name).convert("RGB")) for name in summary.extra["frames"]]
        visitor.results[ACTION] = pictures
        yield (pictures[0], gr.update(maximum=len(pictures) - 1, value=0), str(folder / summary.extra["gif"]),
               f"{len(pictures)} frames in {summary.settings['space']}: move the slider")

    @page_action
    def show(self, position, visitor: Visitor):
        pictures = visitor.results.get(ACTION)
        if not pictures:
            return None
        return pictures[min(int(position), len(pictures) - 1)]
