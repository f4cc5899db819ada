"""Edits on inverted latents: interpolation, Image2StyleGAN style crossover, and latent arithmetic."""
import torch

from generators.stylegan2 import mix_styles
from inversion.latents import interpolate, render, render_codes, to_codes


@torch.no_grad()
def interpolation_frames(G, space: str, a: torch.Tensor, b: torch.Tensor, frames: int,
                         noise_a: list[torch.Tensor] | None = None,
                         noise_b: list[torch.Tensor] | None = None) -> torch.Tensor:
    """Renders [frames, 3, R, R] from latent a [1, ...] to b: lerp in w/w+, slerp in z; noise maps (when both
    ends have optimised ones) are blended linearly, so the end frames are exactly the two reconstructions."""
    latents = interpolate(a[0], b[0], space, frames)
    out = []
    for i, latent in enumerate(latents):
        t = i / max(frames - 1, 1)
        noise = [torch.lerp(na, nb, t) for na, nb in zip(noise_a, noise_b)] if noise_a and noise_b else None
        out.append(render(G, space, latent[None], noise))
    return torch.cat(out)


@torch.no_grad()
def crossover(G, space: str, content: torch.Tensor, style: torch.Tensor, layer: int) -> torch.Tensor:
    """Image2StyleGAN style transfer: w+ layers [0, layer) from content (pose, shape), the rest from style."""
    if not 0 <= layer <= G.num_ws:
        raise ValueError(f"crossover layer must be in [0, {G.num_ws}], got {layer}")
    return render_codes(G, mix_styles(to_codes(G, space, content), to_codes(G, space, style), layer))


@torch.no_grad()
def arithmetic(G, space: str, a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """Render a + (b - c) in w+ (what b has and c lacks, added to a)."""
    codes = [to_codes(G, space, x) for x in (a, b, c)]
    return render_codes(G, codes[0] + (codes[1] - codes[2]))
