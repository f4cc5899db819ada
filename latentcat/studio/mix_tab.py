"""Mix: Image2StyleGAN crossover of a content cat and a style cat, with a slider for the crossover layer. It
runs the mix command's job (every layer at once) into the visitor's folder; the slider only picks a result."""
import gradio as gr
from PIL import Image

from latentcat.jobs import mix
from latentcat.outputs import OutputFolder
from latentcat.studio.common import CATS, MODEL, page_action, shown
from latentcat.studio.studio import Studio, Visitor, refuse

ACTION = "mix"


class MixTab:
    def __init__(self, studio: Studio):
        self.studio = studio

    def layout(self, visitor: gr.State) -> None:
        num_ws = getattr(self.studio.G, "num_ws", 0)
        with gr.Tab("Mix", id="mix"):
            with gr.Row():
                with gr.Column(scale=1):
                    content = gr.File(label="content (pose, shape): photo or latent", file_types=CATS,
                                      height=120, elem_id="mix-content")
                    style = gr.File(label="style (colours, texture): photo or latent", file_types=CATS,
                                    height=120, elem_id="mix-style")
                    steps = gr.Slider(0, 300, value=self.studio.options.invert_steps, step=1,
                                      label="refinement steps", elem_id="mix-steps")
                    go = gr.Button("Mix", variant="primary")
                with gr.Column(scale=2):
                    with gr.Row():
                        content_seen = gr.Image(label="content", interactive=False, buttons=[], format="png")
                        mixed = gr.Image(label="mix", interactive=False, buttons=[], format="png",
                                         elem_id="mix-result")
                        style_seen = gr.Image(label="style", interactive=False, buttons=[], format="png")
                    layer = gr.Slider(0, num_ws, value=num_ws // 2, step=1, elem_id="mix-layer",
                                      label=f"layers from the content cat (0: all style; {num_ws}: all content)")
                    status = gr.Markdown("Choose a content cat and a style cat.", elem_id="mix-status")
                    file = gr.File(label="download: this mix", interactive=False)
        go.click(self.mix, [content, style, steps, layer, visitor], [content_seen, mixed, style_seen, file, status],
                 api_name="mix", concurrency_id=MODEL, concurrency_limit=1)
        layer.change(self.show, [layer, visitor], [mixed, file], api_name="mix_layer", concurrency_limit=None,
                     show_progress="hidden")

    @page_action
    def mix(self, content, style, steps, layer, visitor: Visitor):
        paths = [content, style]
        self.studio.read(paths, "a content and a style cat", allow_latents=True)
        yield None, None, None, None, "Inverting both cats, then mixing them at every layer…"
        folder = visitor.fresh_folder(ACTION)
        with OutputFolder(folder) as out:
            summary = mix.run(self.studio.inversion(steps), paths, mix.MixOptions(), out)
        refuse(summary.errors)
        results = [(shown(Image.open(folder / name).convert("RGB")), str(folder / name))
                   for name in summary.extra["outputs"]]
        visitor.results[ACTION] = results
        picture, file = self.show(layer, visitor)
        # the extremes are the two cats themselves: every layer from content, or every layer from style
        yield (results[-1][0], picture, results[0][0], file,
               "Move the slider: coarse layers hold pose and shape, fine ones colour and texture.")

    @page_action
    def show(self, layer, visitor: Visitor):
        results = visitor.results.get(ACTION)
        if not results:
            return None, None
        return results[min(int(layer), len(results) - 1)]
