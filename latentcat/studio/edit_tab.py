"""Edit: move a cat along semantic directions. The tab loads a cat (a photo, inverted, or a saved latent) and
keeps its code for this visitor (`visitor.results["edit"]`, an `Inverted`); the direction sliders go in the
`directions` column, one slider per direction, each applying the engine's edit to that code. latentcat ships
no directions yet, so the column says so."""
import gradio as gr

from latentcat.batches import codes_of
from latentcat.studio.common import CATS, MODEL, page_action, shown
from latentcat.studio.studio import Studio, Visitor, refuse

ACTION = "edit"
NO_DIRECTIONS = ("No semantic directions are installed yet: once latentcat ships them, a slider for each "
                 "(age, fur colour, pose...) appears here and edits the cat loaded on the left.")


class EditTab:
    def __init__(self, studio: Studio):
        self.studio = studio

    def layout(self, visitor: gr.State) -> None:
        with gr.Tab("Edit", id="edit"):
            with gr.Row():
                with gr.Column(scale=1):
                    cat = gr.File(label="a photo or a .latent.safetensors", file_types=CATS, height=120,
                                  elem_id="edit-cat")
                    steps = gr.Slider(0, 300, value=self.studio.options.invert_steps, step=1,
                                      label="refinement steps (photos)", elem_id="edit-steps")
                    load = gr.Button("Load", variant="primary")
                    loaded = gr.Image(label="the cat to edit", interactive=False, buttons=[], format="png",
                                      elem_id="edit-loaded")
                with gr.Column(scale=1, elem_id="edit-directions"):
                    gr.Markdown(NO_DIRECTIONS)
        load.click(self.load, [cat, steps, visitor], loaded, api_name="edit_load", concurrency_id=MODEL,
                   concurrency_limit=1)

    @page_action
    def load(self, path, steps, visitor: Visitor):
        """The cat's code, kept for the direction sliders, and its picture."""
        inputs = self.studio.read([path], "a photo or a latent file", allow_latents=True)
        inverted, errors = codes_of(self.studio.inversion(steps), inputs, None)
        refuse(errors)
        visitor.results[ACTION] = inverted[0]
        return shown(inverted[0].image)
