"""Edits on inverted codes: interpolation, Image2StyleGAN style crossover, and latent arithmetic."""
import torch

from generators.stylegan2 import mix_styles
from inversion.code import Code
from inversion.latents import between


@torch.no_grad()
def interpolation_frames(G, a: Code, b: Code, frames: int) -> torch.Tensor:
    """Renders [frames, 3, R, R] from code a to code b (one row each, one space), both ends included."""
    if frames < 2:
        raise ValueError(f"an interpolation needs at least 2 frames (both ends), got {frames}")
    return torch.cat([between(a, b, i / (frames - 1)).render(G) for i in range(frames)])


@torch.no_grad()
def crossover(G, content: Code, style: Code, layer: int) -> torch.Tensor:
    """Image2StyleGAN style transfer: w+ layers [0, layer) from content (pose, shape), the rest from style."""
    if not 0 <= layer <= G.num_ws:
        raise ValueError(f"crossover layer must be in [0, {G.num_ws}], got {layer}")
    return G.render(mix_styles(content.codes(G), style.codes(G), layer))


@torch.no_grad()
def arithmetic(G, a: Code, b: Code, c: Code) -> torch.Tensor:
    """Render a + (b - c) in w+ (what b has and c lacks, added to a)."""
    wa, wb, wc = (x.codes(G) for x in (a, b, c))
    return G.render(wa + (wb - wc))
