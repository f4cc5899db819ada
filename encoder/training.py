"""What one encoder training step computes (no I/O): mixed synthetic and real batches, and their losses.

- synthetic pairs: z -> w (with style mixing) -> image with G; the encoder must recover w+ (latent L2)
  and the image (pixel + perceptual through G);
- real photos: only image losses through G, plus an L2 pull of the predicted codes toward w_avg.
The generator is frozen; gradients reach only the encoder.
"""
from dataclasses import dataclass

import torch

from generators.stylegan2 import mix_styles
from inversion.feature_networks import FeatureNetwork
from inversion.losses import PerceptualLoss, PixelLoss, distance_to_mean, latent_change


@dataclass(frozen=True)
class EncoderTrainingConfig:
    lr: float = 1e-4                 # Adam (pSp uses 1e-4 with Ranger)
    synthetic_ratio: float = 0.5     # share of each batch that is generated pairs (the rest: real photos)
    style_mixing: float = 0.9        # probability that a synthetic w+ mixes two w at a random layer
    latent_weight: float = 1.0       # synthetic: L2 between predicted and true w+
    pixel_weight: float = 1.0        # pixel L2 between the photo and G(prediction)
    perceptual_weight: float = 0.8   # perceptual distance between the photo and G(prediction)
    mean_weight: float = 0.01        # real: L2 of the predicted codes to w_avg
    progressive_every: int = 0       # progressive encoders: unlock one more w+ layer every k steps (0: all)

    def __post_init__(self):
        if not self.lr > 0:
            raise ValueError(f"learning rate must be > 0, got {self.lr}")
        if not 0 <= self.synthetic_ratio <= 1 or not 0 <= self.style_mixing <= 1:
            raise ValueError("synthetic_ratio and style_mixing are fractions in [0, 1]")
        for name in ("latent_weight", "pixel_weight", "perceptual_weight", "mean_weight", "progressive_every"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")


@torch.no_grad()
def synthetic_pairs(G, num: int, style_mixing: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(images [num, 3, R, R], their w+ [num, num_ws, w_dim]), rendered with G's fixed noise."""
    device = G.w_avg.device
    ws = G.broadcast(G.mapping(torch.randn(num, G.z_dim, device=device)))
    if num and style_mixing > 0:
        other = G.broadcast(G.mapping(torch.randn(num, G.z_dim, device=device)))
        cut = int(torch.randint(1, G.num_ws, ()))
        mixed = mix_styles(ws, other, cut)
        use = (torch.rand(num, 1, 1, device=device) < style_mixing)
        ws = torch.where(use, mixed, ws)
    return G.synthesis(ws, noise_mode="const"), ws


class EncoderObjective:
    """Loss of one batch: `loss(encoder, real, num_synthetic) -> (total, {name: value})`. An iterative encoder
    (ReStyle) runs `iterations` passes from w_avg, each reading the photo and the previous reconstruction
    (detached, as ReStyle does): the loss is the sum over passes, logged for the last."""

    def __init__(self, G, config: EncoderTrainingConfig, network: FeatureNetwork | None, iterations: int = 1):
        self.G, self.config, self.iterations = G, config, iterations
        self.pixel = PixelLoss(2)
        self.perceptual = PerceptualLoss(network) if network is not None and config.perceptual_weight > 0 else None

    def split(self, batch_size: int) -> int:
        """How many of a batch are synthetic."""
        return int(round(batch_size * self.config.synthetic_ratio))

    def loss(self, encoder, real: torch.Tensor, num_synthetic: int):
        fake, true_ws = synthetic_pairs(self.G, num_synthetic, self.config.style_mixing)
        images = torch.cat([fake, real])
        if self.iterations == 1:
            return self._terms(encoder(images), images, true_ws, num_synthetic)[:2]
        G, total = self.G, 0
        codes = G.broadcast(G.w_avg.expand(len(images), -1))
        with torch.no_grad():
            current = G.synthesis(codes, noise_mode="const")
        for _ in range(self.iterations):
            codes = encoder(torch.cat([images, current.to(images.dtype)], dim=1), codes.detach())
            loss, logs, current = self._terms(codes, images, true_ws, num_synthetic)
            total = total + loss
        return total, logs

    def _terms(self, ws: torch.Tensor, images: torch.Tensor, true_ws: torch.Tensor, num_synthetic: int):
        """(total, {name: detached value}, the reconstruction, detached)."""
        c, G = self.config, self.G
        recon = G.synthesis(ws.float(), noise_mode="const")
        logs = {"pixel": self.pixel(recon, images).mean()}
        total = c.pixel_weight * logs["pixel"]
        if self.perceptual is not None:
            logs["perceptual"] = self.perceptual(recon, images).mean()
            total = total + c.perceptual_weight * logs["perceptual"]
        if num_synthetic:
            logs["latent"] = latent_change(ws[:num_synthetic].float(), true_ws).mean()
            total = total + c.latent_weight * logs["latent"]
        if len(images) > num_synthetic and c.mean_weight > 0:
            logs["mean_distance"] = distance_to_mean(ws[num_synthetic:].float(), G.w_avg).mean()
            total = total + c.mean_weight * logs["mean_distance"]
        return total, {k: v.detach() for k, v in logs.items()}, recon.detach()
