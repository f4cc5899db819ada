"""Projected discriminator (Sauer et al. 2021, "Projected GANs Converge Faster"): a frozen ImageNet trunk reads
the image, fixed random 1x1 projections mix each tapped feature map's channels (their CCM), and one small
trainable head per scale scores it, as a map of patch logits.

Why: a fresh discriminator first learns only shallow statistics (colour), which an already good generator
matches at once; the GAN then stalls at chance. A discriminator that starts from features that already
know images (fur, eyes, faces) can tell one cat from another within a few hundred steps, which is what a
fine-tune on 204 photos of one cat needs. The trunk is passed in (the offline EfficientNet-Lite0 in
`latentcat/effnet.py`, or any module with `channels` and a list of feature maps), so this file needs no weights.
"""
import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

PROJECTION_BASE = 64  # channels after the projection at the finest tap; doubled at each coarser one


def _down_block(in_channels: int, out_channels: int) -> nn.Module:
    return nn.Sequential(spectral_norm(nn.Conv2d(in_channels, out_channels, 4, stride=2, padding=1)),
                         nn.LeakyReLU(0.2))


class ScaleHead(nn.Module):
    """One scale's head: stride-2 convolutions down to 4 px at most, then a 1x1 conv to one logit per patch."""

    def __init__(self, channels: int, resolution: int):
        super().__init__()
        blocks = []
        while resolution > 4:
            wider = min(channels * 2, 512)
            blocks.append(_down_block(channels, wider))
            channels, resolution = wider, resolution // 2
        self.blocks = nn.Sequential(*blocks)
        self.out = spectral_norm(nn.Conv2d(channels, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.blocks(x)).flatten(1)


class ProjectedDiscriminator(nn.Module):
    """Image [N, 3, R, R] in [-1, 1] -> patch logits [N, K] of every scale, concatenated.

    `trunk(x)` returns feature maps at strides 4, 8, ... of its `input_size`; it and the projections stay fixed
    (`frozen_parameters`), only the heads learn."""

    def __init__(self, trunk: nn.Module):
        super().__init__()
        self.trunk = trunk
        widths = [PROJECTION_BASE * 2 ** i for i in range(len(trunk.channels))]
        self.projections = nn.ModuleList(nn.Conv2d(c, w, 1) for c, w in zip(trunk.channels, widths))
        for projection in self.projections:
            nn.init.kaiming_normal_(projection.weight)
        self.projections.requires_grad_(False)
        self.heads = nn.ModuleList(ScaleHead(w, max(trunk.input_size // 4 // 2 ** i, 1))
                                   for i, w in enumerate(widths))

    def frozen_parameters(self) -> list[nn.Parameter]:
        return [*self.trunk.parameters(), *self.projections.parameters()]

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        features = self.trunk(img)
        return torch.cat([head(projection(f)) for f, projection, head in zip(features, self.projections, self.heads)],
                         dim=1)
