"""mix: Image2StyleGAN style crossover (coarse layers from one cat, fine from another) and latent arithmetic."""
from dataclasses import dataclass

import torch

from inversion.edits import arithmetic, crossover
from latentcat.batches import codes_of, shared_generator, write_inverted
from latentcat.errors import UserError
from latentcat.framing import pasted
from latentcat.generator_files import require_wplus
from latentcat.images import image_grid, to_pil
from latentcat.inputs import read_inputs
from latentcat.outputs import Summary

DEFAULTS = {"tune_per": "batch"}  # photos tuned together share one generator, so their codes combine


@dataclass(frozen=True)
class MixOptions:
    layers: tuple[int, ...] | None = None   # crossover layers (None: every layer from 0 to num_ws)
    arithmetic: bool = False                # three inputs A B C: render A + (B - C)


def check(session, paths: list[str], options: MixOptions) -> list[int]:
    """The crossover layers, after checking the inputs and layers fit this generator (before any work)."""
    expected = 3 if options.arithmetic else 2
    if len(paths) != expected:
        raise UserError(f"mix {'--arithmetic ' if options.arithmetic else ''}takes {expected} inputs, "
                        f"got {len(paths)}")
    G = session.G
    require_wplus(G, session.generator_path, "mix")
    layers = list(options.layers) if options.layers else list(range(G.num_ws + 1))
    bad = [L for L in layers if not 0 <= L <= G.num_ws]
    if bad:
        raise UserError(f"--layer {bad[0]} is outside [0, {G.num_ws}] (this generator has {G.num_ws} w+ layers)")
    return layers


def run(session, paths: list[str], options: MixOptions, out) -> Summary:
    layers = check(session, paths, options)
    names = ["arithmetic.png"] if options.arithmetic else [f"mix-layer{L:02d}.png" for L in layers]
    inputs, errors = read_inputs(session, paths, allow_latents=True)
    results, failed = codes_of(session, inputs, out)
    summary = Summary("mix", {**session.describe(), "layers": None if options.arithmetic else layers,
                              "arithmetic": options.arithmetic}, session.generator_info(), errors=errors + failed)
    if len(results) < len(paths):
        summary.extra["outputs"] = []
        return summary
    written = {}
    summary.items = [write_inverted(out, r, session.generator_path, written) for r in results]
    G = shared_generator(session, results)
    codes = [r.code.to(session.device) for r in results]
    if options.arithmetic:
        images = arithmetic(G, *codes).cpu()
    else:
        images = torch.cat([crossover(G, codes[0], codes[1], L) for L in layers]).cpu()
    summary.extra["outputs"] = [out.png(name, to_pil(img)) for name, img in zip(names, images)]
    content = results[0].input
    if content.paste_back and content.crop is not None:  # into the photo the result keeps the face of
        summary.extra["pasted"] = [out.png(name.replace(".png", "-pasted.png"), pasted(content, img))
                                   for name, img in zip(names, images)]
    row = [r.image for r in results] + list(images)
    summary.extra["grid"] = out.png("grid.png", image_grid(torch.stack(row), nrow=len(row)))
    return summary
