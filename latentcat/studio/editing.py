"""The Edit tab's work, free of Gradio: the top SeFa directions of each generator a visitor edits with (found on
first use and kept by the generator's fingerprint: SeFa is a closed-form eigen-decomposition of the style
weights, so a tuned photo's own generator gets its own at little cost), every slider's strength applied to one
code at once on the chosen w+ layers, and a photo's tuned generator in place of the studio's, as `infer.py edit`
edits a tuned photo with its own generator."""
import argparse
import dataclasses
import threading
from dataclasses import dataclass

import torch

from generators import fingerprint
from inversion.code import Code
from inversion.directions import Directions, check_layers, move, sefa
from latentcat.batches import Inverted
from latentcat.cli import layer_list
from latentcat.errors import UserError, user_facing
from latentcat.generator_files import generator_parent, load_generator
from latentcat.tuned_files import is_tuned_file

SLIDERS = 6           # directions offered as sliders, best first
STRENGTH = 6.0        # a slider runs from -STRENGTH to +STRENGTH (the directions are unit vectors in w)
# the w+ layers StyleGAN's authors group by the resolution they draw: 4-8 px, 16-32 px, 64 px and finer
GROUPS = (("coarse: pose, shape", 0, 3), ("middle: features", 4, 7), ("fine: colour, texture", 8, None))


class DirectionsCache:
    """SeFa directions per generator, kept by its fingerprint for as long as the studio runs."""

    def __init__(self, num: int = SLIDERS):
        self.num, self.found, self.lock = num, {}, threading.Lock()

    def get(self, G, key: str) -> Directions:
        """The top directions of G, whose fingerprint is `key` (every code names it: no need to hash G again)."""
        with self.lock:
            if key not in self.found:
                self.found[key] = user_facing(sefa, G, None, self.num)
            return self.found[key]


def layer_choices(num_ws: int) -> list[tuple[str, str]]:
    """The layer ranges offered (label, range as `--layers` writes it): all of them, then each group G has."""
    choices = [(f"all layers (0-{num_ws - 1})", f"0-{num_ws - 1}")]
    for name, first, last in GROUPS:
        last = num_ws - 1 if last is None else min(last, num_ws - 1)
        if first <= last:
            choices.append((f"{name} ({first}-{last})", f"{first}-{last}"))
    return choices


def layer_range(G, text: str) -> tuple[int, ...]:
    """The w+ layers a range such as 0-3 or 0,2,5-7 names (the `--layers` syntax), checked against G."""
    try:
        layers = layer_list(str(text or ""))
    except argparse.ArgumentTypeError as e:
        raise UserError(f"w+ layers: {e}") from None
    return user_facing(check_layers, G, layers)


def edited(G, code: Code, directions: Directions, strengths, layers) -> Code:
    """`code` moved by strengths[k] along direction k, all at once, on `layers` (the engine's move, one direction
    after another); a zero strength leaves the code as it is, so all zeros give the very same code back."""
    for index, strength in enumerate(strengths):
        if strength:
            code = move(G, code, directions, index, float(strength), layers)
    return code


@dataclass
class EditedCat:
    """A visitor's loaded cat: its code and the generator it belongs to (a tuned photo's own, or the studio's)."""
    inverted: Inverted
    G: torch.nn.Module
    directions: Directions

    @property
    def name(self) -> str:
        return self.inverted.input.stem

    def render(self, strengths, layers_text: str) -> tuple[Code, torch.Tensor]:
        """The code with every slider's strength applied on the chosen layers, and its image [3, R, R] in
        [-1, 1]."""
        code = edited(self.G, self.inverted.code, self.directions, strengths, layer_range(self.G, layers_text))
        with torch.no_grad():
            return code, code.render(self.G)[0].cpu()


def tuned_session(session, path: str):
    """The session with the photo's tuned generator in `path` (`invert --tune-generator`'s
    NNN-photo.generator.safetensors) in place of the studio's, as `infer.py --generator FILE` opens it: its photo
    is inverted, or its latent read, with its own generator. Only a generator tuned from the studio's is taken."""
    if not is_tuned_file(path):
        raise UserError("not a tuned generator (invert --tune-generator writes NNN-photo.generator.safetensors)",
                        path)
    if generator_parent(path) != session.fingerprint:
        raise UserError(f"tuned from generator {generator_parent(path)}, not from this studio's "
                        f"({session.fingerprint})", path)
    G = load_generator(path, session.device)
    return dataclasses.replace(session, G=G, generator_path=str(path), fingerprint=fingerprint(G))
