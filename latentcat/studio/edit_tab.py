"""Edit: move a cat along the generator's top SeFa directions, one slider each, on a chosen range of w+ layers,
the picture following each slider as it moves (one generator pass). The cat is a photo (inverted), a saved
latent, or either with its tuned generator file, then edited with that generator, as `infer.py edit` edits a
tuned photo. The edited PNG and latent download. The work is `latentcat.studio.editing`'s; this lays it out."""
from pathlib import Path

import gradio as gr

from latentcat.batches import codes_of
from latentcat.errors import UserError
from latentcat.images import to_pil
from latentcat.jobs.edit import latent_writer
from latentcat.latent_files import SUFFIX
from latentcat.outputs import OutputFolder
from latentcat.studio.common import CATS, MODEL, page_action, picture_file, shown
from latentcat.studio.editing import STRENGTH, EditedCat, layer_choices, tuned_session
from latentcat.studio.studio import Studio, Visitor, refuse

ACTION = "edit"
LOAD_FIRST = "Load a cat first: the sliders edit it."


def strengths_and_visitor(values: tuple) -> tuple[list[float], Visitor]:
    """Gradio hands the sliders' values one by one, the visitor last."""
    *strengths, visitor = values
    return [float(s or 0) for s in strengths], visitor


class EditTab:
    def __init__(self, studio: Studio):
        self.studio = studio

    def layout(self, visitor: gr.State) -> None:
        G = self.studio.G
        with gr.Tab("Edit", id="edit"):
            if "w+" not in G.latent_spaces:
                gr.Markdown(f"Directions live in w+, and this studio's generator ({G.config.arch}) has none: "
                            "open the studio with a StyleGAN2 generator to edit cats along directions.")
                return
            directions = self.studio.directions.get(G, self.studio.session.fingerprint)  # at once, not per visit
            with gr.Row():
                with gr.Column(scale=1):
                    cat = gr.File(label="a photo or a .latent.safetensors", file_types=CATS, height=120,
                                  elem_id="edit-cat")
                    tuned = gr.File(label="its tuned generator, if it has one (*.generator.safetensors)",
                                    file_types=[".safetensors"], height=120, elem_id="edit-generator")
                    steps = gr.Slider(0, 300, value=self.studio.options.invert_steps, step=1,
                                      label="refinement steps (photos)", elem_id="edit-steps")
                    load = gr.Button("Load", variant="primary")
                with gr.Column(scale=1):
                    with gr.Row():
                        loaded = gr.Image(label="as loaded", interactive=False, buttons=[], format="png",
                                          elem_id="edit-loaded", height=180)
                        result = gr.Image(label="edited", interactive=False, buttons=[], format="png",
                                          elem_id="edit-result", height=180)
                    status = gr.Markdown(LOAD_FIRST, elem_id="edit-status")
                    save = gr.Button("Download the edited PNG + latent", size="sm")
                    files = gr.File(label="download", file_count="multiple", interactive=False, height=120,
                                    elem_id="edit-files")
                with gr.Column(scale=1, elem_id="edit-directions"):
                    choices = layer_choices(G.num_ws)
                    layers = gr.Dropdown(choices, value=choices[0][1], allow_custom_value=True,
                                         label="w+ layers the sliders move (or type some: 0-3, 0,2,5-7)",
                                         elem_id="edit-layers")
                    gr.Markdown("This generator's SeFa directions, strongest first: each slider moves the cat "
                                "along one.")
                    sliders = [gr.Slider(-STRENGTH, STRENGTH, value=0, step=0.1, label=f"direction {k + 1}",
                                         elem_id=f"edit-direction-{k}") for k in range(len(directions))]
                    reset = gr.Button("All strengths to 0", size="sm")
        load.click(self.load, [cat, tuned, steps, layers, *sliders, visitor], [loaded, result, status],
                   api_name="edit_load", concurrency_id=MODEL, concurrency_limit=1)
        # live: one generator pass per change, the newest change only while one renders
        gr.on([s.change for s in sliders] + [layers.change], self.preview, [layers, *sliders, visitor],
              [result, status], api_name="edit_preview", concurrency_limit=None, trigger_mode="always_last",
              show_progress="hidden")
        reset.click(lambda: [0] * len(sliders), None, sliders, api_visibility="private", concurrency_limit=None,
                    show_progress="hidden")
        save.click(self.download, [layers, *sliders, visitor], [files, status], api_name="edit_download",
                   concurrency_limit=None)

    @page_action
    def load(self, path, generator, steps, layers, *values):
        """The cat's code (kept for the sliders, with the generator it belongs to), its picture, and its picture
        with the sliders as they stand."""
        strengths, visitor = strengths_and_visitor(values)
        session = self.studio.inversion(steps)
        if generator:
            session = tuned_session(session, generator)
        inputs = self.studio.read([path], "a photo or a latent file", allow_latents=True, session=session)
        inverted, errors = codes_of(session, inputs, None)
        refuse(errors)
        found = inverted[0]
        found.code = found.code.to(session.device)
        cat = EditedCat(found, session.G, self.studio.directions.get(session.G, session.fingerprint))
        original = cat.render([0] * len(strengths), layers)[1]
        image = cat.render(strengths, layers)[1]
        visitor.results[ACTION] = cat
        pictures = visitor.fresh_picture_folder(ACTION)
        own = "its own tuned generator" if generator else "the studio's generator"
        return (picture_file(shown(original), pictures), picture_file(shown(image), pictures),
                f"{cat.name}, with {own}: move a slider")

    @page_action
    def preview(self, layers, *values):
        strengths, visitor = strengths_and_visitor(values)
        cat: EditedCat | None = visitor.results.get(ACTION)
        if cat is None:
            return gr.skip(), LOAD_FIRST
        image = cat.render(strengths, layers)[1]
        moved = sum(1 for s in strengths if s)
        return (picture_file(shown(image), visitor.picture_folder(ACTION)),
                f"{cat.name}: {moved} direction{'' if moved == 1 else 's'} applied on layers {layers}")

    @page_action
    def download(self, layers, *values):
        """The edited picture (at the generator's size) and its latent, as the sliders stand."""
        strengths, visitor = strengths_and_visitor(values)
        cat: EditedCat | None = visitor.results.get(ACTION)
        if cat is None:
            raise UserError(LOAD_FIRST)
        code, image = cat.render(strengths, layers)
        folder = visitor.fresh_folder(ACTION)
        source = f"studio edit of {Path(cat.inverted.input.path).name}"
        with OutputFolder(folder) as out:
            png = out.png(f"{cat.name}-edited.png", to_pil(image))
            latent = out.write(f"{cat.name}-edited{SUFFIX}", latent_writer(code.detach(), source))
        return [str(folder / png), str(folder / latent)], f"{cat.name}: the edited PNG and latent are ready"
