"""Reconstruction metrics, measured on the images as saved (quantised to 8 bits), on a [0, 1] scale.

- mse: mean squared error; psnr: 10 log10(1 / mse) in dB;
- ssim: Wang et al. 2004 (Gaussian window, sigma 1.5), scikit-image's implementation, averaged over RGB;
- lpips: the full LPIPS distance (all five taps) of a metric network, named in `lpips_net`.
"""
import numpy as np
import torch
from skimage.metrics import structural_similarity

from generators.pixels import float_to_uint8
from inversion.feature_networks import FeatureNetwork
from inversion.losses import PerceptualLoss, masked_mean


def quantize(images: torch.Tensor) -> torch.Tensor:
    """[-1, 1] floats -> the [0, 1] floats a saved PNG holds."""
    return float_to_uint8(images).float() / 255


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """SSIM of two HxWx3 images in [0, 1]."""
    return float(structural_similarity(a, b, channel_axis=2, data_range=1.0, gaussian_weights=True, sigma=1.5,
                                       use_sample_covariance=False))


@torch.no_grad()
def reconstruction_metrics(images: torch.Tensor, targets: torch.Tensor, network: FeatureNetwork) -> list[dict]:
    """One dict per image: mse, psnr, ssim, lpips, lpips_net. Inputs [N, 3, R, R] in [-1, 1]."""
    x, y = quantize(images), quantize(targets)
    mse = (x - y).square().mean(dim=(1, 2, 3))
    device = next(network.buffers()).device
    lpips = PerceptualLoss(network)(x.to(device) * 2 - 1, y.to(device) * 2 - 1).cpu()
    out = []
    for i in range(len(x)):
        m = float(mse[i])
        out.append({"mse": m, "psnr": float(10 * np.log10(1 / max(m, 1e-10))),
                    "ssim": ssim(x[i].permute(1, 2, 0).numpy(), y[i].permute(1, 2, 0).numpy()),
                    "lpips": float(lpips[i]), "lpips_net": network.name})
    return out


@torch.no_grad()
def render_drift(parent_renders: torch.Tensor, tuned, z: torch.Tensor, network: FeatureNetwork) -> float:
    """Mean LPIPS between the parent generator's renders of prior samples z (rendered once, for every tuned copy)
    and what a tuned copy renders for them: how much tuning on a photo changed the generator away from it (PTI's
    locality; 0 for an untouched generator)."""
    return float(PerceptualLoss(network)(tuned.sample(z), parent_renders).mean())


@torch.no_grad()
def masked_l1(images: torch.Tensor, targets: torch.Tensor, masks: torch.Tensor) -> list[float]:
    """Mean absolute error inside each mask, on the [0, 1] scale."""
    return masked_mean((quantize(images) - quantize(targets)).abs(), masks.cpu()).tolist()


def summarize(values: list[float]) -> dict:
    """Mean and median of a metric over images."""
    return {"mean": float(np.mean(values)), "median": float(np.median(values))} if values else {}
