"""Every inversion loss, in one place: reconstruction terms, regularisers, and their weighted mix.

Each term returns one value per image, shape [N], so a batch of independent inversions is the sum of
independent problems. Reconstruction terms take `mask=None` ([N, 1, H, W] in [0, 1]): where the mask is 0 the
term ignores the image, and those pixels get exactly zero gradient.
"""
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from inversion.feature_networks import MAX_SIDE, FeatureNetwork
from inversion.precision import in_precision


def masked_mean(values: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Per-image mean of `values` [N, C, h, w] over the mask (resized to h x w by area averaging) -> [N]."""
    if mask is None:
        return values.mean(dim=(1, 2, 3))
    if mask.shape[-2:] != values.shape[-2:]:
        mask = F.adaptive_avg_pool2d(mask, values.shape[-2:])
    weighted = (values * mask).sum(dim=(1, 2, 3))
    return weighted / (mask.sum(dim=(1, 2, 3)) * values.shape[1]).clamp_min(1e-8)


def keep_inside(images: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Replace `images` outside the mask by the (constant) target: outside pixels then get zero gradient."""
    if mask is None:
        return images
    return images * mask + target * (1 - mask)


class PixelLoss(nn.Module):
    """Mean |x - y|^p per image (p = 1 or 2), over the mask if one is given."""

    def __init__(self, p: int = 2):
        super().__init__()
        if p not in (1, 2):
            raise ValueError(f"pixel loss p must be 1 or 2, got {p}")
        self.p = p

    def forward(self, x, y, mask=None):
        diff = (x - y).abs()
        return masked_mean(diff if self.p == 1 else diff.square(), mask)


def perceptual_side(resolution: int, upsample: int) -> int:
    """The side at which a loss's perceptual network reads a generator's images: `upsample` times theirs, at most
    MAX_SIDE (larger images are area-downsampled to it, as NVlabs' projector reads its VGG16 input)."""
    return min(MAX_SIDE, resolution * upsample)


class PerceptualLoss(nn.Module):
    """Sum over layers of the feature network's distance maps, each averaged over the mask resized to it.

    `side`: both images are resized to it first (bilinear up, area down; None: as they are). A 64 px image read
    as it is gives AlexNet's first layer a 15x15 map, and the optimisation fools the network within tens of steps
    while the photo is still far (docs/investigations.md); read at 2x, the same network keeps guiding it.
    `target_features` lets a caller compute the fixed target's features once for a whole optimisation.
    `precision` "bf16" runs the network's trunk in bf16; distances and their means stay fp32.
    """

    def __init__(self, network: FeatureNetwork, side: int | None = None):
        super().__init__()
        self.network, self.side = network, side

    def read(self, x: torch.Tensor) -> torch.Tensor:
        """x as the network reads it: at `side` px."""
        if self.side is None or x.shape[-1] == self.side:
            return x
        if x.shape[-1] > self.side:
            return F.interpolate(x, size=(self.side, self.side), mode="area")
        return F.interpolate(x, size=(self.side, self.side), mode="bilinear", align_corners=False)

    def features_of(self, y: torch.Tensor, precision: str = "fp32") -> list[torch.Tensor]:
        """The network's features of y, read at `side` px."""
        return in_precision(precision, y.device, self.network.features, self.read(y))

    def forward(self, x, y, mask=None, target_features=None, precision: str = "fp32"):
        if target_features is None:
            target_features = self.features_of(y, precision)
        features = self.features_of(keep_inside(x, y, mask), precision)
        maps = self.network.distances(features, target_features)
        return sum(masked_mean(m, mask) for m in maps)


def latent_change(latent: torch.Tensor, init: torch.Tensor) -> torch.Tensor:
    """Mean squared change of each image's latent from where it started, [N]."""
    return (latent - init).square().flatten(1).mean(dim=1)


def distance_to_mean(codes: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
    """Mean squared distance of each image's codes (w, w+ or z) to the latent mean (w_avg, or 0 for z), [N]."""
    return (codes - mean).square().flatten(1).mean(dim=1)


def noise_regularization(noises: list[torch.Tensor]) -> torch.Tensor:
    """NVlabs projector's penalty on spatial autocorrelation of the noise maps, at every scale down to 8x8, [N]."""
    total = 0
    for noise in noises:
        while True:
            total = total + (noise * noise.roll(1, dims=3)).mean(dim=(1, 2, 3)).square()
            total = total + (noise * noise.roll(1, dims=2)).mean(dim=(1, 2, 3)).square()
            if noise.shape[2] <= 8:
                break
            noise = F.avg_pool2d(noise, 2)
    return total


@torch.no_grad()
def renormalize_noise(noises: list[torch.Tensor]) -> None:
    """Keep each optimised noise map at zero mean and unit variance, per image (NVlabs projector)."""
    for noise in noises:
        mean = noise.mean(dim=(1, 2, 3), keepdim=True)
        std = noise.std(dim=(1, 2, 3), keepdim=True)
        noise.sub_(mean).div_(std.clamp_min(1e-8))


def locality_loss(images: torch.Tensor, references: torch.Tensor, weights: "LossWeights", pixel: PixelLoss,
                  perceptual: PerceptualLoss | None, precision: str = "fp32") -> torch.Tensor:
    """PTI's locality regulariser: the reconstruction terms between what a tuned generator and its parent render
    for the same codes away from the photo, per image [N]. Keeps the tuned generator a cat generator."""
    total = weights.pixel * pixel(images, references)
    if perceptual is not None:
        total = total + weights.perceptual * perceptual(images, references, precision=precision)
    return total


@dataclass(frozen=True)
class LossWeights:
    """Weight of each term; 0 switches a term off (and skips its computation)."""
    pixel: float = 1.0
    perceptual: float = 1.0
    latent_change: float = 0.0
    mean_distance: float = 0.0
    noise: float = 1e5

    def __post_init__(self):
        for name, value in vars(self).items():
            if not value >= 0:
                raise ValueError(f"loss weight {name} must be >= 0, got {value}")


class InversionLoss(nn.Module):
    """The weighted mix of every term against one batch of targets: `forward(...) -> (total [N], {name: [N]})`.

    Built once per optimisation: the target's perceptual features are computed here, once, in fp32.
    `precision` (per call) is the perceptual trunk's, as in PerceptualLoss; `perceptual_side` its input side.
    """

    def __init__(self, weights: LossWeights, target: torch.Tensor, mask: torch.Tensor | None = None,
                 network: FeatureNetwork | None = None, pixel_p: int = 2, perceptual_side: int | None = None):
        super().__init__()
        if weights.perceptual > 0 and network is None:
            raise ValueError("a perceptual weight > 0 needs a perceptual network")
        self.weights = weights
        self.target, self.mask = target, mask
        self.pixel = PixelLoss(pixel_p)
        self.perceptual = PerceptualLoss(network, perceptual_side) if weights.perceptual > 0 else None
        if self.perceptual is not None:
            with torch.no_grad():
                self.target_features = self.perceptual.features_of(target)

    def forward(self, images, *, latent=None, init=None, codes=None, code_mean=None, noises=None,
                precision: str = "fp32"):
        terms = {}
        w = self.weights
        if w.pixel > 0:
            terms["pixel"] = self.pixel(images, self.target, self.mask)
        if self.perceptual is not None:
            terms["perceptual"] = self.perceptual(images, self.target, self.mask, self.target_features, precision)
        if w.latent_change > 0 and latent is not None:
            terms["latent_change"] = latent_change(latent, init)
        if w.mean_distance > 0 and codes is not None:
            terms["mean_distance"] = distance_to_mean(codes, code_mean)
        if w.noise > 0 and noises:
            terms["noise"] = noise_regularization(noises)
        total = sum(getattr(w, name) * value for name, value in terms.items())
        return total, {name: value.detach() for name, value in terms.items()}
