"""What every tab of the page uses: one-line messages instead of tracebacks, pictures at display size, the
wiring that lets a newer request supersede a running one, and the pace of streamed updates."""
import functools
import hashlib
import inspect
import io
import time
from pathlib import Path

import gradio as gr
import torch
from PIL import Image

from latentcat.errors import UserError
from latentcat.files import write_bytes
from latentcat.images import IMAGE_SUFFIXES, to_pil

MODEL = "model"   # the concurrency group of every event that runs the models: one worker per model copy
DISPLAY = 256     # side, in pixels, of the pictures the page shows (the generator's are smaller)
PHOTOS = sorted(IMAGE_SUFFIXES)   # what an upload box offers (the checks themselves are the command line's)
CATS = PHOTOS + [".safetensors"]  # photos or saved latents (*.latent.safetensors; the file says what it holds)


def shown(image: torch.Tensor | Image.Image) -> Image.Image:
    """An image [3, R, R] in [-1, 1] (or a PIL image) scaled to the page's display size."""
    picture = to_pil(image) if isinstance(image, torch.Tensor) else image
    return picture.resize((DISPLAY, DISPLAY), Image.LANCZOS)


def picture_file(picture: Image.Image, folder: Path) -> str:
    """A streamed picture as a PNG file named by its content, written once. Gradio copies a file into its cache
    under its content's hash and never rewrites it; a picture object it writes over its cached copy in place each
    time it is sent, and a page still fetching that copy for the previous update gets it cut short."""
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    data = buffer.getvalue()
    path = folder / f"{hashlib.sha1(data).hexdigest()[:20]}.png"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        write_bytes(path, data)
    return str(path)


def one_line(error: UserError) -> str:
    """The message, naming a file by its name only (never a server path)."""
    if error.path is None:
        return error.reason
    return f"{error.path.replace(chr(92), '/').rsplit('/', 1)[-1]}: {error.reason}"


def page_action(fn):
    """A page action whose UserErrors (a bad upload, a missing choice) appear as one line in the page; the
    server goes on serving. Works for plain functions and for generators that stream."""
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def streaming(*args, **kwargs):
            try:
                return (yield from fn(*args, **kwargs))
            except UserError as e:
                raise gr.Error(one_line(e), print_exception=False) from None
        return streaming

    @functools.wraps(fn)
    def action(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except UserError as e:
            raise gr.Error(one_line(e), print_exception=False) from None
    return action


def newest_wins(triggers, action: str, visitor: gr.State, fn, inputs: list, outputs: list, api_name: str):
    """Run `fn(*inputs, visitor, ticket)` on the model's worker for each trigger, a newer request of `action`
    superseding the running one: an instant listener first takes a ticket (the running request sees it is
    outdated at its next step and ends), then `fn` is queued with that ticket. The ticket travels with the
    request (a hidden number, read when the request is sent, not a server-side state read when it starts), so
    a request that waited in the queue behind a newer one knows it is outdated. Returns the queued event."""
    ticket = gr.Number(0, precision=0, visible=False, label="request (numbered by the page)")
    take = gr.on(triggers, fn=lambda v: v.supersede(action), inputs=[visitor], outputs=[ticket],
                 concurrency_limit=None, show_progress="hidden", trigger_mode="multiple", api_visibility="private")
    return take.then(fn, inputs=[*inputs, visitor, ticket], outputs=outputs, concurrency_id=MODEL,
                     concurrency_limit=1, trigger_mode="multiple", api_name=api_name, show_progress="minimal")


def stop_button(button: gr.Button, action: str, visitor: gr.State) -> None:
    """A button that ends the running request of `action` (it keeps what it has found so far)."""
    button.click(lambda v: v.supersede(action), inputs=[visitor], outputs=None, concurrency_limit=None,
                 show_progress="hidden", api_visibility="private")


class Pace:
    """When a running optimisation should stream an update: after its first step, then at most every
    `seconds`, and after its last step."""

    def __init__(self, seconds: float, steps: int):
        self.seconds, self.steps, self.last = seconds, steps, None

    def due(self, step: int) -> bool:
        now = time.perf_counter()
        if self.last is None or now - self.last >= self.seconds or step + 1 == self.steps:
            self.last = now
            return True
        return False
