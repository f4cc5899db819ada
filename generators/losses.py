"""GAN training losses as plain functions (rosinality style). Each returns a scalar to minimise.

Reconstruction losses for inversion live in `inversion/losses.py`; these are only for training G and D.
"""
import math

import torch
import torch.nn.functional as F


def d_logistic_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating logistic loss for D: softplus(-D(x)) + softplus(D(G(z)))."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def g_nonsaturating_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating logistic loss for G: softplus(-D(G(z)))."""
    return F.softplus(-fake_logits).mean()


def r1_penalty(real_logits: torch.Tensor, real_images: torch.Tensor) -> torch.Tensor:
    """R1 (Mescheder et al. 2018): squared gradient norm of D at the reals, per image [N]."""
    (grad,) = torch.autograd.grad(real_logits.float().sum(), real_images, create_graph=True)
    return grad.float().square().sum(dim=[1, 2, 3])


def path_length_penalty(images: torch.Tensor, ws: torch.Tensor, pl_mean: torch.Tensor):
    """Path-length regularisation (StyleGAN2): keep |J^T y| constant for random image-space y.

    Returns (penalty per image [N], batch mean of path lengths) so the caller can update `pl_mean`.
    """
    noise = torch.randn_like(images) / math.sqrt(images.shape[2] * images.shape[3])
    (grad,) = torch.autograd.grad((images * noise).float().sum(), ws, create_graph=True)
    lengths = grad.float().square().sum(dim=2).mean(dim=1).sqrt()
    return (lengths - pl_mean).square(), lengths.detach().mean()


def d_least_squares_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """LSGAN loss for D, as in the course's vanilla GAN: (D(x) - 1)^2 / 2 + D(G(z))^2 / 2."""
    return 0.5 * (real_scores - 1).square().mean() + 0.5 * fake_scores.square().mean()


def g_least_squares_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """LSGAN loss for G: (D(G(z)) - 1)^2."""
    return (fake_scores - 1).square().mean()
