"""The course's vanilla DCGAN (Radford et al. 2016): z in R^100 -> 64x64 image, and its discriminator."""
import math

import torch
from torch import nn

from generators.config import DCGANConfig
from generators.protocol import check_space


class DCGANGenerator(nn.Module):
    """z [N, z_dim] -> image [N, 3, R, R] in [-1, 1]; only the z latent space."""

    latent_spaces = ("z",)

    def __init__(self, config: DCGANConfig):
        super().__init__()
        self.config = config
        self.z_dim = config.z_dim
        self.resolution = config.resolution
        levels = int(math.log2(config.resolution)) - 2  # 4x4 -> R takes `levels` doublings
        chans = [config.base_channels * 2 ** (levels - 1 - i) for i in range(levels)]
        layers = [nn.ConvTranspose2d(config.z_dim, chans[0], 4, 1, 0, bias=False),
                  nn.BatchNorm2d(chans[0]), nn.ReLU(True)]
        for c_in, c_out in zip(chans[:-1], chans[1:]):
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(chans[-1], 3, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        for m in self.modules():
            if isinstance(m, nn.ConvTranspose2d):
                nn.init.normal_(m.weight, 0.0, 0.02)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.reshape(z.shape[0], self.z_dim, 1, 1))

    # The generator protocol: z is the only space and the codes are z itself; there is no truncation or noise.
    def latent_from_z(self, z: torch.Tensor, space: str) -> torch.Tensor:
        check_space(self, space)
        return z

    def codes(self, latent: torch.Tensor, space: str) -> torch.Tensor:
        check_space(self, space)
        return latent

    def render(self, codes: torch.Tensor, noise: list[torch.Tensor] | None = None) -> torch.Tensor:
        return self(codes)

    def code_mean(self) -> torch.Tensor:
        return torch.zeros(self.z_dim, device=self.net[0].weight.device)

    def mean_latent(self, space: str, num: int) -> torch.Tensor:
        raise ValueError("z has no usable mean latent: its mean, 0, is a dead point of the generator")

    def noise_maps(self) -> list[torch.Tensor]:
        return []

    def sample(self, z: torch.Tensor, truncation: float = 1.0, noise_mode: str = "const") -> torch.Tensor:
        return self(z)

    def blocks(self) -> list[tuple[int, list[str]]]:
        """Each transposed conv with the BatchNorm after it; the first renders 4x4, each next doubles."""
        groups: list[tuple[int, list[str]]] = []
        for index, layer in enumerate(self.net):
            if isinstance(layer, nn.ConvTranspose2d):
                groups.append((4 * 2 ** len(groups), []))
            groups[-1][1].extend(f"net.{index}.{name}" for name, _ in layer.named_parameters())
        return groups


class DCGANDiscriminator(nn.Module):
    """image [N, 3, R, R] -> realness score [N] (strided convs, BatchNorm, leaky ReLU)."""

    def __init__(self, config: DCGANConfig):
        super().__init__()
        levels = int(math.log2(config.resolution)) - 2
        chans = [config.base_channels * 2 ** i for i in range(levels)]
        layers = [nn.Conv2d(3, chans[0], 4, 2, 1), nn.LeakyReLU(0.2, True)]
        for c_in, c_out in zip(chans[:-1], chans[1:]):
            layers += [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2, True)]
        layers += [nn.Conv2d(chans[-1], 1, 4, 1, 0)]
        self.net = nn.Sequential(*layers)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, 0.0, 0.02)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        return self.net(img).flatten()

    def stages(self) -> list[list[nn.Module]]:
        """Its layers grouped by resolution, input side first: what FreezeD counts when it freezes the first ones."""
        convs = [i for i, m in enumerate(self.net) if isinstance(m, nn.Conv2d)]
        return [list(self.net[start:end]) for start, end in zip(convs, convs[1:] + [len(self.net)])]
