"""The one interface every generator offers the rest of latentcat, so no caller asks what kind it holds.

StyleGAN2 and the DCGAN implement it; imported and tuned generators do too. A latent lives in one of
`latent_spaces` ("z", "w", "w+"); `codes` turns it into what `render` draws (w+ [N, num_ws, w_dim] for
StyleGAN2, z itself for the DCGAN). Generators whose spaces include "w+" also have `num_ws`, `w_dim` and
`style_weights()` (per w+ layer, the weights of the style affines that read it: what SeFa factorises).
"""
import hashlib
from typing import Protocol, runtime_checkable

import torch
from torch import nn

SPACES = ("z", "w", "w+")


@runtime_checkable
class Generator(Protocol):
    config: object                    # the architecture config it was built from (has `arch`)
    resolution: int                   # output side in pixels
    z_dim: int
    latent_spaces: tuple[str, ...]    # the spaces a latent may live in

    def latent_from_z(self, z: torch.Tensor, space: str) -> torch.Tensor:
        """z [N, z_dim] -> its latent in `space` (mapped to w, broadcast to w+)."""

    def codes(self, latent: torch.Tensor, space: str) -> torch.Tensor:
        """A latent in `space` -> the codes `render` takes."""

    def render(self, codes: torch.Tensor, noise: list[torch.Tensor] | None = None) -> torch.Tensor:
        """Codes -> images [N, 3, R, R] in about [-1, 1], with the fixed noise maps unless `noise` is given."""

    def code_mean(self) -> torch.Tensor:
        """The centre of the codes (w_avg, or the prior's mean 0): what a mean-distance loss pulls toward."""

    def mean_latent(self, space: str, num: int) -> torch.Tensor:
        """The average image's latent, repeated `num` times; ValueError where the space has no usable mean."""

    def noise_maps(self) -> list[torch.Tensor]:
        """The fixed noise inputs [1, 1, r, r] in layer order (empty: the generator takes none)."""

    def sample(self, z: torch.Tensor, truncation: float = 1.0, noise_mode: str = "const") -> torch.Tensor:
        """Images of the prior's samples z, truncated toward the mean by psi = `truncation`."""

    def blocks(self) -> list[tuple[int, list[str]]]:
        """The rendering layers, coarse to fine: (output resolution, names of their parameters). What generator
        tuning may change (the mapping is not among them)."""


def check_space(G, space: str) -> None:
    if space not in G.latent_spaces:
        raise ValueError(f"this {G.config.arch} generator has latent spaces {', '.join(G.latent_spaces)}, "
                         f"not {space!r}")


def seeded_z(z_dim: int, num: int, seed: int) -> torch.Tensor:
    """z for image i depends only on (seed, i): the same seed gives the same images at any count."""
    return torch.stack([torch.randn(z_dim, generator=torch.Generator().manual_seed(seed * 100003 + i))
                        for i in range(num)])


@torch.no_grad()
def sample_images(G, z: torch.Tensor, truncation: float = 1.0, noise_mode: str = "const",
                  batch_size: int = 32) -> torch.Tensor:
    """Images [N, 3, R, R] on the CPU, rendered in batches on G's device; fixed noise by default, so a seed
    always gives the same image."""
    device = next(G.parameters()).device
    return torch.cat([G.sample(chunk.to(device), truncation, noise_mode).cpu() for chunk in z.split(batch_size)])


def fingerprint(model: nn.Module) -> str:
    """Identity of a model's weights, the same for its fp32 and fp16 copies (tensors hashed at fp16): what a
    latent, an encoder or a tuned generator names as the generator it belongs to."""
    h = hashlib.sha256()
    for key, value in sorted(model.state_dict().items()):
        h.update(key.encode())
        v = value.detach().cpu()
        h.update((v.half() if v.is_floating_point() else v).contiguous().numpy().tobytes())
    return h.hexdigest()[:16]
